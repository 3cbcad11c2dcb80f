// Package rebuild re-flattens every kept raw body into new tables and swaps them in.
package rebuild

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
)

// Store is what a rebuild needs of the warehouse; sink.Store satisfies it.
type Store interface {
	Insert(ctx context.Context, t *schema.Table, batch sink.Batch, token string) error
	Exec(ctx context.Context, query string) error
	Query(ctx context.Context, query string, w io.Writer) error
}

var _ Store = sink.Store(nil)

// arrivalTo names the rebuild_chunks row of a catch-up pass holding the arrival it reached.
const arrivalTo = "arrival_to"

// markPrefix starts the rebuild_chunks rows naming a dead letter that became a callback.
const markPrefix = "dead_letter:"

// Suffix names a rebuild's new tables and views: lead_updates__rebuild, leads_state__rebuild...
const Suffix = "__rebuild"

// Options configure Run. Decode and Reason are required.
type Options struct {
	// Decode flattens a body as the pipeline does (flatten.Flattener.Flatten).
	Decode func(body []byte, receivedAt time.Time, rows *schema.Rows) error
	// Reason names a Decode error for a dead letter (server.Reason).
	Reason func(err error) string
	// ChunkRows is how many callbacks one chunk re-flattens and writes at once; default 10,000.
	ChunkRows int
	// StateOnly recomputes the state tables from the callback tables as they are, without
	// re-flattening: what to run after rows arrived by ATTACH PARTITION or EXCHANGE TABLES.
	StateOnly bool
	// Progress, when set, is told after each chunk how many callbacks are done out of how many.
	Progress func(done, total int64)
	// Logger receives the rebuild's steps. Default: discard.
	Logger *slog.Logger
	// AfterChunk, when set, is called after each chunk of lead ids is recorded; an error stops
	// the rebuild there, as a crash would (tests use it).
	AfterChunk func(chunk int) error
}

// Result is what a rebuild did.
type Result struct {
	ID        string
	Callbacks int64            // callbacks re-flattened (lead_updates rows), catch-up included
	Rows      map[string]int64 // rows written per new table
	CarriedOn int64            // rows stored while the rebuild swapped the tables, moved over
	Resumed   bool             // an earlier run had done part of the work
}

// rawTables are the callback tables and dead_letters, in the order they are swapped.
var rawTables = append(slices.Clone(schema.RowTables()), schema.DeadLetters)

