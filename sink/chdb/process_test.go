package chdb_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/leadhouse/leadhouse/sink/chdb"
	"github.com/leadhouse/leadhouse/sink/chdb/chdbtest"
)

// chDB's default signal handlers catch SIGSEGV, so a Go nil dereference
// would hang instead of panicking; Open must leave Go's handlers in charge.
func TestGoPanicStillCrashesWithEngineLoaded(t *testing.T) {
	chdbtest.Engine(t) // skips or fails like every engine test when the library is missing
	t.Parallel()
	_, stderr, err := runChild(t, "panic")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("child exit: %v, want a Go panic (exit status 2)", err)
	}
	if !strings.Contains(stderr, "invalid memory address or nil pointer dereference") {
		t.Errorf("child stderr lacks the Go panic message:\n%s", stderr)
	}
}

func TestRecoverWorksWithEngineLoaded(t *testing.T) {
	eng := chdbtest.Engine(t)
	if _, err := eng.Query(context.Background(), "SELECT 1", "TabSeparated"); err != nil {
		t.Fatal(err)
	}
	recovered := func() (r any) {
		defer func() { r = recover() }()
		var p *int
		return *p
	}()
	re, ok := recovered.(runtime.Error)
	if !ok || !strings.Contains(re.Error(), "nil pointer dereference") {
		t.Fatalf("recovered %v, want a nil pointer runtime.Error", recovered)
	}
	if _, err := eng.Query(context.Background(), "SELECT 1", "TabSeparated"); err != nil {
		t.Errorf("engine unusable after a recovered panic: %v", err)
	}
}

func TestSecondProcessOnDataDirGetsErrLocked(t *testing.T) {
	eng := chdbtest.Engine(t)
	t.Parallel()
	stdout, stderr, err := runChild(t, "lock", "LEADHOUSE_CHDB_TEST_DIR="+eng.DataDir())
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "locked=true") || !strings.Contains(stdout, "leadhouse serve") {
		t.Errorf("second process opening %s: %s, want ErrLocked", eng.DataDir(), stdout)
	}
}

func TestReopenAfterCloseUsesNewDataDir(t *testing.T) {
	chdbtest.Engine(t)
	t.Parallel()
	stdout, stderr, err := runChild(t, "reopen")
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr)
	}
	want := "second dir has only_in_a: 0\nfirst dir has only_in_a: 1\n"
	if stdout != want {
		t.Errorf("child output:\n%s\nwant:\n%s", stdout, want)
	}
}

func TestMissingLibraryIsErrLibraryMissing(t *testing.T) {
	missing := t.TempDir() + "/libchdb.so"
	t.Setenv("LEADHOUSE_CHDB_LIB", missing)
	_, err := chdb.FindLibrary()
	if !errors.Is(err, chdb.ErrLibraryMissing) || !strings.Contains(err.Error(), "make deps") {
		t.Errorf("FindLibrary: %v, want ErrLibraryMissing mentioning make deps", err)
	}
	for _, opts := range []chdb.Options{
		{DataDir: t.TempDir()},
		{DataDir: t.TempDir(), LibPath: missing},
	} {
		if _, err := chdb.Open(opts); !errors.Is(err, chdb.ErrLibraryMissing) {
			t.Errorf("Open(%+v): %v, want ErrLibraryMissing", opts, err)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("Open created %s", missing)
	}
}
