package sink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink/wal"
)

// Outcomes of Submit the HTTP handler branches on; all of them mean the callback was not
// acknowledged and the sender must retry.
var (
	// ErrBacklogFull: the write-ahead log holds as much as it may (the store has been down or
	// slow for a while).
	ErrBacklogFull = errors.New("sink: write-ahead log backlog is full")
	// ErrUnavailable: the callback could not be made durable (the write-ahead log failed).
	ErrUnavailable = errors.New("sink: cannot write the write-ahead log")
	// ErrClosed: the pipeline is shutting down.
	ErrClosed = errors.New("sink: pipeline is closed")
	// ErrDegraded is what Ready wraps when the store is refusing writes.
	ErrDegraded = errors.New("sink: store writes are failing")
)

// Input is one callback as the HTTP handler received it.
type Input struct {
	Body       []byte
	ReceivedAt time.Time
	Remote     string
}

// Decoded is what the handler made of an Input: its rows or, when Rows is nil, why it was refused.
type Decoded struct {
	Rows *schema.Rows
	// Reason names the refusal for the dead letter, e.g. "not_json"; default ReasonInvalid.
	Reason string
	Err    error
}

// Ack confirms that a callback is durable.
type Ack struct {
	// Position is where the callback lies in the write-ahead log.
	Position wal.Position
}

// Mode is how callbacks reach the batch.
type Mode uint8

const (
	// ModeLive: Submit adds each callback's rows to the batch itself.
	ModeLive Mode = iota
	// ModeSpill: memory is full or the pipeline is recovering, so Submit only writes the
	// write-ahead log and the replayer reads callbacks back from it into the batch.
	ModeSpill
)

func (m Mode) String() string {
	if m == ModeSpill {
		return "spill"
	}
	return "live"
}

// Stats is a snapshot of a Pipeline's counters.
type Stats struct {
	Mode          Mode
	BufferedRows  int64 // rows in memory, being filled or flushed
	BufferedBytes int64 // their Arrow buffers and the raw bodies they will read back from the log
	// RowsFlushed counts the rows written to the store, by table.
	RowsFlushed map[string]int64
	Flushes     int64 // batches (all tables of one generation) written
	StoreErrors int64 // store inserts that failed and were retried
	Submitted   int64 // callbacks acknowledged
	Spilled     int64 // acknowledged callbacks Submit left to the replayer
	// ReplayedRecords counts the records read back from the write-ahead log: after a restart,
	// and after spilling.
	ReplayedRecords int64
	DeadLetters     int64 // dead-letter rows batched, corrupt records included
	CorruptRecords  int64 // stretches of the write-ahead log that were not valid records
	// UnreadableBodies counts raw bodies that could not be read back from the write-ahead log
	// when their batch was written (a damaged disk); their rows were stored without them.
	UnreadableBodies int64
	WALBacklogBytes  int64 // write-ahead log bytes not yet committed
	Committed        wal.Position
}