// Run rebuilds the warehouse of st. It is idempotent and resumable: the new tables, their
// materialized views and the chunks done survive a crash, and a run finds and carries on with
// them. Safe while serve writes: callbacks stored after the rebuild began are re-flattened in
// catch-up passes, and those stored while the tables are swapped are moved over afterwards.
//
// Steps: create <table>__rebuild for every callback and state table and a copy of each
// materialized view feeding the new state tables from the new callback tables; re-flatten the
// bodies of lead_updates (and of dead letters never replayed) up to the highest arrival seen at
// the start, chunk by chunk of lead ids, each chunk written with deduplication tokens and
// recorded in rebuild_chunks; catch up with what arrived since; check every new table holds the
// rows written to it and lead_updates' distinct callbacks; swap each pair with EXCHANGE TABLES;
// move over what serve stored in the old tables meanwhile; drop the old tables.
func Run(ctx context.Context, st Store, o Options) (Result, error) {
	if o.Decode == nil || o.Reason == nil {
		return Result{}, errors.New("rebuild: Decode and Reason are required")
	}
	if o.ChunkRows <= 0 {
		o.ChunkRows = 10_000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &run{st: st, o: o, res: Result{Rows: map[string]int64{}}}
	return r.res, r.all(ctx)
}

type run struct {
	st  Store
	o   Options
	res Result
	db  string
	// watermark is the highest arrival the chunks cover; catch-up passes raise it.
	watermark uint64
	// catchUpFrom is the first chunk of the catch-up passes.
	catchUpFrom int
	mvs         []matView
}

// matView is a materialized view feeding a state table, as the engine reports it.
type matView struct {
	name, target, query string
}

func (r *run) all(ctx context.Context) error {
	var err error
	if r.db, err = r.scalar(ctx, "SELECT currentDatabase()"); err != nil {
		return err
	}
	if r.mvs, err = r.views(ctx); err != nil {
		return err
	}
	if err := r.resumeOrStart(ctx); err != nil {
		return err
	}
	if err := r.prepare(ctx); err != nil {
		return err
	}
	if r.o.StateOnly {
		if err := r.fillState(ctx); err != nil {
			return err
		}
	} else if err := r.reflatten(ctx); err != nil {
		return err
	}
	if err := r.check(ctx); err != nil {
		return err
	}
	if err := r.swap(ctx); err != nil {
		return err
	}
	if err := r.carryOver(ctx); err != nil {
		return err
	}
	return r.cleanUp(ctx)
}

// tables are the pairs this rebuild swaps.
func (r *run) tables() []string {
	var names []string
	if !r.o.StateOnly {
		for _, t := range rawTables {
			names = append(names, t.Name)
		}
	}
	for _, s := range schema.StateTables() {
		names = append(names, s.Name)
	}
	return names
}

// resumeOrStart finds the rebuild a crashed run left (its new tables exist) or names a new one.
// The ID carries the watermark: "<start>@<arrival>", "-state" appended for a state rebuild.
func (r *run) resumeOrStart(ctx context.Context) error {
	// prepare marks the new tables last, and swap moves the marks to the live tables.
	mark, err := r.scalarRaw(ctx, "SELECT comment FROM system.tables WHERE database = currentDatabase() AND startsWith(comment, 'rebuild ') LIMIT 1 FORMAT RawBLOB")
	if err != nil {
		return err
	}
	if id, ok := strings.CutPrefix(mark, "rebuild "); ok {
		if strings.HasSuffix(id, "-state") != r.o.StateOnly {
			kind := "a full rebuild"
			if strings.HasSuffix(id, "-state") {
				kind = "a state rebuild (-state)"
			}
			return fmt.Errorf("rebuild: %s (%s) has not finished: run it again to finish it first", kind, id)
		}
		r.res.ID, r.res.Resumed = id, true
	} else {
		// New tables without marks: a run stopped while preparing, before writing anything.
		if err := r.dropNew(ctx); err != nil {
			return err
		}
		w, err := r.scalar(ctx, "SELECT greatest((SELECT max(arrival) FROM lead_updates), (SELECT max(arrival) FROM dead_letters))")
		if err != nil {
			return err
		}
		r.res.ID = time.Now().UTC().Format("20060102T150405Z") + "@" + w
		if r.o.StateOnly {
			r.res.ID += "-state"
		}
	}
	_, w, _ := strings.Cut(strings.TrimSuffix(r.res.ID, "-state"), "@")
	if r.watermark, err = strconv.ParseUint(w, 10, 64); err != nil {
		return fmt.Errorf("rebuild %s: watermark: %w", r.res.ID, err)
	}
	r.o.Logger.Info("rebuild", "id", r.res.ID, "resumed", r.res.Resumed, "state_only", r.o.StateOnly)
	return nil
}

// views lists the materialized views of the state tables, with their queries.
func (r *run) views(ctx context.Context) ([]matView, error) {
	var out []matView
	for _, s := range schema.StateTables() {
		q, err := r.scalarRaw(ctx, "SELECT as_select FROM system.tables WHERE database = currentDatabase() AND name = '"+s.View()+"' FORMAT RawBLOB")
		if err != nil {
			return nil, err
		}
		if q == "" {
			return nil, fmt.Errorf("rebuild: no materialized view %s: migrate first", s.View())
		}
		out = append(out, matView{name: s.View(), target: s.Name, query: q})
	}
	return out, nil
}

// sourceRef matches a qualified reference to a callback table in a view's query.
func (r *run) sourceRef(table string) *regexp.Regexp {
	return regexp.MustCompile(`\b` + regexp.QuoteMeta(r.db) + `\.` + regexp.QuoteMeta(table) + `\b`)
}

// reading returns q reading from (SELECT * FROM table WHERE where) in place of each callback table.
func (r *run) reading(q, suffix, where string) string {
	for _, t := range rawTables {
		src := r.db + "." + t.Name + suffix
		if where != "" {
			src = "(SELECT * FROM " + src + " WHERE " + where + ")"
		}
		q = r.sourceRef(t.Name).ReplaceAllLiteralString(q, src)
	}
	return q
}

// prepare creates the new tables, marked with the rebuild's id, and the views that fill the new
// state tables from the new callback tables (for a state rebuild, from the live ones).
func (r *run) prepare(ctx context.Context) error {
	for _, name := range r.tables() {
		if err := r.st.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+name+Suffix+" AS "+name); err != nil {
			return fmt.Errorf("rebuild: create %s%s: %w", name, Suffix, err)
		}
	}
	for _, mv := range r.mvs {
		suffix := Suffix
		if r.o.StateOnly {
			suffix = ""
		}
		q := "CREATE MATERIALIZED VIEW IF NOT EXISTS " + mv.name + Suffix + " TO " + mv.target + Suffix + " AS " + r.reading(mv.query, suffix, "")
		if err := r.st.Exec(ctx, q); err != nil {
			return fmt.Errorf("rebuild: create %s%s: %w", mv.name, Suffix, err)
		}
	}
	// The mark comes last: a table that carries it has its view. Swapping carries it to the live
	// table, which is how a resumed run knows which pairs were swapped.
	mark := "rebuild " + r.res.ID
	for _, name := range r.tables() {
		swapped, err := r.carries(ctx, name, mark)
		if err != nil {
			return err
		}
		if swapped {
			continue // the old table, under the new name, keeps its own comment to restore
		}
		if err := r.st.Exec(ctx, "ALTER TABLE "+name+Suffix+" MODIFY COMMENT "+quote(mark)); err != nil {
			return fmt.Errorf("rebuild: mark %s%s: %w", name, Suffix, err)
		}
	}
	return nil
}

