//go:build unix

package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ErrLocked reports that another engine process holds the data directory: ClickHouse allows one
// server per directory.
var ErrLocked = errors.New("data directory is in use by another engine process")

// lockHolder reports whether an engine process holds dir, and its pid if it said. ClickHouse
// takes an exclusive flock on <dir>/status for as long as an engine runs there and writes its pid
// into it; probing with a shared non-blocking flock tells whether one does without disturbing it.
func lockHolder(dir string) (pid int, locked bool) {
	f, err := os.Open(filepath.Join(dir, "status"))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return 0, false
		}
		return statusPID(f), true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return 0, false
}

// statusPID reads the "PID: N" line ClickHouse writes into its status file.
func statusPID(f *os.File) int {
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	for line := range bytes.Lines(b[:n]) {
		if v, ok := bytes.CutPrefix(line, []byte("PID:")); ok {
			pid, _ := strconv.Atoi(string(bytes.TrimSpace(v)))
			return pid
		}
	}
	return 0
}

// waitUnlocked waits until no engine process holds dir, for at most wait. An engine left behind
// by a leadhouse killed with SIGKILL shuts down by itself once it notices (its standard input
// ends), which can take a few seconds while it finishes writing; a live one is an error naming it.
func waitUnlocked(ctx context.Context, dir string, wait time.Duration, log *slog.Logger) error {
	pid, locked := lockHolder(dir)
	if !locked {
		return nil
	}
	log.Warn("waiting for the engine process still holding the data directory to stop", "pid", pid, "dir", dir, "wait", wait)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("engine data directory %s: %w", dir, ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("engine data directory %s: %w: process %d (%s) still holds it after %v; stop it, or give this leadhouse another LEADHOUSE_DATA_DIR",
				dir, ErrLocked, pid, commandLine(pid), wait)
		case <-tick.C:
		}
		if pid, locked = lockHolder(dir); !locked {
			return nil
		}
	}
}

// commandLine is how process pid was started, as far as /proc tells.
func commandLine(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(b) == 0 {
		return "command unknown"
	}
	return string(bytes.TrimSpace(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}