// Pipeline takes callbacks from the HTTP handler and writes their rows to a Store, never losing
// an acknowledged callback and never storing one twice in a way the warehouse's views would
// count.
//
// Every callback is first appended to the write-ahead log; only then is it acknowledged. Its
// rows then reach the in-memory batch by exactly one of two ways: Submit adds them itself (live
// mode), or, when memory is full or at startup, the replayer reads the record back from the log
// (spill mode). A batch is written with retries, under a token derived from its records, until
// the store takes it; only then does the log's committed position move past its records, so a
// crash replays at most what was not yet known to be stored, and the store's deduplication and
// the ReplacingMergeTree tables absorb the repeats.
type Pipeline struct {
	opts    Options
	store   Store
	log     *wal.Log
	tracker *wal.Tracker
	// pool hands the Arrow buffers of flushed generations to the next ones, and hints size
	// their builders; hints is guarded by mu, like the filling generation that uses it.
	pool *bufferPool
	// bodies holds the raw bodies of the lead_updates chunk being written; only the flusher's
	// lead_updates insert uses it.
	bodies chunkBodies
	hints  [numTables]chunkHint

	// gate is held shared by every Submit from its log append until it has decided who adds the
	// record, and exclusively by the replayer while it switches to live mode and by Close. So no
	// append straddles a switch, which is what lets one position split the log between the
	// replayer and Submit.
	gate   sync.RWMutex
	closed atomic.Bool

	mu sync.Mutex
	// spilling is the mode. In spill mode records after spillFrom are the replayer's and the
	// others Submit's; in live mode records after liveFrom are Submit's and the others were read
	// by the replayer.
	spilling  bool
	spillFrom wal.Position
	liveFrom  wal.Position
	lastAdded wal.Position // highest position added to a generation
	// recovering is set until the replayer first catches up with the log, at recoveredTo.
	// Records written before this process started are unknown to the tracker until replayed,
	// and one the tracker's horizon had already passed when it was read (an append that gave up
	// is Done at once) is never tracked: so until every record up to recoveredTo is stored,
	// commits are also capped by replayedStored, the highest replayed position stored.
	recovering     bool
	recoveredTo    wal.Position
	replayedStored wal.Position
	fill           *generation
	flushing       *generation
	memFreed       chan struct{} // closed and replaced whenever a generation's memory is released
	rowsFlushed    [numTables]int64
	stats          Stats // counters only; the rest is computed by Stats
	storeErr       error // last store failure, nil once no table's insert is failing
	storeErrSince  time.Time
	failing        [numTables]bool // tables whose last insert failed
	backlogFull    bool            // the last append was refused with wal.ErrFull

	kick       chan struct{} // wakes the flusher
	spillStart chan struct{} // wakes the replayer
	wentLive   chan struct{} // signalled when the replayer catches up and leaves spill mode
	drain      chan struct{} // closed by Close: flush what is left and stop
	started    atomic.Bool
	cancel     context.CancelFunc
	stopReplay context.CancelFunc
	replayDone chan struct{}
	flushDone  chan struct{}
}

// New returns a Pipeline writing to store, with log as its write-ahead log. tracker must be
// the Tracker log was opened with (wal.Options.Tracker). The pipeline starts in spill mode from
// the log's committed position: Start replays whatever a previous process left uncommitted
// while new callbacks are accepted.
func New(store Store, log *wal.Log, tracker *wal.Tracker, opts Options) (*Pipeline, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if store == nil || log == nil || tracker == nil {
		return nil, errors.New("new pipeline: store, log and tracker are required")
	}
	committed := log.Committed()
	p := &Pipeline{
		pool:           newBufferPool(opts.MaxBytes),
		opts:           opts,
		store:          store,
		log:            log,
		tracker:        tracker,
		spilling:       true,
		spillFrom:      committed,
		liveFrom:       committed,
		lastAdded:      committed,
		recovering:     true,
		replayedStored: committed,

		memFreed:   make(chan struct{}),
		kick:       make(chan struct{}, 1),
		spillStart: make(chan struct{}, 1),
		wentLive:   make(chan struct{}, 1),
		drain:      make(chan struct{}),
		replayDone: make(chan struct{}),
		flushDone:  make(chan struct{}),
	}
	p.fill = newGeneration(p.pool, &p.hints)
	return p, nil
}

// Start starts the replayer and the flusher. They run until Close, or until ctx is cancelled,
// which abandons whatever is not yet stored (it stays in the write-ahead log): cancel ctx only
// after Close has given up.
func (p *Pipeline) Start(ctx context.Context) error {
	p.gate.Lock()
	defer p.gate.Unlock()
	if p.closed.Load() {
		return ErrClosed
	}
	if p.started.Swap(true) {
		return errors.New("start pipeline: already started")
	}
	ctx, p.cancel = context.WithCancel(ctx)
	rctx, stopReplay := context.WithCancel(ctx)
	p.stopReplay = stopReplay
	p.opts.Logger.Info("replaying write-ahead log", "from", p.log.Committed().String(), "backlog_bytes", p.log.Size())
	go p.replayLoop(rctx)
	go p.flushLoop(ctx)
	return nil
}