// carries reports whether table's comment is mark.
func (r *run) carries(ctx context.Context, table, mark string) (bool, error) {
	c, err := r.scalarRaw(ctx, "SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = "+quote(table)+" FORMAT RawBLOB")
	return c == mark, err
}

// fillState fills the new state tables from the live callback tables (state rebuild): the views'
// own queries, which the state's idempotence lets race the live inserts the new views also see.
func (r *run) fillState(ctx context.Context) error {
	for _, mv := range r.mvs {
		done, err := r.chunkDone(ctx, 0, mv.target)
		if err != nil || done {
			continue
		}
		q := "INSERT INTO " + mv.target + Suffix + " " + mv.query + " SETTINGS optimize_aggregation_in_order = 1"
		if err := r.st.Exec(ctx, q); err != nil {
			return fmt.Errorf("rebuild: fill %s%s: %w", mv.target, Suffix, err)
		}
		if err := r.record(ctx, 0, map[string]int64{mv.target: 0}); err != nil {
			return err
		}
	}
	return nil
}

// reflatten re-flattens every body up to the watermark, chunk by chunk, then catches up.
func (r *run) reflatten(ctx context.Context) error {
	bounds, err := r.bounds(ctx)
	if err != nil {
		return err
	}
	total, err := r.scalar(ctx, fmt.Sprintf("SELECT count() FROM lead_updates WHERE arrival <= %d", r.watermark))
	if err != nil {
		return err
	}
	all, _ := strconv.ParseInt(total, 10, 64)
	var done int64
	for c := range len(bounds) - 1 {
		if ok, err := r.chunkDone(ctx, c, "lead_updates"); err != nil {
			return err
		} else if !ok {
			where := fmt.Sprintf("lead_id >= %d AND lead_id < %d AND arrival <= %d", bounds[c], bounds[c+1], r.watermark)
			if err := r.chunk(ctx, c, where, nil); err != nil {
				return err
			}
		}
		n, err := r.scalar(ctx, fmt.Sprintf("SELECT sum(rows) FROM rebuild_chunks WHERE rebuild = %s AND table_name = 'lead_updates' AND chunk <= %d", quote(r.res.ID), c))
		if err != nil {
			return err
		}
		done, _ = strconv.ParseInt(n, 10, 64)
		if r.o.Progress != nil {
			r.o.Progress(done, all)
		}
		if r.o.AfterChunk != nil {
			if err := r.o.AfterChunk(c); err != nil {
				return err
			}
		}
	}
	if err := r.deadLetters(ctx, len(bounds)-1); err != nil {
		return err
	}
	r.catchUpFrom = len(bounds)
	return r.catchUp(ctx, len(bounds))
}

// bounds cuts the lead ids up to the watermark into ranges of about ChunkRows callbacks: the
// same ranges on every run of one rebuild, since those rows do not change while it runs.
func (r *run) bounds(ctx context.Context) ([]uint64, error) {
	n, err := r.scalar(ctx, fmt.Sprintf("SELECT count() FROM lead_updates WHERE arrival <= %d", r.watermark))
	if err != nil {
		return nil, err
	}
	rows, _ := strconv.ParseInt(n, 10, 64)
	chunks := max(1, (rows+int64(r.o.ChunkRows)-1)/int64(r.o.ChunkRows))
	var levels []string
	for i := int64(1); i < chunks; i++ {
		levels = append(levels, strconv.FormatFloat(float64(i)/float64(chunks), 'f', -1, 64))
	}
	bounds := []uint64{0}
	if len(levels) > 0 {
		var out bytes.Buffer
		q := fmt.Sprintf("SELECT arrayJoin(arrayDistinct(quantilesExact(%s)(lead_id))) FROM lead_updates WHERE arrival <= %d", strings.Join(levels, ", "), r.watermark)
		if err := r.st.Query(ctx, q, &out); err != nil {
			return nil, fmt.Errorf("rebuild: cut lead ids into chunks: %w", err)
		}
		for f := range strings.FieldsSeq(out.String()) {
			v, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("rebuild: chunk bound %q: %w", f, err)
			}
			if v > bounds[len(bounds)-1] {
				bounds = append(bounds, v)
			}
		}
	}
	return append(bounds, ^uint64(0)), nil
}

