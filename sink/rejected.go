package sink

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink/wal"
)

// When the store rejects a batch (ErrRejected: a value it cannot convert, a constraint the rows
// violate), retrying it would fail forever and hold every later batch back. The pipeline looks
// for the callbacks at fault instead: it inserts halves of the batch, then halves of the halves
// that fail, down to single callbacks, each half under a token derived from its callbacks (so a
// half stored before a crash is not stored twice when the same generation is bisected again).
// The callbacks rejected alone become dead letters with the store's error, in the next
// generation; everything else is stored. A table that rejects every row (altered for every
// value) must not turn the whole stream into dead letters: see Options.MaxRejectedBatches.

// ReasonRejected is the reason of a dead letter the store rejected: its error says why.
const ReasonRejected = "store_rejected"

// errHalted is what insert retries: the store rejected whole batches too often in a row for the
// rejections to be the callbacks' fault.
var errHalted = errors.New("halted")

// earlyHalt is how many callbacks in a row a bisection may find rejected alone, with none of the
// batch stored, before it stops looking and holds the table's writes back at once: a table that
// refuses every row would otherwise cost an insert per callback of a large batch to prove it.
const earlyHalt = 16

// callbackRows are the rows one callback (or several deliveries of the same body) gave one
// table's batch: runs of consecutive rows, chunk by chunk.
type callbackRows struct {
	id    string
	first wal.Position // its lowest record, which orders callbacks the same way in every replay
	runs  []rowRun
}

type rowRun struct{ chunk, lo, hi int }

// leadIndex maps a generation's callback ids to their records and lead_updates rows, built once
// per generation when a table's batch is rejected.
type leadIndex struct {
	once sync.Once
	err  error
	recs map[string][]leadRow
}

type leadRow struct {
	pos        wal.Position
	chunk, row int
}

func (g *generation) leadIndex() (map[string][]leadRow, error) {
	x := &g.leads
	x.once.Do(func() {
		t := &g.tables[tLeads]
		x.recs = map[string][]leadRow{}
		for k, rec := range t.chunks {
			ids, err := stringColumn(rec, callbackIDColumn(schema.LeadUpdates))
			if err != nil {
				x.err = err
				return
			}
			for row := range ids.Len() {
				id := ids.Value(row)
				x.recs[id] = append(x.recs[id], leadRow{pos: t.chunkPos[k][row], chunk: k, row: row})
			}
			ids.Release()
		}
	})
	return x.recs, x.err
}

func callbackIDColumn(t *schema.Table) int {
	i, _ := t.ColumnIndex("callback_id")
	return i
}

// stringColumn is column col of rec as plain strings, decoded if it is a dictionary or runs.
func stringColumn(rec arrow.RecordBatch, col int) (*array.String, error) {
	arr, err := schema.Decode(rec.Column(col), memory.NewGoAllocator())
	if err != nil {
		return nil, err
	}
	s, ok := arr.(*array.String)
	if !ok {
		arr.Release()
		return nil, fmt.Errorf("column %s is %s, not strings", rec.ColumnName(col), arr.DataType())
	}
	return s, nil
}

