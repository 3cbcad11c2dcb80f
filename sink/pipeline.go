package sink

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// Forgotten counts the acknowledged records the Filter left out of the store, and
	// ErasedRecords those of them erased from the write-ahead log once committed.
	Forgotten     int64
	ErasedRecords int64
	// UnreadableBodies counts raw bodies that could not be read back from the write-ahead log
	// when their batch was written (a damaged disk); their rows were stored without them.
	UnreadableBodies int64
	// RejectedCallbacks counts records the store refused (ErrRejected) and that were kept as
	// dead letters instead.
	RejectedCallbacks int64
	WALBacklogBytes   int64 // write-ahead log bytes not yet committed
	Committed         wal.Position
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
	// noted maps the records of the previous process's batch notes (wal.Log.NotedBatches) to
	// the generations that write them again exactly as they were, so that the store drops what
	// it already has; rebuilding lists those generations until they are flushed, ready those
	// the flusher is to take before the filling one. Only the replayer fills them.
	noted         map[wal.Position]*notedGen
	rebuilding    []*notedGen
	ready         []*generation
	memFreed      chan struct{} // closed and replaced whenever a generation's memory is released
	rowsFlushed   [numTables]int64
	stats         Stats // counters only; the rest is computed by Stats
	storeErr      error // last store failure, nil once no table's insert is failing
	storeErrSince time.Time
	failing       [numTables]bool // tables whose last insert failed
	// wholeRejections counts, per table, the batches in a row the store rejected entirely;
	// halted is the rejection that stopped the looking for rejected callbacks (flush.go).
	wholeRejections [numTables]int
	halted          [numTables]error
	backlogFull     bool // the last append was refused with wal.ErrFull
	// filter selects the records to leave out (SetFilter); toErase are the positions of those
	// left out, erased from the log once a commit passes them.
	filter  Filter
	toErase []wal.Position
	// finishedSeq is the seq of the last filled generation stored: they finish in seq order.
	finishedSeq uint64
	// flushNow makes the flusher take the filling generation without waiting for a trigger.
	flushNow bool

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
	p.fill.seq = 1
	p.noteBatches(log.NotedBatches())
	return p, nil
}

// notedGen is a generation of the previous process being rebuilt from its batch note.
type notedGen struct {
	g         *generation
	want, got int
	// stored: the whole batch is in the store, so its records are only completed, not
	// written again.
	stored bool
}

// noteBatches prepares a generation for each batch note, of the records the commit has not
// passed. A record in several notes (a dead letter made, in the next generation, of a record of a
// rejected batch) belongs to the first: the later note is not rebuilt, its records are batched
// afresh.
func (p *Pipeline) noteBatches(notes []wal.NotedBatch) {
	p.noted = map[wal.Position]*notedGen{}
	committed := p.log.Committed()
	for _, nb := range notes {
		var ms []wal.Position
		for _, m := range nb.Members {
			if m.Compare(committed) > 0 {
				ms = append(ms, m)
			}
		}
		if len(ms) == 0 || slices.ContainsFunc(ms, func(m wal.Position) bool { return p.noted[m] != nil }) {
			continue
		}
		ng := &notedGen{g: newGeneration(p.pool, &p.hints), want: len(ms), stored: nb.Stored}
		ng.g.note, ng.g.noted = nb.ID, !nb.Stored
		for _, m := range ms {
			p.noted[m] = ng
		}
		p.rebuilding = append(p.rebuilding, ng)
	}
}

