//go:build unix

package erasure

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lock takes the store's exclusive lock, waiting for another writer (a concurrent forget) to
// finish; the kernel drops it if the process dies.
func (s *Store) lock() (unlock func() error, err error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("erasure requests: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("erasure requests: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock erasure requests: %w", err)
	}
	return f.Close, nil
}