// callbacksOf splits batch into the rows of each callback, ordered by their first record.
func callbacksOf(batch Batch, t *schema.Table, leads map[string][]leadRow) ([]callbackRows, error) {
	byID := map[string]int{}
	var out []callbackRows
	for k, rec := range batch.Chunks {
		ids, err := stringColumn(rec, callbackIDColumn(t))
		if err != nil {
			return nil, err
		}
		for row := 0; row < ids.Len(); {
			id := ids.Value(row)
			end := row + 1
			for end < ids.Len() && ids.Value(end) == id {
				end++
			}
			i, ok := byID[id]
			if !ok {
				i = len(out)
				byID[id] = i
				cr := callbackRows{id: id}
				if rs := leads[id]; len(rs) > 0 {
					cr.first = rs[0].pos
					for _, r := range rs[1:] {
						if r.pos.Compare(cr.first) < 0 {
							cr.first = r.pos
						}
					}
				}
				out = append(out, cr)
			}
			out[i].runs = append(out[i].runs, rowRun{chunk: k, lo: row, hi: end})
			row = end
		}
		ids.Release()
	}
	slices.SortFunc(out, func(a, b callbackRows) int {
		if c := a.first.Compare(b.first); c != 0 {
			return c
		}
		return compareStrings(a.id, b.id)
	})
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// part is the batch of the rows of cbs: slices of batch's chunks, no copies. Its deferred
// values are batch's, at the rows they came from.
func part(batch Batch, cbs []callbackRows) (Batch, func()) {
	var runs []rowRun
	for _, cb := range cbs {
		runs = append(runs, cb.runs...)
	}
	slices.SortFunc(runs, func(a, b rowRun) int {
		if a.chunk != b.chunk {
			return a.chunk - b.chunk
		}
		return a.lo - b.lo
	})
	var out Batch
	for _, r := range runs {
		out.Chunks = append(out.Chunks, batch.Chunks[r.chunk].NewSlice(int64(r.lo), int64(r.hi)))
	}
	if d := batch.Deferred; d != nil {
		out.Deferred = &Deferred{Column: d.Column, Value: func(k, row int) ([]byte, error) {
			return d.Value(runs[k].chunk, runs[k].lo+row)
		}}
	}
	return out, func() {
		for _, c := range out.Chunks {
			c.Release()
		}
	}
}

// partToken is the deduplication token of the part of a batch holding cbs: the batch's token
// and a fingerprint of the callbacks, so that the same part of the same batch gets the same
// token when a replayed generation is bisected again.
func partToken(token string, cbs []callbackRows) string {
	h := fnv.New64a()
	for _, cb := range cbs {
		h.Write(unsafe.Slice(unsafe.StringData(cb.id), len(cb.id)))
		h.Write([]byte{0})
	}
	return token + "/" + strconv.Itoa(len(cbs)) + ":" + strconv.FormatUint(h.Sum64(), 16)
}

// rejection is one callback the store refused alone, and why.
type rejection struct {
	cb  callbackRows
	err error
}

// bisect finds the callbacks of table i's batch that the store rejects, inserting every other
// row in parts, after the whole batch was rejected with first. It returns nil once everything
// but the rejected callbacks is stored and those are dead letters; errHalted when the table
// rejects everything, too often in a row; or another insert's error, which leaves the batch to
// be retried (and bisected again: the parts already stored are dropped by their tokens).
func (p *Pipeline) bisect(ctx context.Context, g *generation, i int, batch Batch, token string, first error) error {
	tbl := tables[i]
	if i == tDeadLetters {
		// A dead letter the store refuses cannot become a dead letter itself.
		return errHalted
	}
	leads, err := g.leadIndex()
	if err != nil {
		return fmt.Errorf("find the callbacks of a rejected batch: %w", err)
	}
	cbs, err := callbacksOf(batch, tbl, leads)
	if err != nil {
		return fmt.Errorf("find the callbacks of a rejected batch: %w", err)
	}
	var (
		stored   int
		rejected []rejection
		try      func(set []callbackRows, known error) error
	)
	try = func(set []callbackRows, known error) error {
		err := known
		if err == nil {
			sub, release := part(batch, set)
			err = p.store.Insert(ctx, tbl, sub, partToken(token, set))
			release()
		}
		switch {
		case err == nil:
			stored += len(set)
			return nil
		case !errors.Is(err, ErrRejected):
			return err
		case len(set) == 1:
			rejected = append(rejected, rejection{cb: set[0], err: err})
			if stored == 0 && len(rejected) >= earlyHalt && p.opts.MaxRejectedBatches > 0 {
				return errHalted
			}
			return nil
		}
		mid := len(set) / 2
		if err := try(set[:mid], nil); err != nil {
			return err
		}
		return try(set[mid:], nil)
	}
	if err := try(cbs, first); err != nil {
		if errors.Is(err, errHalted) {
			p.rejectedWhole(i)
		}
		return err
	}
	if stored == 0 && p.rejectedWhole(i) {
		return errHalted
	}
	if stored > 0 {
		p.mu.Lock()
		p.wholeRejections[i] = 0
		p.mu.Unlock()
	}
	for _, r := range rejected {
		if err := p.deadLetterRejected(g, r, leads[r.cb.id], tbl); err != nil {
			return err
		}
	}
	return nil
}

// rejectedWhole counts a batch of table i rejected entirely and reports whether the table has now
// rejected Options.MaxRejectedBatches batches in a row: writes to it are then halted.
func (p *Pipeline) rejectedWhole(i int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wholeRejections[i]++
	return p.opts.MaxRejectedBatches > 0 && p.wholeRejections[i] >= p.opts.MaxRejectedBatches
}

// deadLetterRejected keeps every record of a callback the store rejected as a dead letter of the
// filling generation, which completes the records once it is stored.
func (p *Pipeline) deadLetterRejected(g *generation, r rejection, recs []leadRow, tbl *schema.Table) error {
	if len(recs) == 0 {
		return fmt.Errorf("rejected callback %s has no lead_updates row in its generation", r.cb.id)
	}
	t := &g.tables[tLeads]
	bodies := p.log.NewBodyReader()
	defer bodies.Close()
	for _, rec := range recs {
		body, err := p.rejectedBody(t, rec, bodies)
		if err != nil {
			return err
		}
		at := time.Now()
		if ms, err := leadReceivedAt(t.chunks[rec.chunk], rec.row); err == nil {
			at = ms
		}
		p.mu.Lock()
		if g.deadLettered == nil {
			g.deadLettered = map[wal.Position]bool{}
		}
		if !g.deadLettered[rec.pos] {
			g.deadLettered[rec.pos] = true
			g.handedOn = append(g.handedOn, rec.pos)
			p.addDeadLetterLocked(p.fill, rec.pos, recordHash(rec.pos, body), at, "", ReasonRejected,
				fmt.Errorf("%s: %w", tbl.Name, r.err), body)
			p.stats.RejectedCallbacks++
		}
		p.mu.Unlock()
		p.opts.Logger.Warn("the store rejected a callback: kept as a dead letter", "callback_id", r.cb.id,
			"table", tbl.Name, "position", rec.pos.String(), "err", r.err)
	}
	return nil
}

// rejectedBody is the raw body of a lead_updates row: in the batch, or read back from the log.
func (p *Pipeline) rejectedBody(t *genTable, rec leadRow, bodies *wal.BodyReader) ([]byte, error) {
	if ref := t.chunkRefs[rec.chunk][rec.row]; ref.Segment != 0 {
		b, err := bodies.Body(ref)
		if err != nil {
			return nil, fmt.Errorf("read a rejected callback's body back from the write-ahead log: %w", err)
		}
		return b, nil
	}
	s := t.chunks[rec.chunk].Column(rawColumn).(*array.String).Value(rec.row)
	return unsafe.Slice(unsafe.StringData(s), len(s)), nil
}

var receivedAtColumn = mustColumn(schema.LeadUpdates, "received_at")

func leadReceivedAt(rec arrow.RecordBatch, row int) (time.Time, error) {
	arr, err := schema.Decode(rec.Column(receivedAtColumn), memory.NewGoAllocator())
	if err != nil {
		return time.Time{}, err
	}
	defer arr.Release()
	ts, ok := arr.(*array.Timestamp)
	if !ok {
		return time.Time{}, fmt.Errorf("received_at is %s", arr.DataType())
	}
	return ts.Value(row).ToTime(arrow.Millisecond), nil
}
