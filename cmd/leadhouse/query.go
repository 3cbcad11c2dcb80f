package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	lhsql "github.com/leadhouse/leadhouse/sql"
)

// runQuery prints one query's result as TabSeparated so analysts and scripts can read the views.
// On the embedded engine it only works while no `serve` holds the data dir: the engine allows one
// process per directory, and openStore says so plainly. With -time N it runs the query N times in
// the same process, prints the result once and each run's duration on stderr: how long the query
// takes on a warm engine, without the start-up a new process pays.
func runQuery(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repeat := fs.Int("time", 0, "run the query this many times and print each run's duration on stderr")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 || strings.TrimSpace(fs.Arg(0)) == "" || *repeat < 0 {
		return fmt.Errorf("%w: query takes one SQL statement, e.g. leadhouse query \"SELECT * FROM leads_current LIMIT 10\"", errUsage)
	}
	st, _, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	w := bufio.NewWriter(stdout)
	for i := range max(*repeat, 1) {
		out := io.Discard
		if i == 0 {
			out = w
		}
		start := time.Now()
		if err := st.Query(ctx, fs.Arg(0), out); err != nil {
			return fmt.Errorf("query: %w", err)
		}
		if *repeat > 0 {
			fmt.Fprintf(stderr, "run %d: %s\n", i+1, time.Since(start).Round(time.Millisecond))
		}
	}
	return w.Flush()
}

// runMigrate creates or updates the tables and views and lists what it applied.
func runMigrate(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) error {
	st, desc, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := lhsql.Migrate(ctx, st, log)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "%s: up to date\n", desc)
	}
	for _, name := range applied {
		fmt.Fprintf(stdout, "applied %s\n", name)
	}
	return nil
}
