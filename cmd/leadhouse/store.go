package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
	lhsql "github.com/leadhouse/leadhouse/sql"
)

// warehouse is the store leadhouse writes to and, with the embedded engine, the engine process
// behind it when this command started it.
type warehouse struct {
	store *clickhouse.Store
	desc  string
	sup   *engine.Supervisor // the engine this process supervises; nil otherwise
}

// health reports the engine process being down; the store's own errors show in its calls.
func (w *warehouse) health() error {
	if w.sup == nil {
		return nil
	}
	return w.sup.Err()
}

// close closes the store and stops the engine this process started.
func (w *warehouse) close(ctx context.Context) error {
	w.store.Close()
	if w.sup == nil {
		return nil
	}
	return w.sup.Stop(ctx)
}

// engineConfig is the embedded engine cfg describes.
func engineConfig(cfg config) engine.Config {
	listen := make([]string, 0, len(cfg.EngineListen))
	for _, h := range cfg.EngineListen {
		if h = strings.TrimSpace(h); h != "" {
			listen = append(listen, h)
		}
	}
	return engine.Config{
		DataDir:            cfg.DataDir,
		Listen:             listen,
		TCPPort:            cfg.EngineNativePort,
		HTTPPort:           cfg.EngineHTTPPort,
		Database:           cfg.ClickHouseDatabase,
		AnalystPassword:    cfg.AnalystPassword,
		PIIAnalystPassword: cfg.PIIAnalystPassword,
	}
}

// engineCommand runs this binary as the engine process for a configuration file.
func engineCommand() (func(string) *exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find leadhouse's own binary to run the engine: %w", err)
	}
	return func(configPath string) *exec.Cmd {
		return exec.Command(exe, "engine", "-config", configPath)
	}, nil
}

