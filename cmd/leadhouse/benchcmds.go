package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/gen"
	"github.com/leadhouse/leadhouse/loadgen"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/server"
	"github.com/leadhouse/leadhouse/sink"
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

// runReplay loads an NDJSON file of callbacks (one body per line, as `leadhouse gen` writes)
// through the same write-ahead log, flattener, batches and store as `serve`, without HTTP:
// for backfills and for measuring the pipeline alone.
func runReplay(ctx context.Context, cfg config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: replay takes one NDJSON FILE", errUsage)
	}
	f, err := os.Open(args[0])
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	wh, err := clientWarehouse(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer wh.close(context.WithoutCancel(ctx))
	if err := migrate(ctx, wh.store, cfg, log); err != nil {
		return err
	}
	// The file is the source of truth for a replay: if it stops half-way it is run again (the
	// same bodies give the same callback ids), so its records need not be fsynced one by one.
	cfg.WALSync = "interval"
	pipe, closeWAL, err := startPipeline(ctx, cfg, log, wh.store, wh.health, nil)
	if err != nil {
		return err
	}
	defer closeWAL()
	start := time.Now()
	fl := flatten.New()
	var rows schema.Rows
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), int(cfg.MaxBodyBytes)+1)
	var n, rejected, rowCount int
	for sc.Scan() {
		if ctx.Err() != nil {
			break
		}
		body := sc.Bytes()
		if len(body) == 0 {
			continue
		}
		in := sink.Input{Body: body, ReceivedAt: time.Now(), Remote: "replay:" + args[0]}
		dec := sink.Decoded{Rows: &rows}
		if ferr := fl.Flatten(body, in.ReceivedAt, &rows); ferr != nil {
			dec = sink.Decoded{Reason: server.Reason(ferr), Err: ferr}
			rejected++
		} else {
			rowCount += rows.Count()
		}
		if _, err := submitWithRetry(ctx, pipe, in, dec); err != nil {
			_ = pipe.Close(context.WithoutCancel(ctx))
			return fmt.Errorf("replay line %d: %w", n+1, err)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		_ = pipe.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("read %s after line %d: %w", args[0], n, err)
	}
	submitted := time.Since(start)
	if err := pipe.Close(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	total := time.Since(start)
	fmt.Fprintf(stdout, "replayed %d callbacks (%d rows, %d dead letters) in %s: %.0f callbacks/s, %.0f rows/s (submitted in %s)\n",
		n, rowCount, rejected, total.Round(time.Millisecond), float64(n)/total.Seconds(), float64(rowCount)/total.Seconds(), submitted.Round(time.Millisecond))
	return nil
}

// submitWithRetry waits out a full backlog instead of failing a backfill: the store drains it.
func submitWithRetry(ctx context.Context, p *sink.Pipeline, in sink.Input, dec sink.Decoded) (sink.Ack, error) {
	for {
		ack, err := p.Submit(ctx, in, dec)
		if !errors.Is(err, sink.ErrBacklogFull) {
			return ack, err
		}
		select {
		case <-ctx.Done():
			return ack, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
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