// legacyArrival gives rows stored before arrival existed (0) one: their received_at in seconds,
// below every log position (segments start at 1, so positions are at least 2^32) and in the
// order they were received.
const legacyArrival = "if(arrival = 0, toUInt64(intDiv(toUnixTimestamp64Milli(received_at), 1000)), arrival)"

// chunk re-flattens the bodies of lead_updates that where selects into the new tables, and
// records the chunk with extra.
func (r *run) chunk(ctx context.Context, c int, where string, extra map[string]int64) error {
	var out bytes.Buffer
	q := "SELECT " + legacyArrival + ", toUnixTimestamp64Milli(received_at), raw FROM lead_updates WHERE " + where +
		" ORDER BY lead_id, arrival, callback_id FORMAT RowBinary"
	if err := r.st.Query(ctx, q, &out); err != nil {
		return fmt.Errorf("rebuild: read chunk %d: %w", c, err)
	}
	b := newBatch()
	data := out.Bytes()
	for len(data) > 0 {
		arrival, received, body, rest, err := rowBinary(data)
		if err != nil {
			return fmt.Errorf("rebuild: chunk %d: %w", c, err)
		}
		data = rest
		b.add(r.o, arrival, time.UnixMilli(received).UTC(), "", body, "")
	}
	b.extra = extra
	return r.write(ctx, c, b)
}

// deadLetters re-flattens the dead letters up to the watermark that no replay stored: those
// that now flatten become callbacks (and are marked stored once swapped in); every dead letter
// is kept in the new dead_letters as it was.
func (r *run) deadLetters(ctx context.Context, c int) error {
	if ok, err := r.chunkDone(ctx, c, "dead_letters"); err != nil || ok {
		return err
	}
	var out bytes.Buffer
	q := fmt.Sprintf(`SELECT %s, toUnixTimestamp64Milli(received_at), body, remote_addr, cityHash64(received_at, remote_addr, body) AS id
FROM dead_letters WHERE arrival <= %d AND id NOT IN (SELECT dead_letter_id FROM dead_letter_replays WHERE outcome IN ('stored', 'duplicate'))
ORDER BY received_at, id LIMIT 1 BY id FORMAT RowBinary`, legacyArrival, r.watermark)
	if err := r.st.Query(ctx, q, &out); err != nil {
		return fmt.Errorf("rebuild: read dead letters: %w", err)
	}
	b := newBatch()
	data := out.Bytes()
	for len(data) > 0 {
		arrival, received, body, rest, err := rowBinary(data)
		if err != nil {
			return fmt.Errorf("rebuild: dead letters: %w", err)
		}
		remote, rest, err := rowString(rest)
		if err != nil {
			return fmt.Errorf("rebuild: dead letters: %w", err)
		}
		if len(rest) < 8 {
			return errors.New("rebuild: dead letters: short row")
		}
		id := binary.LittleEndian.Uint64(rest)
		data = rest[8:]
		b.add(r.o, arrival, time.UnixMilli(received).UTC(), string(remote), body, strconv.FormatUint(id, 10))
	}
	// Dead letters stay dead letters in the new table, whatever they become now.
	if err := r.st.Exec(ctx, fmt.Sprintf("INSERT INTO dead_letters%s SELECT * FROM dead_letters WHERE arrival <= %d SETTINGS insert_deduplication_token = %s",
		Suffix, r.watermark, quote("rebuild/"+r.res.ID+"/dead_letters"))); err != nil {
		return fmt.Errorf("rebuild: copy dead letters: %w", err)
	}
	n, err := r.scalar(ctx, fmt.Sprintf("SELECT count() FROM dead_letters WHERE arrival <= %d", r.watermark))
	if err != nil {
		return err
	}
	copied, _ := strconv.ParseInt(n, 10, 64)
	b.extra = map[string]int64{"dead_letters": copied}
	return r.write(ctx, c, b)
}