// readyLocked hands a rebuilt generation to the flusher.
func (p *Pipeline) readyLocked(ng *notedGen) {
	p.rebuilding = slices.DeleteFunc(p.rebuilding, func(x *notedGen) bool { return x == ng })
	p.ready = append(p.ready, ng.g)
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// endRebuildsLocked hands on the generations whose notes named records the log no longer gave
// back (a damaged stretch): what they have is written, under tokens of its own.
func (p *Pipeline) endRebuildsLocked() {
	for _, ng := range slices.Clone(p.rebuilding) {
		if ng.got > 0 {
			p.readyLocked(ng)
		}
	}
	p.rebuilding, p.noted = nil, nil
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
	switch {
	case p.filter != nil && p.filter(in.Body, dec.Rows):
		p.forgetLocked(pos)
	case dec.Rows != nil:
		p.fill.addRows(pos, h, dec.Rows, in.Body, time.Now())
	default:
		reason := dec.Reason
		if reason == "" {
			reason = ReasonInvalid
		}
		p.addDeadLetterLocked(p.fill, pos, h, in.ReceivedAt, in.Remote, reason, dec.Err, in.Body)
	}
	p.addedLocked(pos)
	return Ack{Position: pos}, nil
}

// Filter selects records the pipeline must leave out of the store: those of people who asked to
// be forgotten. body is the record's body, or the raw bytes of a stretch of the log that is no
// valid record; rows is what the body became, nil when it became a dead letter. A Filter is
// called with the pipeline's lock held, from Submit and the replayer, so it must be quick and
// must not call the pipeline. It must not keep body or rows.
type Filter func(body []byte, rows *schema.Rows) bool

// SetFilter makes the pipeline leave out every record f selects from the next one it batches on
// (nil selects none). Such a record is acknowledged and committed like any other, but none of its
// rows, nor a dead letter of it, reaches the store, and once it is committed its body is erased
// from the write-ahead log (Log.Erase).
//
// SetFilter returns once every record batched before the call is stored, or ctx ends: whoever
// deletes a person's rows from the store after it returns knows that no row of theirs batched
// earlier can arrive later. Before Start it only installs f.
func (p *Pipeline) SetFilter(ctx context.Context, f Filter) error {
	p.mu.Lock()
	p.filter = f
	target := p.fill.seq
	if p.fill.records == 0 {
		target-- // the generation before it, which may still be flushing
	} else {
		p.flushNow = true
	}
	p.mu.Unlock()
	if !p.started.Load() {
		return nil
	}
	select {
	case p.kick <- struct{}{}:
	default:
	}
	for {
		p.mu.Lock()
		// The generations rebuilt from the previous process's batch notes (seq 0) were batched
		// before any call: they must be stored too.
		rebuilt := len(p.rebuilding) > 0 || len(p.ready) > 0 || (p.flushing != nil && p.flushing.seq == 0)
		done, freed := p.finishedSeq >= target && !rebuilt, p.memFreed
		p.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return fmt.Errorf("wait for the records batched before the filter to be stored: %w", ctx.Err())
		}
	}
}

// forgetLocked puts the record at pos in the filling generation without rows: its position
// commits with the generation, and its body is erased once it has.
func (p *Pipeline) forgetLocked(pos wal.Position) {
	p.fill.track(pos, time.Now())
	p.toErase = append(p.toErase, pos)
	p.stats.Forgotten++
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

// bufferedLocked is what the memory limit counts: the generation filling, the one being
// flushed and those rebuilt from batch notes waiting for it, raw bodies included (see
// generation.held). Generations still being rebuilt are not counted: the replayer must read on to
// complete them, whatever the memory, or wait for good. They are the few the previous process was
// writing when it stopped, each no larger than a generation.
func (p *Pipeline) bufferedLocked() int64 {
	n := p.fill.held()
	if p.flushing != nil {
		n += p.flushing.held()
	}
	for _, g := range p.ready {
		n += g.held()
	}
	return n
}

func (p *Pipeline) addDeadLetterLocked(g *generation, pos wal.Position, h uint64, at time.Time, remote, reason string, err error, body []byte) {
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
	g.addDeadLetter(pos, h, &d, time.Now())
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
	var halt error
	var haltTable string
	for i, err := range p.halted {
		if err != nil {
			halt, haltTable = err, tables[i].Name
			break
		}
	}
	p.mu.Unlock()
	switch {
	case !p.started.Load():
		if p.opts.Health != nil {
			if err := p.opts.Health(); err != nil {
				return fmt.Errorf("%w: %d bytes wait in the write-ahead log: %w", ErrDegraded, p.log.Size(), err)
			}
		}
		return errors.New("sink: pipeline not started")
	case full:
		return fmt.Errorf("%w: %d bytes wait in the write-ahead log", ErrBacklogFull, p.log.Size())
	case halt != nil:
		return fmt.Errorf("%w: writes to %s are held back: the store rejected every row of %d batches in a row, so the table, not the callbacks, is at fault; mend it and writes resume (%d bytes wait in the write-ahead log): %w",
			ErrDegraded, haltTable, p.opts.MaxRejectedBatches, p.log.Size(), halt)
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
