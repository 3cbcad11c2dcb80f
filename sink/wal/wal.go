// Package wal is the write-ahead log that makes a lead callback durable before the HTTP handler acknowledges it.
package wal

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrFull is returned by Append when the record would take the backlog (Size) past
	// Options.MaxBytes; the handler answers 503 and the CRM retries later.
	ErrFull = errors.New("wal: backlog full")
	// ErrTooLarge is returned by Append for a record over Options.MaxRecordBytes.
	ErrTooLarge = errors.New("wal: record too large")
	// ErrClosed is returned by every method of a closed Log.
	ErrClosed = errors.New("wal: closed")
	// errInUse is lockDir's error when another Log, or a Scrub, holds the directory.
	errInUse = errors.New("in use by another log")
)

// SyncMode says when an appended record reaches stable storage relative to Append returning.
type SyncMode int

const (
	// SyncAlways fsyncs a record before Append returns: an acknowledged record survives a process
	// crash, a kernel crash and a power loss. Concurrent appends share one fsync, so the cost is
	// latency (one fsync) rather than throughput.
	SyncAlways SyncMode = iota
	// SyncInterval returns from Append after write(2) and fsyncs at most every SyncInterval. A
	// process crash loses nothing (the bytes are in the page cache); a kernel crash or power loss
	// loses the records acknowledged during the last SyncInterval, plus however long the fsync
	// that would have covered them takes.
	SyncInterval
)

