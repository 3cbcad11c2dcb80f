package sink

import (
	"context"
	"errors"
	"time"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink/wal"
)

// catchUpRecords is how few records a replay pass must find for the replayer to try switching to
// live mode; the pass it then makes holds every Submit back, so it must be short.
const catchUpRecords = 256

// errMemoryFull stops the replay pass that would switch to live mode while memory is short.
var errMemoryFull = errors.New("memory full")

// replayer reads spilled records back from the write-ahead log into the batch. It is the only
// goroutine that calls Options.Decode.
type replayer struct {
	p    *Pipeline
	rows schema.Rows

	// Progress logging.
	records  int64 // read in this episode
	began    time.Time
	lastLog  time.Time
	lastLogN int64
}

// replayLoop runs spill episodes until ctx ends: from the start of spill mode to catching up
// with the log and switching back to live mode.
func (p *Pipeline) replayLoop(ctx context.Context) {
	defer close(p.replayDone)
	r := &replayer{p: p}
	for {
		p.mu.Lock()
		spilling, read := p.spilling, p.spillFrom
		p.mu.Unlock()
		if !spilling {
			select {
			case <-p.spillStart:
				continue
			case <-ctx.Done():
				return
			}
		}
		r.records, r.began, r.lastLog, r.lastLogN = 0, time.Now(), time.Now(), 0
		for {
			err := r.episode(ctx, &read)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				break
			}
			// A read error of the log: the episode carries on after the last record added,
			// after a pause so that a persistent failure does not spin.
			p.opts.Logger.Error("cannot replay the write-ahead log, retrying", "err", err)
			select {
			case <-time.After(p.opts.RetryMin):
			case <-ctx.Done():
				return
			}
		}
	}
}

// episode reads records after *read until it has caught up with the log, then switches to live
// mode. *read is the last record added, for resuming after an error.
func (r *replayer) episode(ctx context.Context, read *wal.Position) error {
	p := r.p
	for {
		n := 0
		err := p.log.Replay(ctx, *read, func(rec wal.Record) error {
			if err := p.waitMemory(ctx, p.opts.MaxBufferedBytes); err != nil {
				return err
			}
			r.add(rec)
			*read = rec.Pos
			n++
			return nil
		})
		if err != nil {
			return err
		}
		if n > catchUpRecords {
			continue // far behind still
		}
		// Nearly caught up: the pass under the gate will be short. Going live with memory nearly
		// full would only spill again at once, so wait until it is half free.
		if err := p.waitMemory(ctx, p.opts.MaxBufferedBytes/2); err != nil {
			return err
		}
		live, err := r.switchToLive(ctx, read)
		if err != nil || live {
			return err
		}
	}
}

// switchToLive reads what was appended since the last pass with every Submit held at the gate,
// so that no append is in progress, and then hands new records to Submit. It gives up, leaving
// spill mode on, if memory fills meanwhile.
func (r *replayer) switchToLive(ctx context.Context, read *wal.Position) (bool, error) {
	p := r.p
	p.gate.Lock()
	defer p.gate.Unlock()
	err := p.log.Replay(ctx, *read, func(rec wal.Record) error {
		p.mu.Lock()
		full := p.bufferedLocked() >= p.opts.MaxBufferedBytes
		p.mu.Unlock()
		if full {
			return errMemoryFull
		}
		r.add(rec)
		*read = rec.Pos
		return nil
	})
	if errors.Is(err, errMemoryFull) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	p.mu.Lock()
	p.spilling = false
	p.liveFrom = *read
	recovered := p.recovering
	if recovered {
		p.recoveredTo = *read
		p.endRebuildsLocked()
	}
	p.recovering = false
	p.mu.Unlock()
	select {
	case p.wentLive <- struct{}{}:
	default:
	}
	msg := "caught up with the write-ahead log: batching live"
	if recovered {
		msg = "replay complete: batching live"
	}
	p.opts.Logger.Info(msg, "records", r.records, "duration", time.Since(r.began).Round(time.Millisecond), "position", read.String())
	return true, nil
}

