// Command leadhouse receives a real-estate CRM's lead callbacks and keeps them in ClickHouse.
//
// Usage:
//
//	leadhouse serve                  receive callbacks on LEADHOUSE_LISTEN
//	leadhouse migrate                create or update tables and views, then exit
//	leadhouse engine                 run the embedded engine as a ClickHouse server until stopped
//	leadhouse query [-time N] "SQL"  print a query's result as TabSeparated (-time: N timed runs)
//	leadhouse report funnel [flags]  print the sales funnel as a text bar chart (report -h)
//	leadhouse flatten [FILE|-]       print the rows a callback becomes, one JSON object per row
//	leadhouse gen [flags]            write generated callbacks as NDJSON (benchmarks)
//	leadhouse loadgen [flags]        drive HTTP load at a running leadhouse (benchmarks)
//	leadhouse replay FILE            load an NDJSON file of callbacks straight into the store
//	leadhouse forget -lead-id N [-phone P]  remove a person's data everywhere leadhouse keeps it
//	leadhouse ceiling                serve a do-nothing handler (the benchmark's ceiling)
//	leadhouse healthcheck            exit 0 when the local server is ready (container health checks)
//	leadhouse version                print the version
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
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "leadhouse:", err)
		os.Exit(1)
	}
}

const usage = `usage: leadhouse <command> [arguments]

commands:
  serve              receive callbacks on LEADHOUSE_LISTEN (default :8080)
  migrate            create or update tables and views, then exit
  engine             run the embedded engine as a ClickHouse server until stopped (serve runs one itself)
  query [-time N] "SQL"  print a query's result as TabSeparated (-time N: timed runs)
  report funnel [--project P] [--since T]
                     print the sales funnel as a text bar chart (report -h for more)
  flatten [FILE|-]   print the rows a callback becomes, one JSON object per row
  gen [flags]        write generated callbacks as NDJSON
  loadgen [flags]    drive HTTP load at a running leadhouse
  replay FILE        load an NDJSON file of callbacks straight into the store
  forget -lead-id N [-phone P] [-by WHO] [-reason REF]
                     remove a person's data everywhere leadhouse keeps it, and audit it
  ceiling            serve a do-nothing handler on LEADHOUSE_LISTEN (benchmark ceiling)
  healthcheck        exit 0 when the local server answers /readyz with 200
  version            print the version

Configuration is read from LEADHOUSE_* environment variables (see README.md).
`

func run(ctx context.Context, args []string, environ map[string]string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "flatten":
		return runFlatten(rest, stdin, stdout)
	case "gen":
		return runGen(rest, stdout)
	case "loadgen":
		return runLoadgen(ctx, rest, stdout)
	case "report":
		return runReport(ctx, rest, environ, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "leadhouse", version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	cfg, err := loadConfig(environ)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	switch cmd {
	case "serve":
		return runServe(ctx, cfg, log)
	case "migrate":
		return runMigrate(ctx, cfg, log, stdout)
	case "query":
		return runQuery(ctx, cfg, log, rest, stdout, stderr)
	case "engine":
		return runEngine(ctx, cfg, log, rest, stdout)
	case "replay":
		return runReplay(ctx, cfg, log, rest, stdout)
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
