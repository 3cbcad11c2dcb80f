package main

import (
	"bytes"
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
		Password:           cfg.EnginePassword,
		AnalystPassword:    cfg.AnalystPassword,
		PIIAnalystPassword: cfg.PIIAnalystPassword,
		Cluster:            cfg.engineNodes,
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
	if cfg.Cluster != "" {
		// A Distributed table's insert returns once every shard has its rows: until then the
		// write-ahead log keeps them, and a retry under the same token stores none twice.
		o.Settings = map[string]string{"distributed_foreground_insert": "1"}
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
	command, err := engineCommand()
	if err != nil {
		return nil, err
	}
	// Launch, not Start: serve takes callbacks while the engine comes up (or keeps failing to).
	sup, err := engine.Launch(engine.Options{Config: engineConfig(cfg), Command: command, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("start the embedded engine: %w", err)
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

// migratedWarehouse is clientWarehouse with the migrations run, for the commands that write
// (replay, rebuild, dead-letters, forget): a warehouse that fails to migrate is closed again.
func migratedWarehouse(ctx context.Context, cfg config, log *slog.Logger) (*warehouse, error) {
	wh, err := clientWarehouse(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := wh.migrate(ctx, cfg, log); err != nil {
		return nil, errors.Join(err, wh.close(context.WithoutCancel(ctx)))
	}
	return wh, nil
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

// migrate creates the store's database if needed, applies the migrations it lacks and sets the
// retention of raw bodies, and logs what it changed.
func (w *warehouse) migrate(ctx context.Context, cfg config, log *slog.Logger) error {
	applied, changed, err := w.migrations(ctx, cfg, log)
	if len(applied) > 0 {
		log.Info("migrations applied", "files", applied)
	}
	if len(changed) > 0 {
		log.Info("raw body retention changed: the engine rewrites these columns once, in the background",
			"columns", changed, "retention", retentionString(cfg.RawRetention))
	}
	return err
}

// migrations is migrate on one node, or on every node of a cluster: it returns the migrations it
// applied and the raw-body columns whose retention it changed.
func (w *warehouse) migrations(ctx context.Context, cfg config, log *slog.Logger) (applied, changed []string, err error) {
	keep := time.Duration(cfg.RawRetention)
	if cfg.Cluster == "" {
		if err := w.store.CreateDatabase(ctx); err != nil {
			return nil, nil, err
		}
		if applied, err = lhsql.Migrate(ctx, w.store, log); err != nil {
			return applied, nil, err
		}
		changed, err = lhsql.SetRetention(ctx, w.store, keep)
	} else {
		var nodes []*clickhouse.Store
		if nodes, err = clusterNodes(ctx, cfg); err != nil {
			return nil, nil, err
		}
		dbs := make([]lhsql.DB, len(nodes))
		for i, n := range nodes {
			defer n.Close()
			dbs[i] = n
		}
		c := lhsql.Cluster{Name: cfg.Cluster, Replicated: cfg.ClusterReplicated, OnCluster: cfg.ClusterOnCluster}
		if applied, err = lhsql.MigrateCluster(ctx, dbs, c, log); err != nil {
			return applied, nil, err
		}
		changed, err = lhsql.SetRetentionCluster(ctx, dbs, c, keep)
	}
	if err != nil {
		return applied, changed, fmt.Errorf("LEADHOUSE_RAW_RETENTION: %w", err)
	}
	return applied, changed, nil
}

// clusterNodes returns a store on each address of LEADHOUSE_CLICKHOUSE_ADDR, after checking that
// they are the cluster's nodes, all of them, as the first one's system.clusters lists them:
// DDL run node by node must reach every node.
func clusterNodes(ctx context.Context, cfg config) ([]*clickhouse.Store, error) {
	addrs := cfg.ClickHouseAddr
	if cfg.ClusterOnCluster {
		addrs = addrs[:1]
	}
	var nodes []*clickhouse.Store
	closeAll := func() {
		for _, n := range nodes {
			n.Close()
		}
	}
	seen := map[string]string{}
	for _, a := range addrs {
		o := storeOptions(cfg, "", "")
		o.Addr = []string{a}
		n, err := clickhouse.New(o)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("LEADHOUSE_CLICKHOUSE_ADDR: %w", err)
		}
		nodes = append(nodes, n)
		if err := n.CreateDatabase(ctx); err != nil {
			closeAll()
			return nil, fmt.Errorf("cluster node %s: %w", a, err)
		}
		var buf bytes.Buffer
		if err := n.Query(ctx, "SELECT getMacro('shard') || '/' || getMacro('replica')", &buf); err != nil {
			closeAll()
			return nil, fmt.Errorf("cluster node %s: its shard and replica macros: %w", a, err)
		}
		id := strings.TrimSpace(buf.String())
		if other, dup := seen[id]; dup {
			closeAll()
			return nil, fmt.Errorf("LEADHOUSE_CLICKHOUSE_ADDR: %s and %s are the same node of cluster %s (shard/replica %s)", other, a, cfg.Cluster, id)
		}
		seen[id] = a
	}
	if cfg.ClusterOnCluster {
		return nodes, nil
	}
	var buf bytes.Buffer
	if err := nodes[0].Query(ctx, "SELECT count() FROM system.clusters WHERE cluster = "+quoteLiteral(cfg.Cluster), &buf); err != nil {
		closeAll()
		return nil, fmt.Errorf("cluster %s: %w", cfg.Cluster, err)
	}
	switch n := strings.TrimSpace(buf.String()); n {
	case "0":
		closeAll()
		return nil, fmt.Errorf("LEADHOUSE_CLICKHOUSE_CLUSTER=%s: the server at %s has no such cluster in its remote_servers", cfg.Cluster, addrs[0])
	case fmt.Sprint(len(nodes)):
	default:
		closeAll()
		return nil, fmt.Errorf("LEADHOUSE_CLICKHOUSE_ADDR lists %d nodes, cluster %s has %s: list every node's HTTP address (DDL runs on each), or set LEADHOUSE_CLICKHOUSE_ON_CLUSTER=true", len(nodes), cfg.Cluster, n)
	}
	return nodes, nil
}

func quoteLiteral(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