// catchUp re-flattens what arrived after the watermark, in passes, until a pass finds little.
// Each pass records the arrival it reached (table_name arrivalTo), so that a resumed run moves
// the watermark past the passes done exactly as far as they went.
func (r *run) catchUp(ctx context.Context, first int) error {
	for c := first; ; c++ {
		reached, err := r.scalar(ctx, fmt.Sprintf("SELECT max(rows) FROM rebuild_chunks WHERE rebuild = %s AND chunk = %d AND table_name = %s",
			quote(r.res.ID), c, quote(arrivalTo)))
		if err != nil {
			return err
		}
		w, _ := strconv.ParseUint(reached, 10, 64)
		done := w > 0
		if !done {
			top, err := r.scalar(ctx, "SELECT greatest((SELECT max(arrival) FROM lead_updates), (SELECT max(arrival) FROM dead_letters))")
			if err != nil {
				return err
			}
			if w, _ = strconv.ParseUint(top, 10, 64); w <= r.watermark {
				return nil
			}
		}
		where := fmt.Sprintf("arrival > %d AND arrival <= %d", r.watermark, w)
		n, err := r.scalar(ctx, "SELECT count() FROM lead_updates WHERE "+where)
		if err != nil {
			return err
		}
		if !done {
			if err := r.st.Exec(ctx, fmt.Sprintf("INSERT INTO dead_letters%s SELECT * FROM dead_letters WHERE %s SETTINGS insert_deduplication_token = %s",
				Suffix, where, quote(fmt.Sprintf("rebuild/%s/dead_letters/%d", r.res.ID, c)))); err != nil {
				return fmt.Errorf("rebuild: copy dead letters: %w", err)
			}
			copied, err := r.scalar(ctx, "SELECT count() FROM dead_letters WHERE "+where)
			if err != nil {
				return err
			}
			d, _ := strconv.ParseInt(copied, 10, 64)
			if err := r.chunk(ctx, c, where, map[string]int64{"dead_letters": d, arrivalTo: int64(w)}); err != nil {
				return err
			}
		}
		r.watermark = w
		r.o.Logger.Info("rebuild caught up", "callbacks", n, "arrival", w)
		if k, _ := strconv.Atoi(n); !done && k < r.o.ChunkRows/10 {
			return nil
		}
	}
}

// rowsOf appends rows, of table t, to a builder and says how many.
func rowsOf[R any](t *schema.Table, rows []R) func(*array.RecordBuilder) int {
	return func(rb *array.RecordBuilder) int {
		schema.Append(t, rb, rows)
		return len(rows)
	}
}

// write inserts a chunk's rows into the new tables, each with a token of its own, and records
// the chunk.
func (r *run) write(ctx context.Context, c int, b *batch) error {
	counts := map[string]int64{}
	insert := func(t *schema.Table, fill func(*array.RecordBuilder) int) error {
		rb := t.NewBuilder(memory.DefaultAllocator)
		defer rb.Release()
		n := fill(rb)
		counts[t.Name] = int64(n)
		if n == 0 {
			return nil
		}
		rec := rb.NewRecordBatch()
		defer rec.Release()
		token := fmt.Sprintf("rebuild/%s/%d/%s", r.res.ID, c, t.Name)
		if err := r.st.Insert(ctx, t.Renamed(t.Name+Suffix), sink.Batch{Chunks: []arrow.RecordBatch{rec}}, token); err != nil {
			return fmt.Errorf("rebuild: write chunk %d of %s: %w", c, t.Name, err)
		}
		return nil
	}
	steps := []error{
		insert(schema.LeadUpdates, rowsOf(schema.LeadUpdates, b.rows.leads)),
		insert(schema.Events, rowsOf(schema.Events, b.rows.Events)),
		insert(schema.Notes, rowsOf(schema.Notes, b.rows.Notes)),
		insert(schema.Calls, rowsOf(schema.Calls, b.rows.Calls)),
		insert(schema.Dispositions, rowsOf(schema.Dispositions, b.rows.Dispositions)),
		insert(schema.Transitions, rowsOf(schema.Transitions, b.rows.Transitions)),
		insert(schema.BookingDocs, rowsOf(schema.BookingDocs, b.rows.BookingDocs)),
		insert(schema.DeadLetters, rowsOf(schema.DeadLetters, b.deadLetters)),
	}
	if err := errors.Join(steps...); err != nil {
		return err
	}
	// The entity tables are ReplacingMergeTree: they keep one row per entity, so what is
	// checked is the entities written, distinct within the chunk.
	counts[schema.Events.Name] = distinct(b.rows.Events, func(e schema.Event) [2]uint64 { return [2]uint64{e.LeadID, e.EventID} })
	counts[schema.Notes.Name] = distinct(b.rows.Notes, func(e schema.Note) [2]uint64 { return [2]uint64{e.LeadID, e.NoteID} })
	counts[schema.Calls.Name] = distinct(b.rows.Calls, func(e schema.Call) [2]uint64 { return [2]uint64{e.LeadID, e.CallID} })
	counts[schema.Dispositions.Name] = distinct(b.rows.Dispositions, func(e schema.Disposition) [2]uint64 { return [2]uint64{e.LeadID, e.DispositionID} })
	counts[schema.BookingDocs.Name] = distinct(b.rows.BookingDocs, func(e schema.BookingDoc) [2]uint64 { return [2]uint64{e.LeadID, e.DocID} })
	counts[schema.Transitions.Name] = int64(len(distinctBy(b.rows.Transitions, func(e schema.StatusTransition) string {
		return strconv.FormatUint(e.LeadID, 10) + "/" + e.Status
	})))
	for k, v := range b.extra {
		counts[k] += v
	}
	if len(b.marks) > 0 {
		// Dead letters that became callbacks, to mark once the new tables are live (cleanUp).
		counts["dead_letter_marks"] = int64(len(b.marks))
		var vals []string
		for _, id := range b.marks {
			vals = append(vals, fmt.Sprintf("(%s, %d, %s, 0, now64(3, 'UTC'))", quote(r.res.ID), c, quote(markPrefix+id)))
		}
		if err := r.st.Exec(ctx, "INSERT INTO rebuild_chunks (rebuild, chunk, table_name, rows, done_at) SETTINGS insert_deduplication_token = "+
			quote(fmt.Sprintf("rebuild/%s/%d/marks", r.res.ID, c))+" VALUES "+strings.Join(vals, ", ")); err != nil {
			return fmt.Errorf("rebuild: record dead letters to mark: %w", err)
		}
	}
	r.res.Callbacks += counts["lead_updates"]
	return r.record(ctx, c, counts)
}

