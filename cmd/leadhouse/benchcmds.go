package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/leadhouse/leadhouse/gen"
	"github.com/leadhouse/leadhouse/loadgen"
)

func runGen(args []string, stdout io.Writer) error {
	var c gen.Command
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return c.Run(context.Background(), stdout)
}

func runLoadgen(ctx context.Context, args []string, stdout io.Writer) error {
	var o loadgen.Options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	o.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	res, err := loadgen.Run(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res.String())
	return nil
}

// runCeiling serves a handler that reads each body and answers 202 without doing anything else,
// in its own process like `serve`: the benchmark's ceiling for HTTP on this machine.
func runCeiling(ctx context.Context, cfg config, log *slog.Logger) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("LEADHOUSE_LISTEN=%q: %w", cfg.Listen, err)
	}
	srv := &http.Server{Handler: loadgen.CeilingHandler(), ReadHeaderTimeout: 5 * time.Second}
	log.Info("serving callbacks", "addr", ln.Addr().String(), "endpoint", "POST /v1/callbacks", "handler", "ceiling")
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-done
	return err
}
