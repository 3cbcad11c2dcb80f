package sink

import (
	"errors"
	"log/slog"
	"time"

	"github.com/leadhouse/leadhouse/schema"
)

// Options configure a Pipeline. Zero fields take the defaults in their comments.
type Options struct {
	// Decode turns a body read back from the write-ahead log into rows, exactly as the HTTP
	// handler did when it received it (cmd wires flatten's Flattener in; sink does not import
	// flatten). It is called from one goroutine at a time. Required.
	Decode func(body []byte, receivedAt time.Time, rows *schema.Rows) error
	// Reason names why Decode refused a body, for the dead letter's reason column, the same way
	// the handler names it (e.g. "not_json"). Default: "invalid" for every error.
	Reason func(err error) string

	// MaxRows flushes the buffered rows when any one table holds this many; default 50,000.
	MaxRows int
	// MaxBytes flushes the buffered rows when their data reaches this size: their Arrow buffers
	// plus the raw bodies left in the write-ahead log, which the inserts carry; default 16 MiB.
	MaxBytes int64
	// FlushInterval is the longest a row waits in memory before it is flushed; default 1s.
	FlushInterval time.Duration
	// MaxBufferedBytes bounds the memory of the rows being filled plus those being flushed, with
	// their raw bodies (kept in the write-ahead log, but held by the inserts that write them);
	// default 64 MiB. Past it callbacks are only written to the write-ahead log and read back
	// from it once memory frees up, so a slow store costs disk, not memory.
	MaxBufferedBytes int64

	// InsertConcurrency is how many tables of a generation are written at once, each its own
	// INSERT; default 1. A ClickHouse server takes concurrent INSERTs on separate connections, so
	// writing the tables together spares a flush all but one of its round trips; the embedded
	// engine runs one statement at a time, so more gains nothing there.
	InsertConcurrency int

	// MaxRejectedBatches is how many batches of a table in a row the store may reject entirely
	// (ErrRejected for every callback in it) before the pipeline stops turning rejected
	// callbacks into dead letters and holds the table's writes back instead: so many at once is
	// the table's fault (a column altered under leadhouse), and dead-lettering the whole stream
	// would hide it. Default 3; negative: never hold back.
	MaxRejectedBatches int

	// RetryMin and RetryMax bound the exponential backoff, with full jitter, between attempts to
	// write a batch the store refused; defaults 100ms and 30s.
	RetryMin time.Duration
	RetryMax time.Duration

	// ProgressEvery logs replay progress after this many records or ProgressInterval, whichever
	// comes first; defaults 100,000 and 10s.
	ProgressEvery    int
	ProgressInterval time.Duration

	// Health, when set, reports a problem of the store known outside the pipeline's own writes,
	// such as the engine process being down or the migrations not having run yet: Ready reports
	// it as degraded, though no write has failed yet.
	Health func() error

	// OnFlush, when set, is called after every attempt to write a table's batch, with the rows in
	// it, how long the attempt took and its error. It feeds the flush metrics. With
	// InsertConcurrency above 1 it is called from several goroutines at once.
	OnFlush func(table string, rows int, d time.Duration, err error)
	// Logger receives store failures, recoveries and replay progress. Default: discard.
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.Decode == nil {
		return errors.New("sink options: Decode is required")
	}
	if o.Reason == nil {
		o.Reason = func(error) string { return "invalid" }
	}
	if o.MaxRows == 0 {
		o.MaxRows = 50_000
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 16 << 20
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = time.Second
	}
	if o.MaxBufferedBytes == 0 {
		o.MaxBufferedBytes = 64 << 20
	}
	if o.MaxRejectedBatches == 0 {
		o.MaxRejectedBatches = 3
	}
	if o.InsertConcurrency == 0 {
		o.InsertConcurrency = 1
	}
	if o.RetryMin == 0 {
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax == 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.ProgressEvery == 0 {
		o.ProgressEvery = 100_000
	}
	if o.ProgressInterval == 0 {
		o.ProgressInterval = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.MaxRows < 0, o.MaxBytes < 0, o.FlushInterval < 0, o.MaxBufferedBytes < 0, o.InsertConcurrency < 0,
		o.RetryMin < 0, o.RetryMax < 0, o.ProgressEvery < 0, o.ProgressInterval < 0:
		return errors.New("sink options: negative option")
	case o.RetryMax < o.RetryMin:
		return errors.New("sink options: RetryMax is below RetryMin")
	case o.MaxBytes > o.MaxBufferedBytes/2:
		// One batch flushing and one filling must fit in memory together.
		return errors.New("sink options: MaxBytes is over half of MaxBufferedBytes")
	}
	return nil
}