func (m SyncMode) String() string {
	switch m {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// UnmarshalText parses "always" or "interval", so a SyncMode can be read from configuration.
func (m *SyncMode) UnmarshalText(b []byte) error {
	switch string(b) {
	case "always":
		*m = SyncAlways
	case "interval":
		*m = SyncInterval
	default:
		return fmt.Errorf("wal: unknown sync mode %q (want always or interval)", b)
	}
	return nil
}

// Options configures a Log. Zero fields take the defaults in their comments.
type Options struct {
	// Dir holds the segments, the commit marker and a lock file; it is created if missing. Required.
	Dir string
	// SegmentBytes is the size a segment may reach before appends move to the next one; default
	// 64 MiB, at most 2 GiB (so that Position.Uint64 keeps its order). A record bigger than that
	// gets a segment of its own.
	SegmentBytes int64
	// Sync is the durability mode; default SyncAlways.
	Sync SyncMode
	// SyncInterval is the longest time between fsyncs under SyncInterval; default 100ms.
	SyncInterval time.Duration
	// MaxBytes caps the backlog (Size): Append returns ErrFull rather than go past it; default 4 GiB.
	MaxBytes int64
	// MaxRecordBytes caps the body plus the remote address of one record; default 8 MiB, at most 1 GiB.
	MaxRecordBytes int
	// Tracker, when set, has every appended position Added before its Append returns, in position
	// order, so no later record can be committed past an earlier one still on its way into the
	// pipeline. If Append gives up on a record because its context ended while the record was in
	// flight, the log marks it Done itself: it was never acknowledged, the client retries it.
	Tracker *Tracker
}

func (o *Options) setDefaults() error {
	if o.Dir == "" {
		return errors.New("wal: Options.Dir is required")
	}
	if o.SegmentBytes == 0 {
		o.SegmentBytes = 64 << 20
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = 100 * time.Millisecond
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 4 << 30
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = 8 << 20
	}
	switch {
	case o.SegmentBytes < 0, o.SyncInterval < 0, o.MaxBytes < 0, o.MaxRecordBytes < 0:
		return errors.New("wal: negative option")
	case o.SegmentBytes > maxSegmentBytes:
		return fmt.Errorf("wal: SegmentBytes %d is over the limit of 2 GiB", o.SegmentBytes)
	case o.MaxRecordBytes > maxFramePayload-payloadFixed:
		return fmt.Errorf("wal: MaxRecordBytes %d is over the format limit of 1 GiB", o.MaxRecordBytes)
	case o.Sync != SyncAlways && o.Sync != SyncInterval:
		return fmt.Errorf("wal: unknown sync mode %d", o.Sync)
	}
	return nil
}

// Record is one received callback. Append reads ReceivedAt, Remote and Body; Replay fills Pos
// and either the three of them or, for a stretch that is not a valid record, Corrupt, or, for a
// record that was erased, Erased.
type Record struct {
	Pos Position
	// ReceivedAt is when the handler received the callback, kept to the nanosecond, read back in
	// UTC. Append uses the current time when it is zero.
	ReceivedAt time.Time
	// Remote is the client's address.
	Remote string
	// Body is the request body. In Replay it is only valid until fn returns.
	Body []byte
	// Corrupt, when set, means Pos starts a stretch that could not be read as a record; the
	// other fields are empty.
	Corrupt *CorruptionError
	// Erased means the record at Pos was erased (Log.Erase, Scrub): it holds nothing, and the
	// other fields are empty.
	Erased bool
}

// Stats are the log's counters since Open, for metrics.
type Stats struct {
	Records        int64 // records acknowledged by Append
	Bytes          int64 // bytes of those records on disk, framing included
	Batches        int64 // group commits: writes of one or more records
	Fsyncs         int64 // fsyncs of segment files
	WriteErrors    int64 // failed writes, fsyncs and segment creations
	Segments       int   // segment files the log holds
	TruncatedBytes int64 // bytes of torn or corrupt tail removed by Open
}

// Log is a write-ahead log of callbacks in numbered segment files (000000000001.wal, ...).
//
// Invariants: a record is never split across segments; segment numbers only grow; a record's
// Position is where its frame starts; everything Append acknowledged lies before the end Replay
// reads to; a segment is deleted only after a durable commit marker lies past all of it.
//
// One writer goroutine does all writing. Appenders copy their frame into a shared buffer under a
// mutex and wait; the writer takes the whole buffer, writes it with one write and, under
// SyncAlways, one fsync, then wakes every waiter of that batch (group commit).
type Log struct {
	opts   Options
	hooks  hooks
	unlock func() error

	mu       sync.Mutex
	closing  bool
	tailSeg  uint64 // where the next appended record goes
	tailOff  int64
	pending  []chunk // frames appended since the writer last took them
	spare    []chunk // the other half of the double buffer; nil while the writer holds it
	cur      *waiter // the batch pending records wait on
	reserved int64   // bytes appended but not yet acknowledged
	acked    int64   // acknowledged bytes after commitEnd
	segs     []segInfo
	commit   Position // committed position: it and everything before it is stored
	// commitEnd is where the record after commit starts, for Size.
	commitEnd Position

	commitMu sync.Mutex // serialises Commit

	notesMu sync.Mutex // guards notes (batches.go)
	notes   notes

	wake chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup

	// Writer goroutine state.
	f        segmentFile // active segment, nil between a failure or Open and the next roll
	fseg     uint64
	foff     int64
	dirty    bool   // written since the last fsync
	wnext    uint64 // number of the next segment to create
	closeErr error

	records, bytes, batches, fsyncs, writeErrors atomic.Int64
	truncated                                    int64
}

type segInfo struct {
	n    uint64
	size int64 // acknowledged bytes: readers never look past them
}

// chunk holds consecutive frames bound for one segment.
type chunk struct {
	seg uint64
	buf []byte
}

// waiter is one batch's completion, shared by every Append in it.
type waiter struct {
	done     chan struct{}
	err      error
	records  int
	bytes    int64
	finished bool       // guarded by Log.mu; set before done closes
	pos      []Position // only with a Tracker
	gaveUp   []Position // appenders whose context ended first; only with a Tracker
}

func newWaiter() *waiter { return &waiter{done: make(chan struct{})} }

// Open opens the log in opts.Dir, creating it if needed. It truncates a torn or corrupt tail of
// the last segment (never parsing it as data), reads back the committed position, deletes
// segments a crash left behind a commit, and starts the writer goroutine that Close stops.
// A directory is opened by one Log at a time.
func Open(opts Options) (*Log, error) { return open(opts, hooks{}) }

func open(opts Options, h hooks) (*Log, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	h.setDefaults()
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create wal directory: %w", err)
	}
	// A directory created just now could vanish in a power loss together with every record in it.
	if err := syncDir(filepath.Dir(filepath.Clean(opts.Dir))); err != nil {
		return nil, fmt.Errorf("sync parent of wal directory: %w", err)
	}
	unlock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	l := &Log{
		opts:   opts,
		hooks:  h,
		unlock: unlock,
		cur:    newWaiter(),
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
	}
	if err := l.recover(); err != nil {
		if l.f != nil {
			l.f.Close()
		}
		unlock()
		return nil, fmt.Errorf("open wal %s: %w", opts.Dir, err)
	}
	l.wg.Add(1)
	go l.run()
	return l, nil
}

// Append writes rec to the log and returns its position once it is durable per Options.Sync.
// It fails with ErrFull when the backlog would pass Options.MaxBytes, ErrTooLarge, ErrClosed,
// ctx's error, or the write, fsync or segment-creation error wrapped. A failed Append
// acknowledged nothing, yet its record may still be in the log and be replayed (always when only
// ctx ended while it was in flight; after a disk error, when its batch spanned two segments): the
// store's deduplication absorbs that and the client's retry.
func (l *Log) Append(ctx context.Context, rec Record) (Position, error) {
	if err := ctx.Err(); err != nil {
		return Position{}, err
	}
	if len(rec.Remote) > math.MaxUint16 || len(rec.Body)+len(rec.Remote) > l.opts.MaxRecordBytes {
		return Position{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(rec.Body)+len(rec.Remote), l.opts.MaxRecordBytes)
	}
	ts := rec.ReceivedAt
	if ts.IsZero() {
		ts = time.Now()
	}
	n := frameSize(len(rec.Remote), len(rec.Body))

	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return Position{}, ErrClosed
	}
	if l.acked+l.reserved+n > l.opts.MaxBytes {
		l.mu.Unlock()
		return Position{}, ErrFull
	}
	if l.tailOff > 0 && l.tailOff+n > l.opts.SegmentBytes {
		l.tailSeg, l.tailOff = l.tailSeg+1, 0
	}
	pos := Position{Segment: l.tailSeg, Offset: l.tailOff}
	l.tailOff += n
	l.reserved += n
	c := l.chunkLocked(l.tailSeg)
	c.buf = appendFrame(c.buf, ts.UnixNano(), rec.Remote, rec.Body)
	w := l.cur
	w.records++
	w.bytes += n
	if l.opts.Tracker != nil {
		w.pos = append(w.pos, pos)
	}
	l.mu.Unlock()

	select {
	case l.wake <- struct{}{}:
	default:
	}
	if l.hooks.enqueued != nil {
		l.hooks.enqueued()
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		l.mu.Lock()
		if !w.finished {
			if l.opts.Tracker != nil {
				w.gaveUp = append(w.gaveUp, pos)
			}
			l.mu.Unlock()
			return Position{}, ctx.Err()
		}
		l.mu.Unlock()
		<-w.done
	}
	if w.err != nil {
		return Position{}, w.err
	}
	return pos, nil
}

