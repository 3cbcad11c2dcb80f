package sink_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/engine/enginetest"
	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
	"github.com/leadhouse/leadhouse/sink/wal"
	"github.com/leadhouse/leadhouse/sql"
)

// engineStore returns a store on the test binary's engine, in a fresh database with the
// migrations applied.
func engineStore(tb testing.TB) *clickhouse.Store {
	tb.Helper()
	s := enginetest.Store(tb)
	if _, err := sql.Migrate(context.Background(), s, nil); err != nil {
		tb.Fatal(err)
	}
	return s
}

func queryInt(t *testing.T, s sink.Store, q string) int {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Query(context.Background(), q, &buf); err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(buf.String()))
	if err != nil {
		t.Fatalf("%s: %q is not a count", q, buf.String())
	}
	return n
}

// fixture returns the CRM's sample callback with its lead_id replaced, so that every id gives a
// distinct callback.
func fixture(tb testing.TB, leadID int) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "flatten", "testdata", "seed_callback.json"))
	if err != nil {
		tb.Fatal(err)
	}
	const id = `"lead_id":1402361,`
	if !bytes.Contains(b, []byte(id)) {
		tb.Fatalf("fixture lacks %s", id)
	}
	return bytes.Replace(b, []byte(id), fmt.Appendf(nil, `"lead_id":%d,`, leadID), 1)
}

func flattenReason(err error) string {
	if errors.Is(err, flatten.ErrNotJSON) {
		return "not_json"
	}
	return "not_callback"
}

// hookStore calls after once an insert has returned, before the pipeline sees its outcome.
type hookStore struct {
	sink.Store
	after func(t *schema.Table, err error)
}

func (s hookStore) Insert(ctx context.Context, t *schema.Table, batch sink.Batch, token string) error {
	err := s.Store.Insert(ctx, t, batch, token)
	s.after(t, err)
	return err
}

