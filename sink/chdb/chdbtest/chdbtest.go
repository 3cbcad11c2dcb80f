// Package chdbtest shares one embedded chDB engine per test binary and gives each test its own database.
package chdbtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/sink/chdb"
)

// RequireEnv names the variable that turns a missing library from a skip
// into a failure; `make test` sets it to 1.
const RequireEnv = "LEADHOUSE_REQUIRE_CHDB"

// dirPrefix names per-process data directories under os.TempDir; the pid
// that follows lets a later run remove directories of processes that died.
const dirPrefix = "leadhouse-chdbtest-"

// shared is the test binary's engine. It is package-global because chDB
// allows one engine per process, and it is never closed: the process exit
// reaps it.
var shared struct {
	once sync.Once
	eng  *chdb.Engine
	err  error
}

// dbSeq makes database names unique within the process.
var dbSeq atomic.Uint64

// Engine returns the test binary's shared engine, opening it on first use in
// a fresh directory under os.TempDir. When libchdb.so cannot be found it
// skips the test, or fails it if LEADHOUSE_REQUIRE_CHDB=1.
func Engine(tb testing.TB) *chdb.Engine {
	tb.Helper()
	shared.once.Do(func() { shared.eng, shared.err = open() })
	if shared.err != nil {
		if errors.Is(shared.err, chdb.ErrLibraryMissing) && os.Getenv(RequireEnv) != "1" {
			tb.Skipf("skipping: %v", shared.err)
		}
		tb.Fatalf("chdbtest: %v", shared.err)
	}
	return shared.eng
}

// Database returns the shared engine and the name of a new, empty database
// that is dropped when the test ends. Tests isolate their tables by it.
func Database(tb testing.TB) (*chdb.Engine, string) {
	tb.Helper()
	eng := Engine(tb)
	name := databaseName(tb.Name(), dbSeq.Add(1))
	if err := eng.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("chdbtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := eng.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" SYNC"); err != nil {
			tb.Errorf("chdbtest: %v", err)
		}
	})
	return eng, name
}

// databaseName derives a readable identifier that needs no quoting from the
// test name, e.g. "TestInsert/dedup" -> "t_testinsert_dedup_7".
func databaseName(test string, seq uint64) string {
	var b strings.Builder
	b.WriteString("t_")
	for _, r := range strings.ToLower(test) {
		if b.Len() >= 48 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	fmt.Fprintf(&b, "_%d", seq)
	return b.String()
}

func open() (*chdb.Engine, error) {
	lib, err := chdb.FindLibrary()
	if err != nil {
		return nil, err
	}
	removeStaleDirs()
	dir, err := os.MkdirTemp("", dirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("create engine data dir: %w", err)
	}
	return chdb.Open(chdb.Options{LibPath: lib, DataDir: dir})
}

// removeStaleDirs deletes data directories left by test binaries that have
// exited, since the shared engine is never closed and so never cleans up.
func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), dirPrefix)
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// CPUTime is the user plus system CPU time the process has used, the engine's threads included.
// Benchmarks of the engine report it per operation: on a shared machine it is steadier than wall
// time, and it counts the work the engine does in its own threads.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