func (l *Log) chunkLocked(seg uint64) *chunk {
	n := len(l.pending)
	if n > 0 && l.pending[n-1].seg == seg {
		return &l.pending[n-1]
	}
	if n < cap(l.pending) {
		l.pending = l.pending[:n+1]
		c := &l.pending[n]
		c.seg, c.buf = seg, c.buf[:0]
		return c
	}
	l.pending = append(l.pending, chunk{seg: seg})
	return &l.pending[n]
}

// Size is the bytes of records after the committed position, including those being appended:
// the backlog Options.MaxBytes caps.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked + l.reserved
}

// Committed is the position last passed to a successful Commit, or read back by Open.
func (l *Log) Committed() Position {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.commit
}

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	segs := len(l.segs)
	l.mu.Unlock()
	return Stats{
		Records:        l.records.Load(),
		Bytes:          l.bytes.Load(),
		Batches:        l.batches.Load(),
		Fsyncs:         l.fsyncs.Load(),
		WriteErrors:    l.writeErrors.Load(),
		Segments:       segs,
		TruncatedBytes: l.truncated,
	}
}

// Close writes and fsyncs what is pending, stops the writer goroutine and releases the directory.
// Appends racing with Close either complete or return ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return nil
	}
	l.closing = true
	l.mu.Unlock()
	close(l.stop)
	l.wg.Wait()
	l.commitMu.Lock() // let a Commit in progress finish before another process may take the directory
	defer l.commitMu.Unlock()
	l.closeNotes()
	return errors.Join(l.closeErr, l.unlock())
}

