package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/leadhouse/leadhouse/engine"
)

// runEngine runs the embedded engine as a ClickHouse server, supervised (restarted when it dies)
// until SIGINT or SIGTERM, on the configured data dir, addresses and ports: the warehouse without
// leadhouse's intake, for a `serve` elsewhere to write to (LEADHOUSE_CLICKHOUSE_ADDR) or for
// analysts. With -config it is instead the engine process itself, as a Supervisor starts it.
func runEngine(ctx context.Context, cfg config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("engine", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	engineFlags(fs)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: engine takes no arguments (configure it with LEADHOUSE_* variables)", errUsage)
	}
	if configPath := fs.Lookup("config").Value.String(); configPath != "" {
		return engine.ServeChild(configPath, true)
	}
	if st, _, ok := engine.Running(ctx, cfg.DataDir); ok {
		return fmt.Errorf("an engine already serves %s (process %d, %s)", cfg.DataDir, st.PID, st.HTTP)
	}
	sup, err := startEngine(ctx, engineConfig(cfg), log, 0)
	if err != nil {
		return err
	}
	logConnect(log, cfg, sup)
	fmt.Fprintf(stdout, "engine serving http://%s and native %s; leadhouse's own user is %q (password in %s)\n",
		sup.HTTPAddr(), sup.TCPAddr(), engine.User, engine.PasswordFile(cfg.DataDir))
	<-ctx.Done()
	log.Info("stopping the engine")
	return sup.Stop(context.WithoutCancel(ctx))
}
