package sink

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/gen"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink/native"
	"github.com/leadhouse/leadhouse/sink/wal"
)

func TestTokenDependsOnlyOnTheRecords(t *testing.T) {
	rows := func(id uint64) *schema.Rows {
		r := &schema.Rows{Lead: schema.LeadUpdate{Meta: schema.Meta{LeadID: id, CallbackID: fmt.Sprint("cb-", id)}}}
		if id%2 == 0 {
			r.Events = []schema.Event{{Meta: r.Lead.Meta, EventID: id}}
		}
		return r
	}
	type rec struct {
		pos  wal.Position
		body string
	}
	build := func(recs ...rec) *generation {
		g := newGeneration(newBufferPool(64<<20), &[numTables]chunkHint{})
		for _, r := range recs {
			var id uint64
			fmt.Sscanf(r.body, "cb-%d", &id)
			g.addRows(r.pos, recordHash(r.pos, []byte(r.body)), rows(id), nil, time.Now())
		}
		return g
	}
	p := func(off int64) wal.Position { return wal.Position{Segment: 1, Offset: off} }
	a, b, c := rec{p(0), "cb-1"}, rec{p(10), "cb-2"}, rec{p(20), "cb-3"}
	same := build(a, b, c)
	tests := []struct {
		name      string
		g         *generation
		lead, evt bool // whether the lead and event tokens equal same's
	}{
		{"same records", build(a, b, c), true, true},
		{"other order", build(c, a, b), true, true},
		{"a record more", build(a, b, c, rec{p(30), "cb-5"}), false, true},
		{"a record less", build(a, c), false, false},
		{"other body at the same positions", build(a, b, rec{p(20), "cb-7"}), false, true},
		{"same bodies at other positions", build(rec{p(0), "cb-1"}, rec{p(11), "cb-2"}, rec{p(20), "cb-3"}), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.g.token(tLeads) == same.token(tLeads); got != tt.lead {
				t.Errorf("lead token %q vs %q: equal %v, want %v", tt.g.token(tLeads), same.token(tLeads), got, tt.lead)
			}
			// cb-5 and cb-7 have no event rows, so the event batch is the same rows.
			if got := tt.g.token(tEvents) == same.token(tEvents); got != tt.evt {
				t.Errorf("event token %q vs %q: equal %v, want %v", tt.g.token(tEvents), same.token(tEvents), got, tt.evt)
			}
		})
	}
}

func TestGenerationCountsItsArrowMemory(t *testing.T) {
	g := newGeneration(newBufferPool(64<<20), &[numTables]chunkHint{})
	body := []byte("not a callback")
	for i := range 100 {
		pos := wal.Position{Segment: 1, Offset: int64(i)}
		g.addDeadLetter(pos, recordHash(pos, body), &schema.DeadLetter{Body: string(bytes.Repeat(body, 100))}, time.Now())
	}
	if got := g.bytes(); got < 100*100*int64(len(body)) {
		t.Errorf("generation of 100 dead letters of %d bytes counts %d bytes", 100*len(body), got)
	}
	rows := 0
	for _, rec := range g.build(tDeadLetters, nil, nil).Chunks {
		rows += int(rec.NumRows())
	}
	if rows != 100 {
		t.Errorf("batch of %d rows, want 100", rows)
	}
	g.release()
	if got := g.bytes(); got != 0 {
		t.Errorf("%d bytes counted after release", got)
	}
}

// BenchmarkBatch1000Callbacks builds one generation from 1,000 flattened sample callbacks and
// encodes every table's batch in the engine's Native format, as a flush does while inserting: the
// raw bodies are left in a write-ahead log and read back from it as lead_updates is encoded.
// Generations share one buffer pool, as in the pipeline.
func BenchmarkBatch1000Callbacks(b *testing.B) {
	body, err := os.ReadFile("../flatten/testdata/seed_callback.json")
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, 1000)
	for i := range bodies {
		bodies[i] = bytes.Replace(body, []byte(`"lead_id":1402361,`), fmt.Appendf(nil, `"lead_id":%d,`, 1_000_000+i), 1)
	}
	benchmarkBatch(b, bodies)
}