// run is the writer goroutine.
func (l *Log) run() {
	defer l.wg.Done()
	var tick <-chan time.Time
	if l.opts.Sync == SyncInterval {
		t := time.NewTicker(l.opts.SyncInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-l.wake:
			for l.flush() {
			}
		case <-tick:
			if l.f != nil && l.dirty {
				if err := l.syncActive(); err != nil {
					l.closeBroken()
					l.mu.Lock()
					l.failQueuedLocked(err)
					l.mu.Unlock()
				}
			}
		case <-l.stop:
			for l.flush() {
			}
			if l.f != nil {
				if l.dirty {
					l.closeErr = l.syncActive()
				}
				if err := l.f.Close(); err != nil {
					l.closeErr = errors.Join(l.closeErr, fmt.Errorf("close segment %d: %w", l.fseg, err))
				}
				l.f = nil
			}
			return
		}
	}
}

// flush writes one batch, if any is pending, and wakes its waiters. It reports whether there was one.
func (l *Log) flush() bool {
	l.mu.Lock()
	if len(l.pending) == 0 {
		l.mu.Unlock()
		return false
	}
	chunks, w := l.pending, l.cur
	l.pending, l.spare = l.spare[:0], nil
	l.cur = newWaiter()
	l.mu.Unlock()

	err := l.write(chunks)
	// The batch's positions go to the tracker before growLocked makes them readable: a replayer
	// that read one first would Add it itself, and the late Add after its Done would leave an
	// entry nobody completes, stopping every later commit.
	t := l.opts.Tracker
	if err == nil && t != nil {
		t.addAll(w.pos)
	}

	l.mu.Lock()
	l.reserved -= w.bytes
	w.err = err
	w.finished = true // no appender gives up after this
	if err == nil {
		// Records whose appender gave up are Done before they become readable too: a replayer
		// must not find one still pending (see Tracker.Add).
		if t != nil {
			for _, p := range w.gaveUp {
				t.Done(p)
			}
		}
		for _, c := range chunks {
			l.growLocked(c.seg, int64(len(c.buf)))
		}
		l.acked += w.bytes
	} else {
		l.failQueuedLocked(err)
	}
	l.spare = chunks[:0]
	l.mu.Unlock()

	l.batches.Add(1)
	if err == nil {
		l.records.Add(int64(w.records))
		l.bytes.Add(w.bytes)
	}
	close(w.done)
	return true
}

func (l *Log) growLocked(seg uint64, n int64) {
	for i := len(l.segs) - 1; i >= 0; i-- {
		if l.segs[i].n == seg {
			l.segs[i].size += n
			return
		}
	}
	panic(fmt.Sprintf("wal: wrote to segment %d the log does not list", seg))
}

// failQueuedLocked handles a write failure for what is still pending: those records were given
// positions that assumed the failed bytes, so they fail too, and the tail moves back to where the
// writer really is.
func (l *Log) failQueuedLocked(err error) {
	l.writeErrors.Add(1)
	if q := l.cur; q.records > 0 {
		q.err = fmt.Errorf("earlier write failed: %w", err)
		q.finished = true
		l.reserved -= q.bytes
		l.cur = newWaiter()
		l.pending = l.pending[:0]
		close(q.done)
	}
	if l.f != nil {
		l.tailSeg, l.tailOff = l.fseg, l.foff
	} else {
		l.tailSeg, l.tailOff = l.wnext, 0
	}
}

