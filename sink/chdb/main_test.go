package chdb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/sink/chdb"
)

// childEnv makes the test binary act as a child process running one of the
// scenarios in children instead of the tests; used for behaviour that has to
// be observed from outside a process (crashes, locks between processes).
const childEnv = "LEADHOUSE_CHDB_TEST_CHILD"

var children = map[string]func() error{
	"panic":  childPanic,
	"lock":   childLock,
	"reopen": childReopen,
}

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		if err := children[name](); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild runs scenario name in a fresh copy of the test binary. The
// timeout only keeps a broken build from hanging CI; it asserts nothing.
func runChild(t *testing.T, name string, env ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+name), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("child %s did not finish: %v\nstderr:\n%s", name, ctx.Err(), errOut.String())
	}
	return out.String(), errOut.String(), err
}

func openChildEngine(dir string) (*chdb.Engine, error) {
	if dir == "" {
		var err error
		// The chdbtest prefix and pid let chdbtest remove it once we exit.
		if dir, err = os.MkdirTemp("", fmt.Sprintf("leadhouse-chdbtest-%d-", os.Getpid())); err != nil {
			return nil, err
		}
	}
	return chdb.Open(chdb.Options{DataDir: dir})
}

func childPanic() error {
	eng, err := openChildEngine("")
	if err != nil {
		return err
	}
	if _, err := eng.Query(context.Background(), "SELECT 1", "TabSeparated"); err != nil {
		return err
	}
	var p *int
	fmt.Println(*p)
	return errors.New("dereferenced nil without a panic")
}

func childLock() error {
	_, err := openChildEngine(os.Getenv("LEADHOUSE_CHDB_TEST_DIR"))
	fmt.Printf("locked=%v\nerror=%v\n", errors.Is(err, chdb.ErrLocked), err)
	return nil
}

// childReopen closes the engine and boots it again on another directory,
// which has to show that directory's databases, not the first one's.
func childReopen() error {
	ctx := context.Background()
	a, err := openChildEngine("")
	if err != nil {
		return err
	}
	if err := a.Exec(ctx, "CREATE DATABASE only_in_a"); err != nil {
		return err
	}
	dirA := a.DataDir()
	if err := a.Close(); err != nil {
		return err
	}
	if err := a.Exec(ctx, "SELECT 1"); !errors.Is(err, chdb.ErrClosed) {
		return fmt.Errorf("exec after close: %v, want ErrClosed", err)
	}
	b, err := openChildEngine("")
	if err != nil {
		return err
	}
	out, err := b.Query(ctx, "EXISTS DATABASE only_in_a", "TabSeparated")
	if err != nil {
		return err
	}
	fmt.Printf("second dir has only_in_a: %s", out)
	if err := b.Close(); err != nil {
		return err
	}
	if a, err = openChildEngine(dirA); err != nil {
		return err
	}
	if out, err = a.Query(ctx, "EXISTS DATABASE only_in_a", "TabSeparated"); err != nil {
		return err
	}
	fmt.Printf("first dir has only_in_a: %s", out)
	return errors.Join(a.Close(), os.RemoveAll(dirA), os.RemoveAll(b.DataDir()))
}