// Submit makes a callback durable in the write-ahead log and batches its rows (or, when dec
// refuses it, a dead letter keeping its body). When Submit returns nil the callback is
// acknowledged: it will reach the store even if the process crashes. Submit stamps dec.Rows
// with the callback's arrival order (its log position) and keeps no reference to in.Body or
// dec.Rows after it returns. Errors match ErrBacklogFull, ErrUnavailable or
// ErrClosed, or are ctx's.
func (p *Pipeline) Submit(ctx context.Context, in Input, dec Decoded) (Ack, error) {
	p.gate.RLock()
	defer p.gate.RUnlock()
	if p.closed.Load() {
		return Ack{}, ErrClosed
	}
	if in.ReceivedAt.IsZero() {
		// The log would stamp the record itself; the batch must carry the same time.
		in.ReceivedAt = time.Now()
	}
	pos, err := p.log.Append(ctx, wal.Record{ReceivedAt: in.ReceivedAt, Remote: in.Remote, Body: in.Body})
	if err != nil {
		return Ack{}, p.appendFailed(err)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Submitted++
	p.backlogFull = false
	if !p.spilling && p.bufferedLocked() >= p.opts.MaxBufferedBytes {
		p.startSpillLocked()
	}
	var mine bool
	if p.spilling {
		mine = pos.Compare(p.spillFrom) <= 0
	} else {
		mine = pos.Compare(p.liveFrom) > 0
	}
	if !mine {
		p.stats.Spilled++
		return Ack{Position: pos}, nil
	}
	h := recordHash(pos, in.Body)
	if dec.Rows != nil {
		p.fill.addRows(pos, h, dec.Rows, in.Body, time.Now())
	} else {
		reason := dec.Reason
		if reason == "" {
			reason = ReasonInvalid
		}
		p.addDeadLetterLocked(pos, h, in.ReceivedAt, in.Remote, reason, dec.Err, in.Body)
	}
	p.addedLocked(pos)
	return Ack{Position: pos}, nil
}

func (p *Pipeline) appendFailed(err error) error {
	switch {
	case errors.Is(err, wal.ErrFull):
		p.mu.Lock()
		p.backlogFull = true
		p.mu.Unlock()
		return fmt.Errorf("%w: %w", ErrBacklogFull, err)
	case errors.Is(err, wal.ErrClosed):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, wal.ErrTooLarge):
		return fmt.Errorf("append to write-ahead log: %w", err)
	}
	p.opts.Logger.Error("cannot append callback to the write-ahead log", "err", err)
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// startSpillLocked switches to spill mode. Every record up to the highest one added is Submit's:
// those not added yet belong to Submits still on their way to the lock, which add them despite
// the memory limit (by at most one record each). Every later record is the replayer's.
func (p *Pipeline) startSpillLocked() {
	p.spilling = true
	p.spillFrom = p.lastAdded
	if p.liveFrom.Compare(p.spillFrom) > 0 {
		p.spillFrom = p.liveFrom
	}
	p.opts.Logger.Info("memory limit reached: batching callbacks from the write-ahead log",
		"buffered_bytes", p.bufferedLocked(), "limit_bytes", p.opts.MaxBufferedBytes, "from", p.spillFrom.String())
	select {
	case p.spillStart <- struct{}{}:
	default:
	}
}

// bufferedLocked is what the memory limit counts: the generation filling and the one being
// flushed, raw bodies included (see generation.held).
func (p *Pipeline) bufferedLocked() int64 {
	n := p.fill.held()
	if p.flushing != nil {
		n += p.flushing.held()
	}
	return n
}

func (p *Pipeline) addDeadLetterLocked(pos wal.Position, h uint64, at time.Time, remote, reason string, err error, body []byte) {
	d := schema.DeadLetter{
		ReceivedAt: schema.MillisOf(at),
		RemoteAddr: remote,
		Reason:     reason,
		BodySize:   uint32(len(body)),
		Arrival:    pos.Uint64(),
		// The builder copies the string, so it may alias body for the call.
		Body: unsafe.String(unsafe.SliceData(body), len(body)),
	}
	if err != nil {
		d.Error = err.Error()
	}
	p.fill.addDeadLetter(pos, h, &d, time.Now())
	p.stats.DeadLetters++
}

// addedLocked finishes adding the record at pos to the filling generation.
func (p *Pipeline) addedLocked(pos wal.Position) {
	if pos.Compare(p.lastAdded) > 0 {
		p.lastAdded = pos
	}
	if p.fill.records == 1 || p.fill.full(&p.opts) {
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
}

// Close stops accepting callbacks (Submit returns ErrClosed), lets the replayer read back what
// was spilled to the write-ahead log, writes everything batched to the store, retrying until ctx
// ends, commits it in the log and stops the pipeline's goroutines. A clean stop with the store up
// therefore leaves nothing behind. If ctx ends first, what is not stored stays in the log for the
// next Start, and Close returns ctx's error. Close does not close the store or the log.
func (p *Pipeline) Close(ctx context.Context) error {
	p.gate.Lock()
	already := p.closed.Swap(true)
	started := p.started.Load()
	p.gate.Unlock()
	if !started {
		return nil
	}
	if !already {
		p.waitCaughtUp(ctx)
		p.stopReplay()
		<-p.replayDone
		close(p.drain)
	}
	select {
	case <-p.flushDone:
	case <-ctx.Done():
		p.cancel()
		<-p.flushDone
		return fmt.Errorf("close pipeline: %w: unstored callbacks stay in the write-ahead log", ctx.Err())
	}
	p.cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.fill.records; n > 0 || p.flushing != nil {
		return fmt.Errorf("close pipeline: stopped before storing everything: unstored callbacks stay in the write-ahead log")
	}
	return nil
}

// waitCaughtUp waits, until ctx ends, for the replayer to have read every spilled record back.
// No Submit can append any more, so once it is live nothing is left in the log unbatched.
func (p *Pipeline) waitCaughtUp(ctx context.Context) {
	for {
		p.mu.Lock()
		spilling := p.spilling
		p.mu.Unlock()
		if !spilling {
			return
		}
		select {
		case <-p.wentLive:
		case <-ctx.Done():
			return
		}
	}
}

// Ready reports nil when the pipeline accepts callbacks and its last store write succeeded;
// otherwise why not, matching ErrClosed, ErrBacklogFull or ErrDegraded.
func (p *Pipeline) Ready() error {
	if p.closed.Load() {
		return ErrClosed
	}
	p.mu.Lock()
	full, serr, since := p.backlogFull, p.storeErr, p.storeErrSince
	p.mu.Unlock()
	switch {
	case !p.started.Load():
		return errors.New("sink: pipeline not started")
	case full:
		return fmt.Errorf("%w: %d bytes wait in the write-ahead log", ErrBacklogFull, p.log.Size())
	case p.opts.Health != nil:
		if err := p.opts.Health(); err != nil {
			return fmt.Errorf("%w: %d bytes wait in the write-ahead log: %w", ErrDegraded, p.log.Size(), err)
		}
	}
	if serr != nil {
		return fmt.Errorf("%w since %s: %d bytes wait in the write-ahead log: %w",
			ErrDegraded, since.UTC().Format(time.RFC3339), p.log.Size(), serr)
	}
	return nil
}

// Stats returns a snapshot of the pipeline's counters.
func (p *Pipeline) Stats() Stats {
	p.mu.Lock()
	st := p.stats
	if p.spilling {
		st.Mode = ModeSpill
	}
	st.BufferedRows = int64(p.fill.rows)
	if p.flushing != nil {
		st.BufferedRows += int64(p.flushing.rows)
	}
	st.BufferedBytes = p.bufferedLocked()
	st.RowsFlushed = make(map[string]int64, numTables)
	for i, n := range p.rowsFlushed {
		st.RowsFlushed[tables[i].Name] = n
	}
	p.mu.Unlock()
	st.WALBacklogBytes = p.log.Size()
	st.Committed = p.log.Committed()
	return st
}