// BenchmarkBatch1000Generated is BenchmarkBatch1000Callbacks with generated callbacks, the load
// of scripts/bench.sh: varied sizes (median ~6 KB, a long tail), statuses, notes and calls.
func BenchmarkBatch1000Generated(b *testing.B) {
	next := gen.New(gen.Options{Seed: 1})
	bodies := make([][]byte, 1000)
	for i := range bodies {
		bodies[i] = next.Next(nil)
	}
	benchmarkBatch(b, bodies)
}

func benchmarkBatch(b *testing.B, bodies [][]byte) {
	n := len(bodies)
	log, err := wal.Open(wal.Options{Dir: b.TempDir(), Sync: wal.SyncInterval})
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	positions := make([]wal.Position, n)
	all := make([]*schema.Rows, n)
	for i := range bodies {
		if all[i], err = flatten.Flatten(bodies[i], at); err != nil {
			b.Fatal(err)
		}
		if positions[i], err = log.Append(b.Context(), wal.Record{ReceivedAt: at, Body: bodies[i]}); err != nil {
			b.Fatal(err)
		}
	}
	var buffered, allocated, encoded int64
	var buf []byte // kept across iterations, as the embedded store keeps it
	pool := newBufferPool(64 << 20)
	var hints [numTables]chunkHint
	reader := log.NewBodyReader()
	defer reader.Close()
	var raws chunkBodies // kept across generations, as the pipeline keeps it
	rows := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		g := newGeneration(pool, &hints)
		for i, r := range all {
			g.addRows(positions[i], recordHash(positions[i], bodies[i]), r, bodies[i], at)
		}
		// buffered is what the memory limits count; allocated adds the room reserved for the
		// last chunks and not filled.
		buffered, allocated = g.bytes(), 0
		for i := range g.tables {
			allocated += g.tables[i].mem.n.Load()
		}
		allocated += g.tables[tLeads].refMem.Load()
		rows = g.rows
		encoded = 0
		for i := range g.tables {
			if g.tables[i].rows == 0 {
				continue
			}
			batch := g.build(i, reader.Body, &raws)
			cols := nativeColumns(tables[i])
			if d := batch.Deferred; d != nil {
				cols[d.Column].Values = d.Value
			}
			buf, err = native.WriteBlock(buf, batch.Chunks, cols, 4<<20, func(p []byte) error {
				encoded += int64(len(p))
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		g.release()
	}
	var raw int
	for _, bd := range bodies {
		raw += len(bd)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "callbacks/s")
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	per := float64(n) / 1000 * (1 << 20)
	b.ReportMetric(float64(buffered)/per, "MiB-buffered/1000cb")
	b.ReportMetric(float64(allocated)/per, "MiB-allocated/1000cb")
	b.ReportMetric(float64(encoded)/per, "MiB-native/1000cb")
	b.ReportMetric(float64(raw)/per, "MiB-bodies/1000cb")
}

func nativeColumns(t *schema.Table) []native.Column {
	cols := make([]native.Column, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = native.Column{Name: c.Name, Type: c.Type}
	}
	return cols
}

// A table's rows are sealed into chunks of about chunkBytes as they come, in arrival order, so
// no buffer grows much past a chunk however large the generation.
func TestGenerationSealsChunksAsItFills(t *testing.T) {
	body, err := os.ReadFile("../flatten/testdata/seed_callback.json")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	g := newGeneration(newBufferPool(64<<20), &[numTables]chunkHint{})
	const n = 1500 // ~11 MB of raw bodies in lead_updates
	var ids []string
	for i := range n {
		b := bytes.Replace(body, []byte(`"lead_id":1402361,`), fmt.Appendf(nil, `"lead_id":%d,`, 1_000_000+i), 1)
		r, err := flatten.Flatten(b, at)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Lead.CallbackID)
		pos := wal.Position{Segment: 1, Offset: int64(i) * 8000}
		g.addRows(pos, recordHash(pos, b), r, nil, at)
	}
	chunks := g.build(tLeads, nil, nil).Chunks
	if len(chunks) < 4 {
		t.Fatalf("%d callbacks of %d bytes made %d lead_updates chunks, want several of about %d bytes", n, len(body), len(chunks), chunkBytes)
	}
	var got []string
	for k, c := range chunks {
		if size := recordBytes(c); size > 2*chunkBytes {
			t.Errorf("chunk %d holds %d bytes, over twice chunkBytes", k, size)
		}
		col := c.Column(c.Schema().FieldIndices("callback_id")[0]).(*array.String)
		for i := range col.Len() {
			got = append(got, col.Value(i))
		}
	}
	if !slices.Equal(got, ids) {
		t.Errorf("chunks hold %d callbacks, want the %d added, in order", len(got), len(ids))
	}
	if again := g.build(tLeads, nil, nil).Chunks; len(again) != len(chunks) {
		t.Errorf("second build gave %d chunks, want the same %d", len(again), len(chunks))
	}
	g.release()
	if got := g.bytes(); got != 0 {
		t.Errorf("%d bytes counted after release", got)
	}
}

// After one generation the hints size the next one's chunks: each full chunk has the hint's rows,
// and its buffers, reserved once, hold little spare capacity.
func TestHintsSizeTheNextGenerationsChunks(t *testing.T) {
	f := newSampleFiller(t)
	fill, hints, body := f.fill, &f.hints, f.body
	fill(1200).release()
	h := hints[tLeads]
	if h.rows < minChunkRows || h.rows > maxChunkRows {
		t.Fatalf("lead_updates hint of %d rows after a generation", h.rows)
	}
	raw := schema.LeadUpdates.ArrowSchema().FieldIndices("raw")[0]
	if h.data[raw] < h.rows*len(body)*9/10 {
		t.Fatalf("hint for the raw column: %v bytes for %d rows of %d-byte bodies", h.data, h.rows, len(body))
	}

	g := fill(1200)
	defer g.release()
	chunks := g.build(tLeads, nil, nil).Chunks
	for k, c := range chunks[:len(chunks)-1] {
		if int(c.NumRows()) != h.rows {
			t.Errorf("chunk %d has %d rows, want the hint's %d", k, c.NumRows(), h.rows)
		}
		col := c.Column(raw).(*array.String)
		if used, held := len(col.ValueBytes()), col.Data().Buffers()[2].Cap(); held > used*3/2 {
			t.Errorf("chunk %d: raw bodies use %d bytes of a %d-byte buffer", k, used, held)
		}
	}
}

// The room a hint reserves is not counted as used: a generation of one record after a heavy load
// must not look a chunk per table big (it would flush or spill at once), and a generation that
// fills no chunk shrinks the hints it did not use.
func TestReservedRoomIsNotCountedAndUnusedHintsDecay(t *testing.T) {
	f := newSampleFiller(t)
	fill, hints, body, at, pool := f.fill, &f.hints, f.body, f.at, f.pool
	fill(3000).release()
	learnt := hints[tLeads].rows
	if learnt < 100 {
		t.Fatalf("lead_updates hint of %d rows after 3,000 callbacks", learnt)
	}

	one := fill(1)
	if got := one.bytes(); got > 256<<10 {
		t.Errorf("a generation of one %d-byte callback counts %d bytes", len(body), got)
	}
	if held := one.tables[tLeads].mem.n.Load(); held < chunkBytes/2 {
		t.Errorf("lead_updates holds %d bytes: the builder did not reserve a chunk from its hint", held)
	}
	one.freeze()
	frozen := one.bytes()
	one.decayHints()
	if got := one.bytes(); got != frozen {
		t.Errorf("a frozen generation counted %d bytes, then %d once the hints decayed", frozen, got)
	}
	if got := hints[tLeads].rows; got != minChunkRows {
		t.Errorf("after a generation of one record the lead_updates hint is %d rows, want %d", got, minChunkRows)
	}
	one.release()

	// Rows far larger than the hint's are counted by their data, not the hint's bytes per row.
	fill(3000).release()
	big := newGeneration(pool, hints)
	r, err := flatten.Flatten(body, at)
	if err != nil {
		t.Fatal(err)
	}
	r.Lead.Raw = strings.Repeat("x", 300_000)
	for i := range 5 {
		pos := wal.Position{Segment: 2, Offset: int64(i) * 400_000}
		big.addRows(pos, recordHash(pos, body), r, nil, at)
	}
	if got := big.bytes(); got < 5*300_000 {
		t.Errorf("5 callbacks with 300 KB bodies count %d bytes", got)
	}
	big.release()

	// The next generation starts small, and the first full chunk scales the hint back.
	g := fill(600)
	defer g.release()
	if got := hints[tLeads].rows; got < learnt*3/4 || got > learnt*5/4 {
		t.Errorf("hint back to %d rows after a full chunk, want about %d", got, learnt)
	}
}

// sampleFiller fills generations, sharing one pool and one set of hints as a pipeline's do, with
// the CRM's sample callback, each copy about its own lead.
type sampleFiller struct {
	t     *testing.T
	body  []byte
	at    time.Time
	pool  *bufferPool
	hints [numTables]chunkHint
}

func newSampleFiller(t *testing.T) *sampleFiller {
	t.Helper()
	body, err := os.ReadFile("../flatten/testdata/seed_callback.json")
	if err != nil {
		t.Fatal(err)
	}
	return &sampleFiller{t: t, body: body, at: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), pool: newBufferPool(64 << 20)}
}