// startEngine starts and supervises the embedded engine of ecfg.
func startEngine(ctx context.Context, ecfg engine.Config, log *slog.Logger, lockWait time.Duration) (*engine.Supervisor, error) {
	command, err := engineCommand()
	if err != nil {
		return nil, err
	}
	sup, err := engine.Start(ctx, engine.Options{Config: ecfg, Command: command, LockWait: lockWait, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("start the embedded engine: %w", err)
	}
	return sup, nil
}

// storeOptions are the clickhouse.Options of the configured server, or of an engine at httpAddr.
func storeOptions(cfg config, httpAddr, password string) clickhouse.Options {
	o := clickhouse.Options{
		Addr:        cfg.ClickHouseAddr,
		Database:    cfg.ClickHouseDatabase,
		Username:    cfg.ClickHouseUsername,
		Password:    cfg.ClickHousePassword,
		TLS:         cfg.ClickHouseTLS,
		Compression: cfg.ClickHouseCompression,
		// The pipeline writes a generation's tables at once, on a connection each.
		MaxConns: 8,
	}
	if o.Compression == "auto" {
		o.Compression = ""
	}
	if httpAddr != "" {
		o.Addr, o.Username, o.Password, o.TLS = []string{httpAddr}, engine.User, password, false
	}
	return o
}

// serveWarehouse opens the store `serve` writes to: the configured ClickHouse server, or the
// embedded engine, started and supervised by this process on the configured ports.
func serveWarehouse(ctx context.Context, cfg config, log *slog.Logger) (*warehouse, error) {
	if len(cfg.ClickHouseAddr) > 0 {
		return serverWarehouse(cfg)
	}
	if st, _, ok := engine.Running(ctx, cfg.DataDir); ok {
		return nil, fmt.Errorf("an engine already serves %s (process %d, %s): is another `leadhouse serve` or `leadhouse engine` running on this LEADHOUSE_DATA_DIR?", cfg.DataDir, st.PID, st.HTTP)
	}
	sup, err := startEngine(ctx, engineConfig(cfg), log, 0)
	if err != nil {
		return nil, err
	}
	st, err := clickhouse.New(storeOptions(cfg, sup.HTTPAddr(), sup.Password()))
	if err != nil {
		_ = sup.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	return &warehouse{store: st, sup: sup, desc: fmt.Sprintf("embedded engine at http://%s (native %s), database %s", sup.HTTPAddr(), sup.TCPAddr(), cfg.ClickHouseDatabase)}, nil
}

func serverWarehouse(cfg config) (*warehouse, error) {
	st, err := clickhouse.New(storeOptions(cfg, "", ""))
	if err != nil {
		return nil, fmt.Errorf("LEADHOUSE_CLICKHOUSE_ADDR: %w", err)
	}
	return &warehouse{store: st, desc: fmt.Sprintf("ClickHouse server %s, database %s", strings.Join(cfg.ClickHouseAddr, ","), cfg.ClickHouseDatabase)}, nil
}

// clientWarehouse opens the store a one-off command (query, migrate, replay) uses: the
// configured server; the engine a running `serve` supervises on the data dir; or, when none runs,
// an engine of its own on free ports of this machine, stopped by close.
func clientWarehouse(ctx context.Context, cfg config, log *slog.Logger) (*warehouse, error) {
	if len(cfg.ClickHouseAddr) > 0 {
		return serverWarehouse(cfg)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("LEADHOUSE_DATA_DIR=%q: %w", cfg.DataDir, err)
	}
	for attempt := 0; ; attempt++ {
		if st, password, ok := engine.Running(ctx, cfg.DataDir); ok {
			s, err := clickhouse.New(storeOptions(cfg, st.HTTP, password))
			if err != nil {
				return nil, err
			}
			return &warehouse{store: s, desc: fmt.Sprintf("engine of process %d at http://%s, database %s", st.PID, st.HTTP, cfg.ClickHouseDatabase)}, nil
		}
		ecfg := engineConfig(cfg)
		// Loopback and free ports: a short-lived engine must not take the ports `serve` uses,
		// nor be reachable from elsewhere.
		ports, err := engine.FreeLoopbackPorts(2)
		if err != nil {
			return nil, err
		}
		ecfg.Listen, ecfg.TCPPort, ecfg.HTTPPort = []string{"127.0.0.1"}, ports[0], ports[1]
		sup, err := startEngine(ctx, ecfg, log, 10*time.Second)
		if err == nil {
			s, err := clickhouse.New(storeOptions(cfg, sup.HTTPAddr(), sup.Password()))
			if err != nil {
				_ = sup.Stop(context.WithoutCancel(ctx))
				return nil, err
			}
			return &warehouse{store: s, sup: sup, desc: fmt.Sprintf("embedded engine on %s, database %s", cfg.DataDir, cfg.ClickHouseDatabase)}, nil
		}
		// Another process holds the data dir: a `serve` that was starting its engine has it
		// serving now, or it is still shutting down.
		if !errors.Is(err, engine.ErrLocked) || attempt == 2 {
			return nil, err
		}
	}
}

// openMigrated opens the store `serve` writes to and brings its tables and views up to date, as
// every start does. The data dir is created first: the write-ahead log lives there whichever the
// store.
func openMigrated(ctx context.Context, cfg config, log *slog.Logger) (*warehouse, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("LEADHOUSE_DATA_DIR=%q: %w", cfg.DataDir, err)
	}
	wh, err := serveWarehouse(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	log.Info("store opened", "store", wh.desc)
	if err := migrate(ctx, wh.store, cfg, log); err != nil {
		_ = wh.close(context.WithoutCancel(ctx))
		return nil, err
	}
	return wh, nil
}

// migrate creates the store's database if needed, applies the migrations it lacks and sets the
// retention of raw bodies.
func migrate(ctx context.Context, st *clickhouse.Store, cfg config, log *slog.Logger) error {
	if err := st.CreateDatabase(ctx); err != nil {
		return err
	}
	applied, err := lhsql.Migrate(ctx, st, log)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "files", applied)
	}
	changed, err := lhsql.SetRetention(ctx, st, time.Duration(cfg.RawRetention))
	if err != nil {
		return fmt.Errorf("LEADHOUSE_RAW_RETENTION: %w", err)
	}
	if len(changed) > 0 {
		log.Info("raw body retention changed: the engine rewrites these columns once, in the background", "columns", changed, "retention", time.Duration(cfg.RawRetention).String())
	}
	return nil
}
