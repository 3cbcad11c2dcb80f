//go:build unix

package chdb

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// dataDirLocked reports whether another process holds the engine's lock on
// dir. ClickHouse takes an exclusive flock on <dir>/status for as long as an
// engine runs there; probing with a shared non-blocking flock tells whether
// one does without disturbing it. chDB itself only prints its "Cannot lock
// file" message to stderr and returns NULL, so this is how the caller learns
// why. Never call it for a directory this process has open: flock conflicts
// between open files of one process too.
func dataDirLocked(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "status"))
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
