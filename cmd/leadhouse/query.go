package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	lhsql "github.com/leadhouse/leadhouse/sql"
)

// runQuery prints one query's result as TabSeparated so analysts and scripts can read the views.
// On the embedded engine it only works while no `serve` holds the data dir: the engine allows one
// process per directory, and openStore says so plainly.
func runQuery(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
		return fmt.Errorf("%w: query takes one SQL statement, e.g. leadhouse query \"SELECT * FROM leads_current LIMIT 10\"", errUsage)
	}
	st, _, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	w := bufio.NewWriter(stdout)
	if err := st.Query(ctx, args[0], w); err != nil {
		return fmt.Errorf("query: %w", err)
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
