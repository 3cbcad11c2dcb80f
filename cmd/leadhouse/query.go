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
)

// runQuery prints one query's result, TabSeparated unless the query names a FORMAT, so analysts
// and scripts can read the views: from the engine a running `serve` supervises, or from an engine
// it starts on the data dir when none runs, or from the configured server. With -time N it runs
// the query N times, prints the result once and each run's duration on stderr: how long the
// query takes on a warm engine (the first run on an engine this command started is cold).
func runQuery(ctx context.Context, cfg config, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	queryFlags(fs)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	repeat := flagInt(fs, "time")
	if fs.NArg() != 1 || strings.TrimSpace(fs.Arg(0)) == "" || *repeat < 0 {
		return fmt.Errorf("%w: query takes one SQL statement, e.g. leadhouse query \"SELECT * FROM leads_current LIMIT 10\"", errUsage)
	}
	wh, err := clientWarehouse(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer wh.close(context.WithoutCancel(ctx))
	st := wh.store
	if wh.sup != nil {
		// An engine of its own on a data dir never served: the query meets empty views, or a
		// missing table, rather than a missing database.
		if err := st.CreateDatabase(ctx); err != nil {
			return err
		}
	}
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
	wh, err := clientWarehouse(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer wh.close(context.WithoutCancel(ctx))
	desc := wh.desc
	applied, changed, err := wh.migrations(ctx, cfg, log)
	if err != nil {
		return err
	}
	if len(applied) == 0 && len(changed) == 0 {
		fmt.Fprintf(stdout, "%s: up to date\n", desc)
	}
	for _, name := range applied {
		fmt.Fprintf(stdout, "applied %s\n", name)
	}
	for _, c := range changed {
		fmt.Fprintf(stdout, "retention of %s set to %s\n", c, retentionString(cfg.RawRetention))
	}
	return nil
}

// retentionString says how long raw bodies are kept.
func retentionString(r retention) string {
	if r == 0 {
		return "for ever"
	}
	return time.Duration(r).String()
}
