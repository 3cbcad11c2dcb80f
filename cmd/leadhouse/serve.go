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

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/erasure"
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
	trusted, err := cfg.trustedProxies()
	if err != nil {
		return err
	}
	limitGoMemory(cfg, log)
	// Nothing below waits for the store: callbacks are taken into the write-ahead log at once,
	// and the connector starts the pipeline, which writes them, once the store is migrated.
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("LEADHOUSE_DATA_DIR=%q: %w", cfg.DataDir, err)
	}
	wh, err := serveWarehouse(ctx, cfg, log)
	if err != nil {
		return err
	}
	// Last: the pipeline flushes into the store on its way out.
	defer func() {
		if err := wh.close(context.WithoutCancel(ctx)); err != nil {
			log.Error("stop the embedded engine", "err", err)
		}
	}()
	log.Info("store", "store", wh.desc)
	if wh.sup != nil {
		logConnect(log, cfg, wh.sup)
	}

	metrics := server.NewMetrics()
	var conn *connector
	health := func() error {
		if err := conn.health(); err != nil {
			return err
		}
		return wh.health()
	}
	pipe, closePipe, err := newPipeline(cfg, log, wh.store, health, metrics.OnFlush)
	if err != nil {
		return err
	}
	defer closePipe()
	pctx, stopPipe := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPipe()
	conn = startConnector(func(ctx context.Context) error { return wh.migrate(ctx, cfg, log) }, log, func() error { return pipe.Start(pctx) })
	defer conn.stop()

	srv, err := server.New(server.Options{
		Pipeline:         pipe,
		Tokens:           cfg.Tokens,
		WebhookSecrets:   cfg.WebhookSecrets,
		WebhookTolerance: cfg.WebhookTolerance,
		WebhookMaxIDs:    cfg.WebhookMaxIDs,
		HMAC: server.HMACOptions{
			Secrets:   cfg.HMACSecrets,
			Header:    cfg.HMACHeader,
			Algorithm: cfg.HMACAlgorithm,
			Encoding:  cfg.HMACEncoding,
			Prefix:    cfg.HMACPrefix,
		},
		AnyCredential:       cfg.AuthRequire == "any",
		InsecureNoAuth:      cfg.InsecureNoAuth,
		RateLimit:           offIfZero(cfg.RateLimit),
		RateBurst:           cfg.RateBurst,
		AuthFailureBurst:    int(offIfZero(float64(cfg.AuthFailureBurst))),
		AuthFailureInterval: cfg.AuthFailureInterval,
		TrustedProxies:      trusted,
		Metrics:             metrics,
		Logger:              log,
		Addr:                cfg.Listen,
		MaxBodyBytes:        int64(cfg.MaxBodyBytes),
		MaxConcurrent:       cfg.MaxConcurrent,
		// A third of the shutdown time for requests in flight, the rest to flush (below).
		ShutdownTimeout: cfg.ShutdownTimeout / 3,
		// The status page's warehouse numbers, read with SQL over the store (cached by the server).
		StoreStats: server.StoreStatsFunc(func(ctx context.Context) (lhsql.Status, error) {
			return lhsql.ReadStatus(ctx, wh.store)
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
	if !cfg.InsecureNoAuth {
		// Counts only: the log never holds a credential.
		log.Info("authentication", "tokens", len(cfg.Tokens), "webhook_secrets", len(cfg.WebhookSecrets),
			"hmac_secrets", len(cfg.HMACSecrets), "require", cfg.AuthRequire, "trusted_proxies", len(trusted))
	}
	log.Info("serving callbacks", "addr", ln.Addr().String(), "endpoint", "POST /v1/callbacks", "status_page", "GET /", "wal_sync", cfg.WALSync)
	serveErr := srv.Serve(ctx, ln)

	log.Info("shutting down: flushing buffered callbacks")
	conn.stop()
	if err := conn.health(); err != nil {
		log.Warn("the store never became ready: callbacks stay in the write-ahead log for the next start", "backlog_bytes", pipe.Stats().WALBacklogBytes, "err", err)
	}
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

// offIfZero maps a limit's "0 turns it off" in the environment to server.Options' negative.
func offIfZero(v float64) float64 {
	if v == 0 {
		return -1
	}
	return v
}

// startPipeline opens the write-ahead log and starts the pipeline that replays it and batches
// into st. The pipeline runs on its own context: after a signal it still has to flush, so only
// the returned cleanup, run after Close, stops it and closes the log.
func startPipeline(ctx context.Context, cfg config, log *slog.Logger, st sink.Store, health func() error, onFlush func(string, int, time.Duration, error)) (*sink.Pipeline, func(), error) {
	pipe, cleanup, err := newPipeline(cfg, log, st, health, onFlush)
	if err != nil {
		return nil, nil, err
	}
	pctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	if err := pipe.Start(pctx); err != nil {
		stop()
		cleanup()
		return nil, nil, err
	}
	return pipe, func() { stop(); cleanup() }, nil
}

// newPipeline opens the write-ahead log and returns a pipeline on it, not started: it takes
// callbacks into the log, and writes nothing to st until Start. The pipeline leaves out the
// records of the people asked to be forgotten, and watches for new requests until the returned
// cleanup, run after Close, which also closes the log.
func newPipeline(cfg config, log *slog.Logger, st sink.Store, health func() error, onFlush func(string, int, time.Duration, error)) (*sink.Pipeline, func(), error) {
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
		SegmentBytes: int64(cfg.WALSegmentBytes),
		Tracker:      tracker,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("open write-ahead log in %s: %w", walDir, err)
	}
	// Erasure requests are in force before the first record is replayed: a forgotten person's
	// records are left out of the store and erased from the log once committed.
	requests := erasure.NewStore(filepath.Join(cfg.DataDir, "erasure"))
	forgotten, applied, err := requests.Load()
	if err != nil {
		wl.Close()
		return nil, nil, err
	}
	// The replayer decodes one record at a time, so one Flattener serves it.
	decoder := flatten.New()
	pipe, err := sink.New(st, wl, tracker, sink.Options{
		Decode:           decoder.Flatten,
		Reason:           server.Reason,
		MaxRows:          cfg.BatchMaxRows,
		MaxBytes:         int64(cfg.BatchMaxBytes),
		FlushInterval:    cfg.FlushInterval,
		MaxBufferedBytes: int64(cfg.MaxBufferedBytes),
		// The server takes a generation's tables at once, on a connection each (storeOptions
		// keeps 8, one per table).
		InsertConcurrency: 8,
		Health:            health,
		OnFlush:           onFlush,
		Logger:            log,
	})
	if err != nil {
		wl.Close()
		return nil, nil, err
	}
	if err := pipe.SetFilter(context.Background(), forgotten.Filter()); err != nil { // before Start: no wait
		wl.Close()
		return nil, nil, err
	}
	if err := requests.MarkApplied(applied); err != nil {
		log.Error("cannot record the erasure requests applied: a forget run now waits for the next one", "err", err)
	}
	if applied > 0 {
		log.Info("erasure requests in force", "requests", applied, "leads_and_phones", forgotten.Len())
	}
	// A forget run while this process serves records its request and waits until it is applied,
	// whether or not the store is up yet: before Start, SetFilter only installs the filter,
	// which every record batched later goes through.
	wctx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		requests.Watch(wctx, 250*time.Millisecond, applied, func(ctx context.Context, set *erasure.Set) error {
			return pipe.SetFilter(ctx, set.Filter())
		}, log)
	}()
	return pipe, func() { stopWatch(); <-watched; wl.Close() }, nil
}

// logConnect tells the operator how analysts reach the embedded engine.
func logConnect(log *slog.Logger, cfg config, sup *engine.Supervisor) {
	if cfg.AnalystPassword == "" {
		log.Info("no analyst user: set LEADHOUSE_ANALYST_PASSWORD to let BI tools read the warehouse", "http", sup.HTTPAddr(), "native", sup.TCPAddr())
		return
	}
	log.Info("analysts connect as the read-only analyst user, who reads the masked views (masked_*)", "user", engine.AnalystUser, "http", "http://"+sup.HTTPAddr(), "native", sup.TCPAddr(), "database", cfg.ClickHouseDatabase)
	if cfg.PIIAnalystPassword != "" {
		log.Info("analysts allowed personal data connect as the pii_analyst user", "user", engine.PIIAnalystUser)
	}
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