// write puts a batch on disk: each chunk into its segment, rolling as needed, then, under
// SyncAlways, one fsync. On failure the active segment is cut back to where this batch began in
// it, or closed as broken when that cannot be done, so it holds nothing unacknowledged.
func (l *Log) write(chunks []chunk) error {
	var start int64
	for i := range chunks {
		c := &chunks[i]
		if l.f == nil || c.seg != l.fseg {
			if err := l.roll(c.seg); err != nil {
				return err
			}
		}
		start = l.foff
		n, err := l.f.Write(c.buf)
		l.foff += int64(n)
		l.dirty = true
		if err != nil {
			err = fmt.Errorf("write segment %d: %w", l.fseg, err)
			l.cutBack(start)
			return err
		}
	}
	if l.opts.Sync == SyncAlways {
		if err := l.syncActive(); err != nil {
			// After a failed fsync the kernel may have dropped the dirty pages, so what the file
			// holds is unknown: cut the batch off and take no more appends in this segment.
			l.cutBack(start)
			l.closeBroken()
			return err
		}
	}
	return nil
}

// cutBack truncates the active segment to off, or closes it as broken.
func (l *Log) cutBack(off int64) {
	if l.f == nil {
		return
	}
	if err := l.f.Truncate(off); err != nil {
		l.closeBroken()
		return
	}
	l.foff = off
}

// closeBroken stops appending to the active segment; the next batch starts segment wnext. A
// close error is not reported: it follows the failure being reported.
func (l *Log) closeBroken() {
	l.f.Close()
	l.f = nil
}

func (l *Log) syncActive() error {
	if l.hooks.beforeSync != nil {
		l.hooks.beforeSync()
	}
	err := l.f.Sync()
	l.fsyncs.Add(1)
	if err != nil {
		return fmt.Errorf("sync segment %d: %w", l.fseg, err)
	}
	l.dirty = false
	return nil
}

// roll makes seg, a new segment, the active one.
func (l *Log) roll(seg uint64) error {
	if l.f != nil {
		if l.dirty {
			if err := l.syncActive(); err != nil {
				l.closeBroken()
				return err
			}
		}
		err := l.f.Close()
		l.f = nil
		if err != nil {
			return fmt.Errorf("close segment %d: %w", l.fseg, err)
		}
	}
	name := segmentPath(l.opts.Dir, seg)
	f, err := l.hooks.openSegment(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND)
	if err != nil {
		return fmt.Errorf("create segment %d: %w", seg, err)
	}
	// The directory entry must be durable before a record in the file is acknowledged.
	if err := syncDir(l.opts.Dir); err != nil {
		f.Close()
		os.Remove(name)
		return fmt.Errorf("sync wal directory after creating segment %d: %w", seg, err)
	}
	l.f, l.fseg, l.foff, l.dirty = f, seg, 0, false
	l.wnext = seg + 1
	l.mu.Lock()
	l.segs = append(l.segs, segInfo{n: seg})
	l.mu.Unlock()
	return nil
}

// segmentFile is the part of *os.File the writer uses; tests substitute failing files.
type segmentFile interface {
	Write([]byte) (int, error)
	Sync() error
	Truncate(int64) error
	Close() error
}

// hooks let tests observe and break the writer without timing.
type hooks struct {
	beforeSync  func() // before every segment fsync
	enqueued    func() // after an Append queued its record
	openSegment func(name string, flag int) (segmentFile, error)
}

func (h *hooks) setDefaults() {
	if h.openSegment == nil {
		h.openSegment = func(name string, flag int) (segmentFile, error) {
			return os.OpenFile(name, flag, 0o644)
		}
	}
}