// add batches one record read back from the log.
func (r *replayer) add(rec wal.Record) {
	p := r.p
	// Records written before this process started are not in the tracker yet; for the others
	// this does nothing. A record that is not pending (its appender gave up, so the log marked it
	// Done) holds no commit back: its segment may be gone before this batch is written, so its
	// raw body stays in the batch instead of being read back from the log.
	body := rec.Body
	if !p.tracker.Add(rec.Pos) {
		body = nil
	}
	p.mu.Lock()
	// A record of a batch the previous process noted goes back into that batch; one of a batch
	// it stored whole is only completed.
	g, ng := p.fill, p.noted[rec.Pos]
	if ng != nil {
		g = ng.g
		delete(p.noted, rec.Pos)
		ng.got++
		if ng.stored {
			g.track(rec.Pos, time.Now())
			g.replayed(rec.Pos)
			p.addedLocked(rec.Pos)
			if ng.got == ng.want {
				p.readyLocked(ng)
			}
			p.stats.ReplayedRecords++
			p.mu.Unlock()
			r.progress(rec.Pos)
			return
		}
	}
	p.mu.Unlock()
	var derr error
	if rec.Corrupt == nil && !rec.Erased {
		derr = p.opts.Decode(rec.Body, rec.ReceivedAt, &r.rows)
	}
	p.mu.Lock()
	if ng == nil {
		// The flusher may have taken the filling generation while the record was decoded.
		g = p.fill
	}
	switch {
	case rec.Erased:
		// Nothing is left of it to store; its position commits with the generation.
		p.fill.track(rec.Pos, time.Now())
	case rec.Corrupt != nil && p.filter != nil && p.filter(rec.Corrupt.Raw, nil):
		p.forgetLocked(rec.Pos)
	case rec.Corrupt == nil && p.filter != nil && p.filter(rec.Body, rowsOrNil(&r.rows, derr)):
		p.forgetLocked(rec.Pos)
	case rec.Corrupt != nil:
		ce := rec.Corrupt
		p.stats.CorruptRecords++
		p.addDeadLetterLocked(g, rec.Pos, recordHash(rec.Pos, ce.Raw), time.Now(), "", ReasonWALCorrupt, ce, ce.Raw)
		p.opts.Logger.Warn("corrupt write-ahead log record kept as a dead letter", "err", ce)
	case derr != nil:
		p.addDeadLetterLocked(g, rec.Pos, recordHash(rec.Pos, rec.Body), rec.ReceivedAt, rec.Remote, p.opts.Reason(derr), derr, rec.Body)
	default:
		g.addRows(rec.Pos, recordHash(rec.Pos, rec.Body), &r.rows, body, time.Now())
	}
	g.replayed(rec.Pos)
	p.addedLocked(rec.Pos)
	if ng != nil && ng.got == ng.want {
		p.readyLocked(ng)
	}
	p.stats.ReplayedRecords++
	p.mu.Unlock()
	r.progress(rec.Pos)
}

// progress counts a record read back and logs the replay's progress now and then.
func (r *replayer) progress(pos wal.Position) {
	p := r.p
	r.records++
	if now := time.Now(); r.records-r.lastLogN >= int64(p.opts.ProgressEvery) || now.Sub(r.lastLog) >= p.opts.ProgressInterval {
		p.opts.Logger.Info("replaying write-ahead log", "records", r.records, "position", pos.String(),
			"backlog_bytes", p.log.Size())
		r.lastLog, r.lastLogN = now, r.records
	}
}

// rowsOrNil is what a Filter is given for a decoded record: its rows, or nil when decoding failed.
func rowsOrNil(rows *schema.Rows, err error) *schema.Rows {
	if err != nil {
		return nil
	}
	return rows
}

// waitMemory returns once the buffered bytes are below limit.
func (p *Pipeline) waitMemory(ctx context.Context, limit int64) error {
	for {
		p.mu.Lock()
		if p.bufferedLocked() < limit {
			p.mu.Unlock()
			return nil
		}
		freed := p.memFreed
		p.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
