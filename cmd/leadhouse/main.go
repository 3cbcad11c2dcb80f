// Command leadhouse receives a real-estate CRM's lead callbacks and keeps them in ClickHouse.
//
// Usage: leadhouse <command> [arguments]; `leadhouse help` lists the commands and `leadhouse help
// COMMAND` (or `leadhouse COMMAND -h`) prints one's usage (commands.go).
//
// Configuration comes from LEADHOUSE_* environment variables; see the README.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// errUsage marks a command-line mistake: main prints usage and exits 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal starts a graceful stop; restoring the default handling then lets a second
	// one end the process at once, as operators expect of Ctrl-C pressed twice.
	go func() { <-ctx.Done(); stop() }()
	err := run(ctx, os.Args[1:], environMap(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		if msg := strings.TrimPrefix(err.Error(), errUsage.Error()); msg != "" {
			fmt.Fprintln(os.Stderr, "leadhouse"+msg)
		}
		if c, ok := commandOf(os.Args[1:]); ok {
			writeUsage(os.Stderr, c)
		} else {
			fmt.Fprint(os.Stderr, usageText())
		}
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "leadhouse:", err)
		os.Exit(1)
	}
}

// commandOf is the command args name, if it is one.
func commandOf(args []string) (command, bool) {
	if len(args) == 0 {
		return command{}, false
	}
	return lookupCommand(args[0])
}

func run(ctx context.Context, args []string, environ map[string]string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help":
		return runHelp(nil, stdout)
	case "-version", "--version":
		cmd = "version"
	}
	c, ok := lookupCommand(cmd)
	if !ok {
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	if helpRequested(rest) {
		writeUsage(stdout, c)
		return nil
	}
	switch cmd {
	case "help":
		return runHelp(rest, stdout)
	case "version":
		fmt.Fprintln(stdout, "leadhouse", version)
		return nil
	case "flatten":
		return runFlatten(rest, stdin, stdout)
	case "gen":
		return runGen(rest, stdout)
	case "loadgen":
		return runLoadgen(ctx, rest, stdout)
	case "report":
		return runReport(ctx, rest, environ, stdout, stderr)
	}
	cfg, err := loadConfig(environ)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	switch cmd {
	case "serve":
		if len(rest) > 0 {
			return fmt.Errorf("%w: serve takes no arguments (configure it with LEADHOUSE_* variables)", errUsage)
		}
		return runServe(ctx, cfg, log)
	case "migrate":
		if len(rest) > 0 {
			return fmt.Errorf("%w: migrate takes no arguments", errUsage)
		}
		return runMigrate(ctx, cfg, log, stdout)
	case "query":
		return runQuery(ctx, cfg, log, rest, stdout, stderr)
	case "engine":
		return runEngine(ctx, cfg, log, rest, stdout)
	case "replay":
		return runReplay(ctx, cfg, log, rest, stdin, stdout, stderr)
	case "rebuild":
		return runRebuild(ctx, cfg, log, rest, stdout, stderr)
	case "dead-letters":
		return runDeadLetters(ctx, cfg, log, rest, stdin, stdout, stderr)
	case "forget":
		return runForget(ctx, cfg, log, rest, stdout)
	case "ceiling":
		return runCeiling(ctx, cfg, log)
	case "healthcheck":
		return runHealthcheck(ctx, cfg, stdout)
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

func environMap() map[string]string {
	m := make(map[string]string)
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
