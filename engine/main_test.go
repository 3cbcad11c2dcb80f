package engine_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/engine/enginetest"
)

// Besides being an engine process (enginetest.Main), the test binary plays two other processes
// for tests that must watch them from outside.
const (
	// panicEnv: load the engine library, then dereference nil; the Go runtime must still report
	// it as a panic.
	panicEnv = "LEADHOUSE_ENGINE_TEST_PANIC"
	// parentEnv, set to a data directory: supervise an engine there, print its pid, and wait
	// to be killed.
	parentEnv = "LEADHOUSE_ENGINE_TEST_PARENT"
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(panicEnv) != "":
		lib, err := engine.FindLibrary()
		if err == nil {
			err = engine.LoadLibrary(lib)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		var p *int
		fmt.Println(*p)
	case os.Getenv(parentEnv) != "":
		dir := os.Getenv(parentEnv)
		os.Unsetenv(parentEnv) // the engine process it starts is this binary too
		ports, err := enginetest.FreePorts(2)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		sup, err := engine.Start(context.Background(), engine.Options{
			Config:  engine.Config{DataDir: dir, TCPPort: ports[0], HTTPPort: ports[1]},
			Command: enginetest.Command,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Printf("engine %d %s\n", sup.PID(), sup.HTTPAddr())
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	enginetest.Main(m)
}