func (f *sampleFiller) fill(n int) *generation {
	f.t.Helper()
	g := newGeneration(f.pool, &f.hints)
	for i := range n {
		b := bytes.Replace(f.body, []byte(`"lead_id":1402361,`), fmt.Appendf(nil, `"lead_id":%d,`, 1_000_000+i), 1)
		r, err := flatten.Flatten(b, f.at)
		if err != nil {
			f.t.Fatal(err)
		}
		pos := wal.Position{Segment: 1, Offset: int64(i) * 8000}
		g.addRows(pos, recordHash(pos, b), r, nil, f.at)
	}
	return g
}

// A callback's raw body stays in the write-ahead log: the batch holds its position, counts a
// fraction of the body's size, and the batch's deferred values read it back, row for row and in
// order, with the bodies that had to stay in memory (a body that is not the record's) among them.
func TestRawBodiesStayInTheLog(t *testing.T) {
	log, err := wal.Open(wal.Options{Dir: t.TempDir(), Sync: wal.SyncInterval, SegmentBytes: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	f := newSampleFiller(t)
	g := newGeneration(f.pool, &f.hints)
	defer g.release()
	const n = 2000 // a lead_updates chunk holds ~1,600 callbacks without their bodies
	var want []string
	inMemory := 0
	for i := range n {
		b := bytes.Replace(f.body, []byte(`"lead_id":1402361,`), fmt.Appendf(nil, `"lead_id":%d,`, 1_000_000+i), 1)
		r, err := flatten.Flatten(b, f.at)
		if err != nil {
			t.Fatal(err)
		}
		pos, err := log.Append(t.Context(), wal.Record{ReceivedAt: f.at, Body: b})
		if err != nil {
			t.Fatal(err)
		}
		record := b
		if i%50 == 7 {
			record, inMemory = nil, inMemory+1 // no body to compare: kept in the batch
		}
		g.addRows(pos, recordHash(pos, b), r, record, f.at)
		want = append(want, string(b))
	}
	// The sample's flattened values take about three quarters of its body's size; with the
	// bodies in memory too, the generation would count about twice the bodies.
	if got, bodies := g.bytes(), int64(n*len(f.body)); got > bodies {
		t.Errorf("%d callbacks with %d bytes of bodies count %d bytes", n, bodies, got)
	}

	reader := log.NewBodyReader()
	defer reader.Close()
	batch := g.build(tLeads, reader.Body, &chunkBodies{})
	if batch.Deferred == nil || batch.Deferred.Column != rawColumn || len(batch.Chunks) < 2 {
		t.Fatalf("batch of %d chunks, deferred %+v: want several chunks and raw deferred", len(batch.Chunks), batch.Deferred)
	}
	var got []string
	empty := 0
	for k, c := range batch.Chunks {
		vals, err := batch.Strings(k, rawColumn)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, vals...)
		col := c.Column(rawColumn).(*array.String)
		for i := range col.Len() {
			if col.Value(i) == "" {
				empty++
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("deferred raw values differ from the %d bodies added", n)
	}
	if empty != n-inMemory {
		t.Errorf("%d rows of the raw column are empty in memory, want the %d deferred", empty, n-inMemory)
	}

	// Without a reader the deferred rows are an error, never an empty body.
	if _, err := g.build(tLeads, nil, &chunkBodies{}).Strings(0, rawColumn); err == nil {
		t.Error("deferred raw bodies read without a reader of the log")
	}
}

// A generation's chunks (dictionaries reset and runs restarted at every seal, buffers reused from
// the pool, builders sized from hints) encode to the same Native block as one record of the same
// rows built afresh: generated callbacks, in generations large and small sharing pool and hints.
func TestChunkedGenerationsEncodeLikeOneRecord(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	pool := newBufferPool(64 << 20)
	var hints [numTables]chunkHint
	for round, n := range []int{3000, 300, 2000, 3} {
		next := gen.New(gen.Options{Seed: int64(round), Leads: 50 + 3000*round})
		g := newGeneration(pool, &hints)
		fresh := map[*schema.Table]*array.RecordBuilder{}
		builder := func(t *schema.Table) *array.RecordBuilder {
			if fresh[t] == nil {
				fresh[t] = t.NewBuilder(memory.NewGoAllocator())
			}
			return fresh[t]
		}
		for i := range n {
			r, err := flatten.Flatten(next.Next(nil), at)
			if err != nil {
				t.Fatal(err)
			}
			pos := wal.Position{Segment: 1, Offset: int64(i) * 10}
			g.addRows(pos, recordHash(pos, nil), r, nil, at)
			schema.AppendOne(schema.LeadUpdates, builder(schema.LeadUpdates), &r.Lead)
			schema.Append(schema.Events, builder(schema.Events), r.Events)
			schema.Append(schema.Notes, builder(schema.Notes), r.Notes)
			schema.Append(schema.Calls, builder(schema.Calls), r.Calls)
			schema.Append(schema.Dispositions, builder(schema.Dispositions), r.Dispositions)
			schema.Append(schema.Transitions, builder(schema.Transitions), r.Transitions)
			schema.Append(schema.BookingDocs, builder(schema.BookingDocs), r.BookingDocs)
		}
		for i := range numTables {
			if g.tables[i].rows == 0 {
				continue
			}
			b := g.build(i, nil, nil)
			one := fresh[tables[i]].NewRecordBatch()
			cols := nativeColumns(tables[i])
			var got, want []byte
			if _, err := native.WriteBlock(nil, b.Chunks, cols, 1<<20, func(p []byte) error { got = append(got, p...); return nil }); err != nil {
				t.Fatal(err)
			}
			if _, err := native.WriteBlock(nil, []arrow.RecordBatch{one}, cols, 1<<20, func(p []byte) error { want = append(want, p...); return nil }); err != nil {
				t.Fatal(err)
			}
			one.Release()
			if round == 0 && i == tLeads && len(b.Chunks) < 2 {
				t.Errorf("%d lead_updates chunks, want several", len(b.Chunks))
			}
			if !bytes.Equal(got, want) {
				t.Errorf("generation %d, %s: %d rows in %d chunks encode differently from one record", round, tables[i].Name, g.tables[i].rows, len(b.Chunks))
			}
		}
		for _, b := range fresh {
			b.Release()
		}
		g.release()
		if n := g.bytes(); n != 0 {
			t.Errorf("generation %d holds %d bytes after its release", round, n)
		}
	}
}

// Each chunk's dictionaries hold that chunk's values only: a builder's dictionary would otherwise
// carry every value of the generation so far into every chunk after it.
func TestEachChunkHasItsOwnDictionary(t *testing.T) {
	f := newSampleFiller(t)
	g := newGeneration(f.pool, &f.hints)
	defer g.release()
	for i := range 5000 {
		r, err := flatten.Flatten(f.body, f.at)
		if err != nil {
			t.Fatal(err)
		}
		r.Lead.AgentName = fmt.Sprint("agent ", i) // a dictionary column, a value per callback
		pos := wal.Position{Segment: 1, Offset: int64(i) * 8000}
		g.addRows(pos, recordHash(pos, f.body), r, nil, f.at)
	}
	b := g.build(tLeads, nil, nil)
	if len(b.Chunks) < 2 {
		t.Fatalf("%d lead_updates chunks, want several", len(b.Chunks))
	}
	col := mustColumn(schema.LeadUpdates, "agent_name")
	for k, c := range b.Chunks {
		d := c.Column(col).(*array.Dictionary)
		if d.Dictionary().Len() != d.Len() {
			t.Errorf("chunk %d: %d rows of distinct agents, %d dictionary values", k, d.Len(), d.Dictionary().Len())
		}
	}
}

// A hint decayed to a light load's rows sizes run-end encoded columns for that load too.
func TestDecayedHintReservesFewRuns(t *testing.T) {
	f := newSampleFiller(t)
	f.fill(3000).release()
	one := f.fill(1)
	one.freeze()
	one.decayHints()
	one.release()
	for _, i := range []int{tEvents, tNotes, tCalls, tDispositions, tTransitions, tBookingDocs} {
		h := &f.hints[i]
		for c, r := range h.runs {
			if r > h.rows {
				t.Errorf("%s column %d: a hint of %d rows reserves %d runs", tables[i].Name, c, h.rows, r)
			}
		}
	}
	light := f.fill(1)
	defer light.release()
	var held int64
	for _, i := range []int{tEvents, tNotes, tCalls, tDispositions, tTransitions, tBookingDocs} {
		held += light.tables[i].mem.n.Load()
	}
	if held > 256<<10 {
		t.Errorf("one callback holds %d bytes in the tables with several rows per callback", held)
	}
}

// Large values count as used, not as room reserved from the hint and unfilled, in columns of
// every layout: dictionaries (map keys included), nested strings (map values, arrays) and runs.
// Their size comes from the callbacks, however large.
func TestLargeValuesCountAsUsed(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(r *schema.Rows, big string)
	}{
		{"agent_name, a dictionary", func(r *schema.Rows, big string) { r.Lead.AgentName = big }},
		{"lead_status_raw, a dictionary", func(r *schema.Rows, big string) { r.Lead.LeadStatusRaw = big }},
		{"an extra_details key, a dictionary", func(r *schema.Rows, big string) {
			r.Lead.ExtraDetails = append(r.Lead.ExtraDetails, schema.KV{Key: big, Value: "v"})
		}},
		{"an extra_details value", func(r *schema.Rows, big string) {
			r.Lead.ExtraDetails = append(r.Lead.ExtraDetails, schema.KV{Key: "k", Value: big})
		}},
		{"an unknown_keys element", func(r *schema.Rows, big string) { r.Lead.UnknownKeys = append(r.Lead.UnknownKeys, big) }},
		{"callback_id of notes, runs", func(r *schema.Rows, big string) {
			for i := range r.Notes {
				r.Notes[i].CallbackID = big
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSampleFiller(t)
			f.fill(3000).release() // hints learnt, as after any busy period
			g := newGeneration(f.pool, &f.hints)
			defer g.release()
			var big int64
			for i := range 4 {
				r, err := flatten.Flatten(f.body, f.at)
				if err != nil {
					t.Fatal(err)
				}
				s := fmt.Sprint(i) + strings.Repeat("a", 250_000)
				tc.set(r, s)
				big += int64(len(s))
				pos := wal.Position{Segment: 2, Offset: int64(i) * 400_000}
				g.addRows(pos, recordHash(pos, f.body), r, nil, f.at)
				if got := g.bytes(); got < big {
					t.Errorf("after %d callbacks: %d bytes of large values held, %d counted", i+1, big, got)
				}
			}
		})
	}
}