// record writes the chunk's row counts to rebuild_chunks; a chunk is done once its lead_updates
// row is there (written last).
func (r *run) record(ctx context.Context, c int, counts map[string]int64) error {
	names := make([]string, 0, len(counts))
	for k := range counts {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int {
		// lead_updates last: its row is what says the chunk is done.
		return cmpBool(a == "lead_updates", b == "lead_updates", strings.Compare(a, b))
	})
	var vals []string
	for _, k := range names {
		vals = append(vals, fmt.Sprintf("(%s, %d, %s, %d, now64(3, 'UTC'))", quote(r.res.ID), c, quote(k), counts[k]))
		if _, ok := schema.Lookup(k); ok {
			r.res.Rows[k] += counts[k]
		}
	}
	q := "INSERT INTO rebuild_chunks (rebuild, chunk, table_name, rows, done_at) SETTINGS insert_deduplication_token = " +
		quote(fmt.Sprintf("rebuild/%s/%d/chunks", r.res.ID, c)) + " VALUES " + strings.Join(vals, ", ")
	if err := r.st.Exec(ctx, q); err != nil {
		return fmt.Errorf("rebuild: record chunk %d: %w", c, err)
	}
	return nil
}

// distinct counts the distinct keys of rows.
func distinct[R any](rows []R, key func(R) [2]uint64) int64 { return int64(len(distinctBy(rows, key))) }

func distinctBy[R any, K comparable](rows []R, key func(R) K) map[K]struct{} {
	seen := make(map[K]struct{}, len(rows))
	for _, r := range rows {
		seen[key(r)] = struct{}{}
	}
	return seen
}

func cmpBool(a, b bool, then int) int {
	switch {
	case a == b:
		return then
	case a:
		return 1
	}
	return -1
}

// chunkDone reports whether chunk c of the rebuild recorded table (lead_updates: the whole chunk).
func (r *run) chunkDone(ctx context.Context, c int, table string) (bool, error) {
	n, err := r.scalar(ctx, fmt.Sprintf("SELECT count() FROM rebuild_chunks WHERE rebuild = %s AND chunk = %d AND table_name = %s", quote(r.res.ID), c, quote(table)))
	return n != "0", err
}

