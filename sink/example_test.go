package sink_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
	"github.com/leadhouse/leadhouse/sink/wal"
)

// A pipeline needs a store, a write-ahead log opened with a Tracker, and the same decoding the
// HTTP handler uses, to read spilled and replayed callbacks back.
func Example() {
	ctx := context.Background()
	tracker := &wal.Tracker{}
	log, err := wal.Open(wal.Options{Dir: "data/wal", Tracker: tracker})
	if err != nil {
		panic(err)
	}
	defer log.Close() // after the pipeline's Close
	store, err := clickhouse.New(clickhouse.Options{Addr: []string{"localhost:8123"}, Database: "leadhouse"})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	p, err := sink.New(store, log, tracker, sink.Options{
		Decode: flatten.New().Flatten,
		Logger: slog.Default(),
	})
	if err != nil {
		panic(err)
	}
	if err := p.Start(ctx); err != nil { // replays what a previous run left uncommitted
		panic(err)
	}

	// In the HTTP handler:
	body := []byte(`{"lead_id": 1402361, "action": "lead_update"}`)
	now := time.Now()
	var rows schema.Rows
	dec := sink.Decoded{Rows: &rows}
	if err := flatten.New().Flatten(body, now, &rows); err != nil {
		dec = sink.Decoded{Reason: "not_json", Err: err}
	}
	if _, err := p.Submit(ctx, sink.Input{Body: body, ReceivedAt: now, Remote: "192.0.2.1:443"}, dec); err != nil {
		// ErrBacklogFull, ErrUnavailable, ErrClosed: answer 503, the CRM retries.
		return
	}

	// On shutdown, after the HTTP server stopped:
	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Close(closeCtx); err != nil {
		slog.Warn("callbacks left in the write-ahead log for the next start", "err", err)
	}
}
