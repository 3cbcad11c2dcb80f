package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/chdb"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
	lhsql "github.com/leadhouse/leadhouse/sql"
)

// openStore opens the configured store: a ClickHouse server when LEADHOUSE_CLICKHOUSE_ADDR is
// set, otherwise the embedded engine under the data dir.
func openStore(ctx context.Context, cfg config) (sink.Store, string, error) {
	if len(cfg.ClickHouseAddr) > 0 {
		st, err := clickhouse.Open(ctx, clickhouse.Options{
			Addr:     cfg.ClickHouseAddr,
			Database: cfg.ClickHouseDatabase,
			Username: cfg.ClickHouseUsername,
			Password: cfg.ClickHousePassword,
			TLS:      cfg.ClickHouseTLS,
			// The pipeline writes a generation's tables at once, on a connection each.
			MaxOpenConns: 8,
			MaxIdleConns: 8,
		})
		if err != nil {
			return nil, "", fmt.Errorf("open ClickHouse server %v: %w", cfg.ClickHouseAddr, err)
		}
		return st, fmt.Sprintf("clickhouse server %v database %s", cfg.ClickHouseAddr, cfg.ClickHouseDatabase), nil
	}
	dir := filepath.Join(cfg.DataDir, "chdb")
	eng, err := chdb.Open(chdb.Options{DataDir: dir})
	if err != nil {
		switch {
		case errors.Is(err, chdb.ErrLibraryMissing):
			// The library's own message already says how to get it.
			return nil, "", err
		case errors.Is(err, chdb.ErrLocked):
			return nil, "", fmt.Errorf("embedded engine in %s: %w", dir, err)
		}
		return nil, "", fmt.Errorf("open embedded engine in %s: %w", dir, err)
	}
	if err := eng.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(cfg.ClickHouseDatabase)); err != nil {
		eng.Close()
		return nil, "", fmt.Errorf("create database %s: %w", cfg.ClickHouseDatabase, err)
	}
	st := chdb.NewStore(eng, cfg.ClickHouseDatabase)
	return st, fmt.Sprintf("embedded engine %s in %s database %s", eng.Version(), dir, cfg.ClickHouseDatabase), nil
}

// openMigrated creates the data dir (the write-ahead log lives there whichever the store), opens
// the store and brings its tables and views up to date, as every start does.
func openMigrated(ctx context.Context, cfg config, log *slog.Logger) (sink.Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("LEADHOUSE_DATA_DIR=%q: %w", cfg.DataDir, err)
	}
	st, desc, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	log.Info("store opened", "store", desc)
	applied, err := lhsql.Migrate(ctx, st, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "files", applied)
	}
	return st, nil
}

func quoteIdent(s string) string {
	out := []byte{'`'}
	for i := 0; i < len(s); i++ {
		if s[i] == '`' || s[i] == '\\' {
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(append(out, '`'))
}