// check compares each new callback table with the rows written to it, and the distinct
// callbacks of the new lead_updates with the old ones' plus the dead letters that became
// callbacks. Nothing is swapped when a figure differs.
func (r *run) check(ctx context.Context) error {
	if r.o.StateOnly {
		return nil
	}
	entityKey := map[string]string{
		schema.Events.Name: "event_id", schema.Notes.Name: "note_id", schema.Calls.Name: "call_id",
		schema.Dispositions.Name: "disposition_id", schema.BookingDocs.Name: "doc_id", schema.Transitions.Name: "status",
	}
	for _, t := range rawTables {
		sum := func(chunks string) (int64, error) {
			n, err := r.scalar(ctx, fmt.Sprintf("SELECT sum(rows) FROM rebuild_chunks WHERE rebuild = %s AND table_name = %s AND %s",
				quote(r.res.ID), quote(t.Name), chunks))
			v, _ := strconv.ParseInt(n, 10, 64)
			return v, err
		}
		all, err := sum("1")
		if err != nil {
			return err
		}
		count := "count()"
		if k, ok := entityKey[t.Name]; ok {
			count = "uniqExact(lead_id, " + k + ")"
		}
		n, err := r.scalar(ctx, "SELECT "+count+" FROM "+t.Name+Suffix)
		if err != nil {
			return err
		}
		stored, _ := strconv.ParseInt(n, 10, 64)
		if _, ok := entityKey[t.Name]; !ok {
			if stored != all {
				return fmt.Errorf("rebuild %s: check: %s%s holds %d rows, %d were written: nothing swapped; run rebuild again", r.res.ID, t.Name, Suffix, stored, all)
			}
			continue
		}
		// Chunks of lead ranges are disjoint; catch-up passes may repeat their entities.
		main, err := sum(fmt.Sprintf("chunk < %d", r.catchUpFrom))
		if err != nil {
			return err
		}
		if stored < main || stored > all {
			return fmt.Errorf("rebuild %s: check: %s%s holds %d entities, %d to %d were written: nothing swapped; run rebuild again", r.res.ID, t.Name, Suffix, stored, main, all)
		}
	}
	where := fmt.Sprintf("arrival <= %d", r.watermark)
	old, err := r.scalar(ctx, "SELECT uniqExact(callback_id) FROM lead_updates WHERE "+where)
	if err != nil {
		return err
	}
	converted, err := r.scalar(ctx, fmt.Sprintf("SELECT sum(rows) FROM rebuild_chunks WHERE rebuild = %s AND table_name = 'dead_letter_marks'", quote(r.res.ID)))
	if err != nil {
		return err
	}
	fresh, err := r.scalar(ctx, "SELECT uniqExact(callback_id) FROM lead_updates"+Suffix+" WHERE "+where)
	if err != nil {
		return err
	}
	o, _ := strconv.ParseInt(old, 10, 64)
	c, _ := strconv.ParseInt(converted, 10, 64)
	f, _ := strconv.ParseInt(fresh, 10, 64)
	if f < o || f > o+c {
		return fmt.Errorf("rebuild %s: check: lead_updates%s holds %d distinct callbacks, lead_updates %d (and %d dead letters became callbacks): nothing swapped", r.res.ID, Suffix, f, o, c)
	}
	r.o.Logger.Info("rebuild checked", "id", r.res.ID, "callbacks", f, "rows", r.res.Rows)
	return nil
}

// swap exchanges each live table with its new one, unless a crashed run already did (the live
// table then carries the rebuild's mark).
func (r *run) swap(ctx context.Context) error {
	mark := "rebuild " + r.res.ID
	for _, name := range r.tables() {
		swapped, err := r.carries(ctx, name, mark)
		if err != nil {
			return err
		}
		if swapped {
			continue
		}
		if err := r.st.Exec(ctx, "EXCHANGE TABLES "+name+" AND "+name+Suffix); err != nil {
			return fmt.Errorf("rebuild: swap %s: %w", name, err)
		}
	}
	r.o.Logger.Info("rebuild swapped the tables in", "id", r.res.ID)
	return nil
}

// carryOver moves what serve stored in the old tables after the last catch-up (between it and
// the swap) to the live ones, once no insert that began before the swap is still running, and
// folds it into the state.
func (r *run) carryOver(ctx context.Context) error {
	if err := r.waitInserts(ctx); err != nil {
		return err
	}
	if r.o.StateOnly {
		return nil
	}
	where := fmt.Sprintf("arrival > %d", r.watermark)
	before, err := r.scalar(ctx, "SELECT count() FROM lead_updates WHERE "+where)
	if err != nil {
		return err
	}
	for _, t := range rawTables {
		key := "(callback_id, arrival)"
		if t == schema.DeadLetters {
			key = "(received_at, arrival)"
		}
		q := fmt.Sprintf("INSERT INTO %s SELECT * FROM %s%s WHERE %s AND %s NOT IN (SELECT %s FROM %s WHERE %s)",
			t.Name, t.Name, Suffix, where, key, key, t.Name, where)
		if err := r.st.Exec(ctx, q); err != nil {
			return fmt.Errorf("rebuild: carry over %s: %w", t.Name, err)
		}
	}
	after, err := r.scalar(ctx, "SELECT count() FROM lead_updates WHERE "+where)
	if err != nil {
		return err
	}
	b, _ := strconv.ParseInt(before, 10, 64)
	a, _ := strconv.ParseInt(after, 10, 64)
	r.res.CarriedOn = a - b
	// The rows moved over reached the live tables by INSERT, so their views saw them; rows serve
	// wrote to a live table before its state table was swapped reached the old state: fold
	// everything after the watermark into the state again (idempotent).
	for _, mv := range r.mvs {
		q := "INSERT INTO " + mv.target + " " + r.reading(mv.query, "", where)
		if err := r.st.Exec(ctx, q); err != nil {
			return fmt.Errorf("rebuild: fold carried-over rows into %s: %w", mv.target, err)
		}
	}
	return nil
}

