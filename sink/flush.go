package sink

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/leadhouse/leadhouse/sink/wal"
)

// flushLoop is the flusher: it takes the filling generation when a trigger fires, leaving a new
// one to fill, and writes it to the store while the next fills. It stops when ctx ends or, after
// Close, when nothing is left to flush.
func (p *Pipeline) flushLoop(ctx context.Context) {
	defer close(p.flushDone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		p.mu.Lock()
		if len(p.ready) > 0 {
			// A generation rebuilt from a batch note of the previous process goes first.
			g := p.ready[0]
			p.ready = p.ready[1:]
			g.freeze()
			p.flushing = g
			p.mu.Unlock()
			if err := p.flush(ctx, g); err != nil {
				return
			}
			p.finish(g)
			continue
		}
		g := p.fill
		draining := isClosed(p.drain)
		if g.records == 0 {
			p.mu.Unlock()
			if draining {
				return
			}
			select {
			case <-p.kick:
			case <-p.drain:
			case <-ctx.Done():
				return
			}
			continue
		}
		wait := p.opts.FlushInterval - time.Since(g.started)
		if !draining && !p.flushNow && wait > 0 && !g.full(&p.opts) {
			p.mu.Unlock()
			timer.Reset(wait)
			select {
			case <-p.kick:
			case <-timer.C:
			case <-p.drain:
			case <-ctx.Done():
				timer.Stop()
				return
			}
			timer.Stop()
			continue
		}
		p.flushNow = false
		g.freeze()
		g.decayHints()
		p.fill, p.flushing = newGeneration(p.pool, &p.hints), g
		p.fill.seq = g.seq + 1
		p.mu.Unlock()

		// The batch's records are noted before anything of it reaches the store: should this
		// process die while it writes, the next batches them again the same way, under the same
		// tokens, and the store drops what it already has.
		if id, err := p.log.NoteBatch(g.positions); err != nil {
			p.opts.Logger.Warn("cannot note a batch in the write-ahead log: after a crash, it may be stored twice", "err", err)
		} else {
			g.note, g.noted = id, true
		}
		if err := p.flush(ctx, g); err != nil {
			return // ctx ended: the generation's records stay uncommitted in the log
		}
		p.finish(g)
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// flush writes every table of g that the store does not have yet, up to InsertConcurrency of
// them at once, each retried until it succeeds or ctx ends. Tables are independent inserts with
// their own tokens, so the order they land in does not matter, nor which of them a crash cuts off.
func (p *Pipeline) flush(ctx context.Context, g *generation) error {
	slots := make(chan struct{}, p.opts.InsertConcurrency)
	var wg sync.WaitGroup
	var errs [numTables]error
	for i := range g.tables {
		t := &g.tables[i]
		if t.rows == 0 || t.stored {
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if errs[i] = p.insert(ctx, g, i); errs[i] != nil {
				return
			}
			t.stored = true
			// lead_updates' chunks stay until the generation is done: should another table's
			// batch be rejected, they tell which records its callbacks are (rejected.go).
			if i != tLeads {
				t.releaseChunks()
			}
			p.mu.Lock()
			p.rowsFlushed[i] += int64(t.rows)
			p.mu.Unlock()
		})
	}
	wg.Wait()
	return errors.Join(errs[:]...)
}

// insert writes table i's batch of g, retrying with the same batch and token, after an
// exponential backoff with full jitter, until the store takes it or ctx ends.
func (p *Pipeline) insert(ctx context.Context, g *generation, i int) error {
	var read func(wal.Position) ([]byte, error)
	var raws *chunkBodies
	if i == tLeads { // only lead_updates has raw bodies, and one insert of it runs at a time
		var release func() error
		read, release = p.bodyReader(g)
		defer release()
		raws = &p.bodies
		defer func() {
			// A generation of unusually large bodies (one that grew while the store was slow)
			// does not keep its buffer for all later ones; the usual size stays, or every flush
			// would allocate it again.
			if int64(cap(raws.arena)) > 2*p.opts.MaxBytes {
				*raws = chunkBodies{}
			}
		}()
	}
	tbl, batch, token, rows := tables[i], g.build(i, read, raws), g.token(i), g.tables[i].rows
	backoff := p.opts.RetryMin
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := p.store.Insert(ctx, tbl, batch, token)
		if p.opts.OnFlush != nil {
			p.opts.OnFlush(tbl.Name, rows, time.Since(start), err)
		}
		if err == nil {
			p.storeSucceeded(i)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrRejected) && !p.isHalted(i) {
			berr := p.bisect(ctx, g, i, batch, token, err)
			if berr == nil {
				p.storeSucceeded(i)
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(berr, errHalted) {
				p.halt(i, err)
			} else {
				err = berr
			}
		}
		p.storeFailed(i, err)
		var sleep time.Duration
		if backoff > 0 {
			sleep = rand.N(backoff)
		}
		p.opts.Logger.Warn("cannot write batch to the store, retrying", "table", tbl.Name, "rows", rows,
			"token", token, "attempt", attempt, "retry_in", sleep.Round(time.Millisecond), "err", err)
		t := time.NewTimer(sleep)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		backoff = min(2*backoff, p.opts.RetryMax)
	}
}

// halt stops looking for rejected callbacks in table i's batches: the store rejected every row of
// too many batches in a row, which is the table's fault (altered under leadhouse), not the
// callbacks'. The batch is retried as it is, holding the backlog in the write-ahead log, until
// the store takes it: once the operator mends the table, writes resume by themselves.
func (p *Pipeline) halt(i int, err error) {
	p.mu.Lock()
	first := p.halted[i] == nil
	p.halted[i] = err
	p.mu.Unlock()
	if first {
		p.opts.Logger.Error("the store rejects every row of "+tables[i].Name+": writes to it are held back until the table takes them again",
			"table", tables[i].Name, "batches_rejected_in_a_row", p.opts.MaxRejectedBatches, "err", err)
	}
}

func (p *Pipeline) isHalted(i int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.halted[i] != nil
}

// bodyReader returns how g's lead_updates insert reads raw bodies back from the log, across its
// retries, and how to release the reader. A damaged body, or one that keeps failing to read, is
// stored empty (see bodyUnreadable); another failed read fails the attempt, which is retried.
func (p *Pipeline) bodyReader(g *generation) (read func(wal.Position) ([]byte, error), release func() error) {
	bodies := p.log.NewBodyReader()
	lost := map[wal.Position]bool{}  // bodies found damaged, reported once however often retried
	failed := map[wal.Position]int{} // reads that failed otherwise, by position
	read = func(pos wal.Position) ([]byte, error) {
		b, err := bodies.Body(pos)
		if err == nil {
			return b, nil
		}
		var ce *wal.CorruptionError
		damaged := errors.As(err, &ce) || errors.Is(err, wal.ErrNotInLog) || errors.Is(err, wal.ErrErased)
		if failed[pos]++; !damaged && failed[pos] < maxBodyReadAttempts {
			// A failed read (too many open files, an I/O error) fails the attempt: retried.
			return nil, fmt.Errorf("read a raw body back from the write-ahead log: %w", err)
		}
		if !lost[pos] {
			lost[pos] = true
			p.bodyUnreadable(g, pos, err)
		}
		return nil, nil
	}
	return read, bodies.Close
}

// maxBodyReadAttempts is how many insert attempts a raw body that fails to read (not found
// damaged) gets before its row is stored without it: with the retry backoff, minutes.
const maxBodyReadAttempts = 20

// bodyUnreadable reports a raw body the log holds damaged, no longer holds, or keeps failing to
// give back: it was durable when acknowledged, so this is a damaged disk (or a bug). Failing the
// insert for it would retry forever and hold every later batch back, so the row is stored
// without its raw body and the loss is logged and counted. A damaged frame is kept as a
// wal_corrupt dead letter in the filling generation (as the replayer keeps a corrupt record),
// which then completes the record (g hands it on).
func (p *Pipeline) bodyUnreadable(g *generation, pos wal.Position, err error) {
	p.mu.Lock()
	p.stats.UnreadableBodies++
	var ce *wal.CorruptionError
	if errors.As(err, &ce) && len(ce.Raw) > 0 {
		p.addDeadLetterLocked(p.fill, pos, recordHash(pos, ce.Raw), time.Now(), "", ReasonWALCorrupt, ce, ce.Raw)
		g.handedOn = append(g.handedOn, pos)
	}
	p.mu.Unlock()
	p.opts.Logger.Error("cannot read a raw body back from the write-ahead log: its row is stored without it",
		"position", pos.String(), "err", err)
}

func (p *Pipeline) storeFailed(i int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.StoreErrors++
	if p.storeErr == nil {
		p.storeErrSince = time.Now()
	}
	p.storeErr = err
	p.failing[i] = true
}

// storeSucceeded clears the store's failure once no table's insert is failing: with tables
// written concurrently, one succeeding says nothing of another still retrying.
func (p *Pipeline) storeSucceeded(i int) {
	p.mu.Lock()
	p.failing[i] = false
	if p.halted[i] != nil {
		p.halted[i] = nil
		p.wholeRejections[i] = 0
		p.opts.Logger.Info("the store takes "+tables[i].Name+" again: writes to it resume", "table", tables[i].Name)
	}
	failed, since := p.storeErr != nil, p.storeErrSince
	if !failed || slices.Contains(p.failing[:], true) {
		p.mu.Unlock()
		return
	}
	p.storeErr = nil
	p.mu.Unlock()
	p.opts.Logger.Info("store writes recovered", "down_for", time.Since(since).Round(time.Millisecond))
}

// finish retires a stored generation: its records are done, its memory is freed and the log's
// committed position moves past everything stored.
func (p *Pipeline) finish(g *generation) {
	if g.noted && len(g.handedOn) == 0 {
		// Its records need not be written again after a crash, even before the commit passes
		// them all. Not so when some became dead letters of the next generation, not stored yet:
		// after a crash this one is written again (its parts dropped by their tokens), and makes
		// them again.
		if err := p.log.BatchStored(g.note); err != nil {
			p.opts.Logger.Warn("cannot note a stored batch in the write-ahead log", "err", err)
		}
	}
	for _, pos := range g.positions {
		if !slices.Contains(g.handedOn, pos) {
			p.tracker.Done(pos)
		}
	}
	p.mu.Lock()
	p.flushing = nil
	if g.seq > p.finishedSeq { // a generation rebuilt from a batch note has none
		p.finishedSeq = g.seq
	}
	p.stats.Flushes++
	if g.hasReplayed && g.replayedMax.Compare(p.replayedStored) > 0 {
		p.replayedStored = g.replayedMax
	}
	// Read before the tracker: once every record of the previous process is stored, the
	// tracker's horizon alone is safe.
	capped := p.recovering || p.replayedStored.Compare(p.recoveredTo) < 0
	replayedStored := p.replayedStored
	close(p.memFreed)
	p.memFreed = make(chan struct{})
	p.mu.Unlock()
	g.release()

	commit := p.tracker.Committable()
	if capped && commit.Compare(replayedStored) > 0 {
		commit = replayedStored
	}
	if commit == (wal.Position{}) {
		return
	}
	if err := p.log.Commit(commit); err != nil {
		// The records stay in the log and are committed with the next generation, or replayed
		// (and deduplicated) after a restart.
		p.opts.Logger.Warn("cannot commit the write-ahead log", "position", commit.String(), "err", err)
		return
	}
	// The commit freed backlog: Ready stops reporting a full log (the next refused append would
	// say so again). Without this a node taken out of rotation for a full log would never get the
	// request that clears it.
	p.mu.Lock()
	p.backlogFull = false
	var erase []wal.Position
	keep := p.toErase[:0]
	for _, pos := range p.toErase {
		if pos.Compare(commit) <= 0 {
			erase = append(erase, pos)
		} else {
			keep = append(keep, pos)
		}
	}
	p.toErase = keep
	p.mu.Unlock()
	if len(erase) > 0 {
		p.eraseForgotten(erase)
	}
}

// eraseForgotten erases the bodies of records the filter left out, now committed, from the log. A
// failure leaves them on disk until their segment is deleted, and the filter still leaves them
// out of any replay; so it is logged, not retried.
func (p *Pipeline) eraseForgotten(ps []wal.Position) {
	n, err := p.log.Erase(ps...)
	p.mu.Lock()
	p.stats.ErasedRecords += int64(n)
	p.mu.Unlock()
	if err != nil {
		p.opts.Logger.Error("cannot erase forgotten records from the write-ahead log", "records", len(ps), "err", err)
	}
}