// TestEndToEndCrashAfterInsertStoresEachCallbackOnce runs the pipeline on the embedded engine
// and crashes it after the engine took the lead_updates batch but before the log was committed.
// The restarted pipeline replays the same callbacks into the same batch, whose token the engine
// has seen: every table ends up with each callback's rows once, not only the views.
func TestEndToEndCrashAfterInsertStoresEachCallbackOnce(t *testing.T) {
	const n = 30
	store := engineStore(t)
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = fixture(t, 5_000_000+i)
	}
	one, err := flatten.Flatten(bodies[0], at)
	if err != nil {
		t.Fatal(err)
	}
	perCallback := map[string]int{"lead_updates": 1, "events": len(one.Events), "notes": len(one.Notes),
		"calls": len(one.Calls), "dispositions": len(one.Dispositions),
		"status_transitions": len(one.Transitions), "booking_docs": len(one.BookingDocs)}
	most := 0
	for _, k := range perCallback {
		most = max(most, k)
	}

	opts := sink.Options{
		Decode: flatten.New().Flatten,
		Reason: flattenReason,
		// Every callback gives the same rows, so the batch fills at exactly the n-th, before
		// and after the crash.
		MaxRows:       n * most,
		FlushInterval: time.Hour,
		RetryMin:      time.Millisecond,
		RetryMax:      10 * time.Millisecond,
	}
	dir := t.TempDir()
	tracker := &wal.Tracker{}
	log, err := wal.Open(wal.Options{Dir: dir, Tracker: tracker, Sync: wal.SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	ctx, crash := context.WithCancel(context.Background())
	defer crash()
	crashed := make(chan string, 1)
	hooked := hookStore{Store: store, after: func(tbl *schema.Table, err error) {
		if tbl == schema.LeadUpdates && err == nil && len(crashed) == 0 {
			d := t.TempDir()
			snapshot(t, dir, d)
			crash()
			crashed <- d
		}
	}}
	p, err := sink.New(hooked, log, tracker, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "live mode", func() bool { return p.Stats().Mode == sink.ModeLive })

	fl := flatten.New()
	rows := new(schema.Rows)
	submit := func(p *sink.Pipeline, body []byte) {
		t.Helper()
		in := sink.Input{Body: body, ReceivedAt: at, Remote: "192.0.2.7:5555"}
		dec := sink.Decoded{Rows: rows}
		if err := fl.Flatten(body, at, rows); err != nil {
			dec = sink.Decoded{Reason: flattenReason(err), Err: err}
		}
		if _, err := p.Submit(context.Background(), in, dec); err != nil {
			t.Fatal(err)
		}
	}
	submit(p, []byte("{not json"))
	for _, b := range bodies {
		submit(p, b)
	}
	snap := <-crashed
	p.Close(context.Background()) // stops what is left of the crashed pipeline's goroutines
	if got := queryInt(t, store, "SELECT count() FROM lead_updates"); got != n {
		t.Fatalf("before the restart the engine holds %d lead rows, want the whole batch of %d", got, n)
	}

	tracker2 := &wal.Tracker{}
	log2, err := wal.Open(wal.Options{Dir: snap, Tracker: tracker2, Sync: wal.SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	defer log2.Close()
	opts.Decode = flatten.New().Flatten
	p2, err := sink.New(store, log2, tracker2, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The replayed batch must be flushed alone to get its old token.
	waitFor(t, "the replayed batch stored", func() bool { return p2.Stats().Flushes == 1 })
	extra := fixture(t, 6_000_000)
	submit(p2, extra)
	closeCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p2.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	if st := p2.Stats(); st.ReplayedRecords != n+1 {
		t.Errorf("replayed %d records, want %d", st.ReplayedRecords, n+1)
	}

	for table, k := range perCallback {
		if got, want := queryInt(t, store, "SELECT count() FROM "+table), (n+1)*k; got != want {
			t.Errorf("%s holds %d rows, want %d: %d callbacks of %d rows", table, got, want, n+1, k)
		}
	}
	if got := queryInt(t, store, "SELECT count(DISTINCT callback_id) FROM lead_updates_dedup"); got != n+1 {
		t.Errorf("lead_updates_dedup holds %d callbacks, want %d", got, n+1)
	}
	if got := queryInt(t, store, "SELECT count() FROM dead_letters WHERE reason = 'not_json' AND body = '{not json'"); got != 1 {
		t.Errorf("%d not_json dead letters, want 1", got)
	}
	// The raw bodies, which the batches left in the log, are stored byte for byte: before the
	// crash from the first log, after it from the snapshot's.
	var sums []string
	for _, b := range append(bodies, extra) {
		sum := sha256.Sum256(b)
		sums = append(sums, hex.EncodeToString(sum[:]))
	}
	slices.Sort(sums)
	var got bytes.Buffer
	if err := store.Query(context.Background(), "SELECT DISTINCT lower(hex(SHA256(raw))) FROM lead_updates ORDER BY 1", &got); err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(sums, "\n") + "\n"; got.String() != want {
		t.Errorf("SHA-256 of the stored raw bodies:\n%s\nwant those of the %d bodies sent:\n%s", got.String(), len(sums), want)
	}
	if log2.Size() != 0 {
		t.Errorf("%d bytes left in the log after Close", log2.Size())
	}
}

// BenchmarkInsert writes one generation's batches (1,000 callbacks of the sample, every table)
// to the engine per iteration, each under a fresh token, as the pipeline's flusher does.
// go-µs/callback is the CPU this process spent (encoding and sending), engine-µs/callback the
// engine process's: the two sides of the store path, measured apart.
func BenchmarkInsert(b *testing.B) {
	store := engineStore(b)
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	const callbacks = 1000
	type batch struct {
		t   *schema.Table
		rec arrow.RecordBatch
	}
	builders := map[*schema.Table]*array.RecordBuilder{}
	for i := range callbacks {
		r, err := flatten.Flatten(fixture(b, 7_000_000+i), at)
		if err != nil {
			b.Fatal(err)
		}
		appendRows(builders, r)
	}
	var batches []batch
	rows := 0
	for _, t := range schema.RowTables() {
		if rb := builders[t]; rb != nil {
			rec := rb.NewRecordBatch()
			defer rec.Release()
			batches = append(batches, batch{t, rec})
			rows += int(rec.NumRows())
		}
	}
	ctx := context.Background()
	enginePID := enginetest.Engine(b).PID()
	self0, engine0 := enginetest.ProcessCPU(os.Getpid()), enginetest.ProcessCPU(enginePID)
	i := 0
	for b.Loop() {
		i++
		for _, bt := range batches {
			if err := store.Insert(ctx, bt.t, sink.Batch{Chunks: []arrow.RecordBatch{bt.rec}}, fmt.Sprintf("bench-%s-%d", bt.t.Name, i)); err != nil {
				b.Fatal(err)
			}
		}
	}
	n := float64(callbacks * b.N)
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(n/b.Elapsed().Seconds(), "callbacks/s")
	b.ReportMetric(float64((enginetest.ProcessCPU(os.Getpid())-self0).Microseconds())/n, "go-µs/callback")
	b.ReportMetric(float64((enginetest.ProcessCPU(enginePID)-engine0).Microseconds())/n, "engine-µs/callback")
}

func appendRows(m map[*schema.Table]*array.RecordBuilder, r *schema.Rows) {
	get := func(t *schema.Table) *array.RecordBuilder {
		if m[t] == nil {
			m[t] = t.NewBuilder(memory.DefaultAllocator)
		}
		return m[t]
	}
	schema.AppendOne(schema.LeadUpdates, get(schema.LeadUpdates), &r.Lead)
	schema.Append(schema.Events, get(schema.Events), r.Events)
	schema.Append(schema.Notes, get(schema.Notes), r.Notes)
	schema.Append(schema.Calls, get(schema.Calls), r.Calls)
	schema.Append(schema.Dispositions, get(schema.Dispositions), r.Dispositions)
	schema.Append(schema.Transitions, get(schema.Transitions), r.Transitions)
	schema.Append(schema.BookingDocs, get(schema.BookingDocs), r.BookingDocs)
}

// TestCrashedBatchIsWrittenAgainUnderItsOwnTokens crashes the pipeline after the engine took the
// lead_updates batch of its second generation, which the flush interval cut while four clients
// were submitting, so that no rule could have told where it would end. The restarted pipeline
// rebuilds that generation from the batch note the first one wrote before inserting it, and the
// engine drops what it already had: no table holds a second copy of any row, although the crash
// came between the inserts of one generation's tables.
func TestCrashedBatchIsWrittenAgainUnderItsOwnTokens(t *testing.T) {
	store := engineStore(t)
	// n callbacks before the crash; the last `after` of them reach the pipeline while its second
	// generation is being written, so that the log holds records after that generation's too.
	const n, after = 90, 10
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = fixture(t, 8_000_000+i)
	}
	var p *sink.Pipeline
	submit := func(fl *flatten.Flattener, body []byte) error {
		var rows schema.Rows
		if err := fl.Flatten(body, at, &rows); err != nil {
			return err
		}
		_, err := p.Submit(context.Background(), sink.Input{Body: body, ReceivedAt: at}, sink.Decoded{Rows: &rows})
		return err
	}
	one, err := flatten.Flatten(bodies[0], at)
	if err != nil {
		t.Fatal(err)
	}
	perCallback := map[string]int{"lead_updates": 1, "events": len(one.Events), "notes": len(one.Notes),
		"calls": len(one.Calls), "dispositions": len(one.Dispositions),
		"status_transitions": len(one.Transitions), "booking_docs": len(one.BookingDocs)}
	opts := sink.Options{
		Decode:        flatten.New().Flatten,
		Reason:        flattenReason,
		FlushInterval: 15 * time.Millisecond,
		RetryMin:      time.Millisecond,
		RetryMax:      10 * time.Millisecond,
	}
	dir := t.TempDir()
	tracker := &wal.Tracker{}
	log, err := wal.Open(wal.Options{Dir: dir, Tracker: tracker, Sync: wal.SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	ctx, crash := context.WithCancel(context.Background())
	defer crash()
	submitted := make(chan struct{})
	crashed := make(chan string, 1)
	leadInserts := 0
	hooked := hookStore{Store: store, after: func(tbl *schema.Table, err error) {
		if tbl != schema.LeadUpdates || err != nil || len(crashed) > 0 {
			return
		}
		if leadInserts++; leadInserts == 2 {
			<-submitted
			fl := flatten.New()
			for _, b := range bodies[n-after:] {
				if err := submit(fl, b); err != nil {
					t.Error(err)
				}
			}
			d := t.TempDir()
			snapshot(t, dir, d)
			crash()
			crashed <- d
		}
	}}
	p, err = sink.New(hooked, log, tracker, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "live mode", func() bool { return p.Stats().Mode == sink.ModeLive })
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			fl := flatten.New()
			for i := c; i < n-after; i += 4 {
				if err := submit(fl, bodies[i]); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(time.Millisecond) // spread the callbacks over several generations
			}
		})
	}
	wg.Wait()
	close(submitted)
	snap := <-crashed
	p.Close(context.Background())

	tracker2 := &wal.Tracker{}
	log2, err := wal.Open(wal.Options{Dir: snap, Tracker: tracker2, Sync: wal.SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	defer log2.Close()
	if len(log2.NotedBatches()) == 0 {
		t.Fatal("the crashed pipeline left no batch note")
	}
	opts.Decode = flatten.New().Flatten
	p2, err := sink.New(store, log2, tracker2, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p2.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	for table, k := range perCallback {
		if got, want := queryInt(t, store, "SELECT count() FROM "+table), n*k; got != want {
			t.Errorf("%s holds %d rows, want %d: %d callbacks of %d rows, each once", table, got, want, n, k)
		}
	}
	if got := queryInt(t, store, "SELECT uniqExact(callback_id) FROM lead_updates"); got != n {
		t.Errorf("lead_updates holds %d callbacks, want %d", got, n)
	}
}