// waitInserts waits until no INSERT into this database that began before now is running.
func (r *run) waitInserts(ctx context.Context) error {
	since := time.Now()
	deadline := since.Add(5 * time.Minute)
	for {
		// A query that began before since has run for longer than since is old.
		n, err := r.scalar(ctx, fmt.Sprintf("SELECT count() FROM system.processes WHERE query_kind = 'Insert' AND current_database = currentDatabase() "+
			"AND elapsed > %f AND query_id != queryID()", time.Since(since).Seconds()))
		if err != nil {
			return err
		}
		if n == "0" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rebuild: %s inserts begun before the swap still run after 5 minutes", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cleanUp marks the dead letters that became callbacks, restores the live tables' comments and
// drops the old tables and the rebuild's views.
func (r *run) cleanUp(ctx context.Context) error {
	if !r.o.StateOnly {
		q := fmt.Sprintf(`INSERT INTO dead_letter_replays (dead_letter_id, replayed_at, outcome, reason, error, callback_id)
SETTINGS insert_deduplication_token = %s
SELECT toUInt64(substring(table_name, %d)), done_at, 'stored', '', 'by rebuild ' || rebuild, '' FROM rebuild_chunks
WHERE rebuild = %s AND startsWith(table_name, %s)`, quote("rebuild/"+r.res.ID+"/marks"), len(markPrefix)+1, quote(r.res.ID), quote(markPrefix))
		if err := r.st.Exec(ctx, q); err != nil {
			return fmt.Errorf("rebuild: mark dead letters: %w", err)
		}
	}
	for _, mv := range r.mvs {
		if err := r.st.Exec(ctx, "DROP TABLE IF EXISTS "+mv.name+Suffix); err != nil {
			return fmt.Errorf("rebuild: drop %s%s: %w", mv.name, Suffix, err)
		}
	}
	for _, name := range r.tables() {
		exists, err := r.scalar(ctx, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = "+quote(name+Suffix))
		if err != nil {
			return err
		}
		if exists == "0" {
			continue
		}
		// The old table's comment is the table's own; the live one carries the rebuild's mark.
		c, err := r.scalarRaw(ctx, "SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = "+quote(name+Suffix)+" FORMAT RawBLOB")
		if err != nil {
			return err
		}
		if err := r.st.Exec(ctx, "ALTER TABLE "+name+" MODIFY COMMENT "+quote(c)); err != nil {
			return fmt.Errorf("rebuild: restore the comment of %s: %w", name, err)
		}
		if err := r.st.Exec(ctx, "DROP TABLE "+name+Suffix); err != nil {
			return fmt.Errorf("rebuild: drop the old %s: %w", name, err)
		}
	}
	r.o.Logger.Info("rebuild done", "id", r.res.ID, "callbacks", r.res.Callbacks, "carried_over", r.res.CarriedOn)
	return nil
}

// dropNew drops the rebuild's views and new tables, views first so that nothing feeds them.
func (r *run) dropNew(ctx context.Context) error {
	var out bytes.Buffer
	if err := r.st.Query(ctx, "SELECT name FROM system.tables WHERE database = currentDatabase() AND endsWith(name, '"+Suffix+"') ORDER BY engine = 'MaterializedView' DESC", &out); err != nil {
		return fmt.Errorf("rebuild: list new tables: %w", err)
	}
	for name := range strings.FieldsSeq(out.String()) {
		if err := r.st.Exec(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
			return fmt.Errorf("rebuild: drop %s: %w", name, err)
		}
	}
	return nil
}

func (r *run) scalar(ctx context.Context, q string) (string, error) {
	s, err := r.scalarRaw(ctx, q)
	return strings.TrimSpace(s), err
}

func (r *run) scalarRaw(ctx context.Context, q string) (string, error) {
	var out bytes.Buffer
	if err := r.st.Query(ctx, q, &out); err != nil {
		return "", fmt.Errorf("rebuild: %w", err)
	}
	return out.String(), nil
}

// quote quotes s as a ClickHouse string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
