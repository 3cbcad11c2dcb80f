package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/server"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/wal"
	lhsql "github.com/leadhouse/leadhouse/sql"
)

// runServe receives callbacks until ctx is cancelled (SIGINT/SIGTERM), then stops accepting,
// flushes everything buffered, closes the store and returns nil.
func runServe(ctx context.Context, cfg config, log *slog.Logger) error {
	if err := cfg.requireAuth(); err != nil {
		return err
	}
	if cfg.InsecureNoAuth {
		log.Warn("authentication is off (LEADHOUSE_INSECURE_NO_AUTH=true): anyone who reaches the port can post callbacks")
	}
	limitGoMemory(cfg, log)
	st, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()

	metrics := server.NewMetrics()
	pipe, closeWAL, err := startPipeline(ctx, cfg, log, st, metrics.OnFlush)
	if err != nil {
		return err
	}
	defer closeWAL()

	srv, err := server.New(server.Options{
		Pipeline:       pipe,
		Tokens:         cfg.Tokens,
		InsecureNoAuth: cfg.InsecureNoAuth,
		Metrics:        metrics,
		Logger:         log,
		Addr:           cfg.Listen,
		MaxBodyBytes:   int64(cfg.MaxBodyBytes),
		MaxConcurrent:  cfg.MaxConcurrent,
		// A third of the shutdown time for requests in flight, the rest to flush (below).
		ShutdownTimeout: cfg.ShutdownTimeout / 3,
		// The status page's warehouse numbers, read with SQL over the store (cached by the server).
		StoreStats: server.StoreStatsFunc(func(ctx context.Context) (lhsql.Status, error) {
			return lhsql.ReadStatus(ctx, st)
		}),
		WALMaxBytes: int64(cfg.WALMaxBytes),
	})
	if err != nil {
		closePipeline(ctx, pipe, cfg.ShutdownTimeout)
		return err
	}
	if cfg.DebugListen != "" {
		stopDebug, err := serveDebug(ctx, cfg.DebugListen, log)
		if err != nil {
			closePipeline(ctx, pipe, cfg.ShutdownTimeout)
			return err
		}
		defer stopDebug()
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		closePipeline(ctx, pipe, cfg.ShutdownTimeout)
		return fmt.Errorf("LEADHOUSE_LISTEN=%q: %w", cfg.Listen, err)
	}
	log.Info("serving callbacks", "addr", ln.Addr().String(), "endpoint", "POST /v1/callbacks", "status_page", "GET /", "wal_sync", cfg.WALSync)
	serveErr := srv.Serve(ctx, ln)

	log.Info("shutting down: flushing buffered callbacks")
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout-cfg.ShutdownTimeout/3)
	defer cancel()
	closeErr := pipe.Close(cctx)
	if closeErr != nil {
		closeErr = fmt.Errorf("flush on shutdown (unflushed callbacks stay in the write-ahead log and are replayed on the next start): %w", closeErr)
	}
	if err := errors.Join(serveErr, closeErr); err != nil {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}

// startPipeline opens the write-ahead log and starts the pipeline that replays it and batches
// into st. The pipeline runs on its own context: after a signal it still has to flush, so only
// the returned cleanup, run after Close, stops it and closes the log.
func startPipeline(ctx context.Context, cfg config, log *slog.Logger, st sink.Store, onFlush func(string, int, time.Duration, error)) (*sink.Pipeline, func(), error) {
	var mode wal.SyncMode
	if err := mode.UnmarshalText([]byte(cfg.WALSync)); err != nil {
		return nil, nil, fmt.Errorf("LEADHOUSE_WAL_SYNC: %w", err)
	}
	tracker := &wal.Tracker{}
	walDir := filepath.Join(cfg.DataDir, "wal")
	wl, err := wal.Open(wal.Options{
		Dir:          walDir,
		Sync:         mode,
		SyncInterval: cfg.WALSyncInterval,
		MaxBytes:     int64(cfg.WALMaxBytes),
		Tracker:      tracker,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("open write-ahead log in %s: %w", walDir, err)
	}
	// The replayer decodes one record at a time, so one Flattener serves it.
	decoder := flatten.New()
	// A ClickHouse server takes a generation's tables at once, on a connection each (openStore
	// keeps 8, one per table); the embedded engine runs one statement at a time.
	concurrency := 1
	if len(cfg.ClickHouseAddr) > 0 {
		concurrency = 8
	}
	pipe, err := sink.New(st, wl, tracker, sink.Options{
		Decode:            decoder.Flatten,
		Reason:            server.Reason,
		MaxRows:           cfg.BatchMaxRows,
		MaxBytes:          int64(cfg.BatchMaxBytes),
		FlushInterval:     cfg.FlushInterval,
		MaxBufferedBytes:  int64(cfg.MaxBufferedBytes),
		InsertConcurrency: concurrency,
		OnFlush:           onFlush,
		Logger:            log,
	})
	if err != nil {
		wl.Close()
		return nil, nil, err
	}
	pctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	if err := pipe.Start(pctx); err != nil {
		stop()
		wl.Close()
		return nil, nil, err
	}
	return pipe, func() { stop(); wl.Close() }, nil
}

// serveDebug serves Go's pprof profiles on their own listener, never on the public port.
func serveDebug(ctx context.Context, addr string, log *slog.Logger) (stop func(), err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("LEADHOUSE_DEBUG_LISTEN=%q: %w", addr, err)
	}
	// The mutex and block profiles record nothing unless sampling is on; sampled like this they
	// cost little, and they are what shows lock contention in the acknowledgement path.
	runtime.SetMutexProfileFraction(100)
	runtime.SetBlockProfileRate(int(100 * time.Microsecond))
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("debug server stopped", "err", err)
		}
	}()
	log.Info("serving pprof", "addr", ln.Addr().String())
	return func() { _ = srv.Close(); <-done }, nil
}

// limitGoMemory gives the Go heap a soft limit sized to the batch memory, unless GOMEMLIMIT sets
// one: batches are released a generation at a time, and without a limit the collector lets the
// heap grow to twice its peak and returns the memory to the system only slowly.
func limitGoMemory(cfg config, log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := 3*int64(cfg.MaxBufferedBytes) + 128<<20
	debug.SetMemoryLimit(limit)
	log.Debug("go memory limit set", "bytes", limit)
}

// closePipeline stops a pipeline that never served, within the shutdown time: whatever it cannot
// store by then stays in the write-ahead log for the next start.
func closePipeline(ctx context.Context, pipe *sink.Pipeline, d time.Duration) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	_ = pipe.Close(cctx)
}
