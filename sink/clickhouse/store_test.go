package clickhouse_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/engine/enginetest"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
)

// createTable creates t as the schema describes it. The migrations own the real DDL; this is the
// least the store needs, with the deduplication window that makes tokens work on MergeTree.
func createTable(t *testing.T, s *clickhouse.Store, tbl *schema.Table) {
	t.Helper()
	cols := make([]string, len(tbl.Columns))
	for i, c := range tbl.Columns {
		cols[i] = fmt.Sprintf("`%s` %s", c.Name, c.Type)
		if c.Codec != "" {
			cols[i] += " CODEC(" + c.Codec + ")"
		}
	}
	ddl := fmt.Sprintf("CREATE TABLE `%s` (%s) ENGINE = %s ORDER BY (%s) SETTINGS non_replicated_deduplication_window = 1000",
		tbl.Name, strings.Join(cols, ", "), tbl.Engine, tbl.SortingKey)
	if err := s.Exec(context.Background(), ddl); err != nil {
		t.Fatal(err)
	}
}

func query(t *testing.T, s *clickhouse.Store, q string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Query(context.Background(), q, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func deadLetters(n int, reason string) arrow.RecordBatch {
	b := schema.DeadLetters.NewBuilder(memory.DefaultAllocator)
	defer b.Release()
	rows := make([]schema.DeadLetter, n)
	for i := range rows {
		body := fmt.Sprintf(`{"n":%d}`, i)
		rows[i] = schema.DeadLetter{ReceivedAt: schema.Millis(1_700_000_000_000 + int64(i)), RemoteAddr: "10.0.0.1:5000",
			Reason: reason, Error: "it's \\ broken", BodySize: uint32(len(body)), Body: body}
	}
	schema.Append(schema.DeadLetters, b, rows)
	return b.NewRecordBatch()
}

// sibling returns a Store on s's database and engine with other options.
func sibling(t *testing.T, s *clickhouse.Store, edit func(*clickhouse.Options)) *clickhouse.Store {
	t.Helper()
	sup := enginetest.Engine(t)
	o := clickhouse.Options{Addr: []string{sup.HTTPAddr()}, Database: s.Database(), Username: engine.User, Password: sup.Password()}
	edit(&o)
	st, err := clickhouse.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestInsertWithSameTokenStoresOnce(t *testing.T) {
	s := enginetest.Store(t)
	createTable(t, s, schema.DeadLetters)
	ctx := context.Background()
	rec := deadLetters(5, "not_json")
	defer rec.Release()
	// The token holds a quote, a backslash and an ampersand, which travel in the URL.
	for _, token := range []string{"dead_letters:1.0-1.4:5'\\&x=1", "dead_letters:1.0-1.4:5'\\&x=1", "other"} {
		if err := s.Insert(ctx, schema.DeadLetters, sink.Batch{Chunks: []arrow.RecordBatch{rec}}, token); err != nil {
			t.Fatal(err)
		}
	}
	if got := query(t, s, "SELECT count() FROM dead_letters"); got != "10\n" {
		t.Errorf("after inserting 5 rows with tokens a, a, b: count() = %q, want 10", got)
	}
}

// A batch of several chunks is one INSERT of one block: every chunk's rows are stored, and a
// retry under the same token stores none of them again, however the retry is chunked (after a
// restart the same rows come back in other chunks).
func TestInsertWritesEveryChunkOnce(t *testing.T) {
	s := enginetest.Store(t)
	createTable(t, s, schema.DeadLetters)
	ctx := context.Background()
	rec := deadLetters(11, "chunked")
	defer rec.Release()
	chunked := func(sizes ...int) []arrow.RecordBatch {
		var out []arrow.RecordBatch
		lo := int64(0)
		for _, n := range sizes {
			part := rec.NewSlice(lo, lo+int64(n))
			t.Cleanup(part.Release)
			out = append(out, part)
			lo += int64(n)
		}
		return out
	}
	for _, batch := range [][]arrow.RecordBatch{chunked(3, 1, 7), chunked(11), chunked(5, 6), chunked(3, 1, 7)} {
		if err := s.Insert(ctx, schema.DeadLetters, sink.Batch{Chunks: batch}, "chunks"); err != nil {
			t.Fatal(err)
		}
	}
	if got := query(t, s, "SELECT count(), uniqExact(body) FROM dead_letters"); got != "11\t11\n" {
		t.Errorf("after the same 11 rows four times, chunked differently, under one token: %q, want 11 distinct rows", got)
	}
	if err := s.Insert(ctx, schema.DeadLetters, sink.Batch{Chunks: chunked(4, 7)}, "another token"); err != nil {
		t.Fatal(err)
	}
	if got := query(t, s, "SELECT count() FROM dead_letters"); got != "22\n" {
		t.Errorf("after the rows under another token: count() = %q, want 22", got)
	}
}

func leadUpdate(t *testing.T) arrow.RecordBatch {
	t.Helper()
	at := schema.MillisOf(time.Date(2024, 3, 1, 10, 30, 0, 123_000_000, time.UTC))
	row := schema.LeadUpdate{
		Meta:         schema.Meta{LeadID: 42, CallbackID: "cb-1", ReceivedAt: at, MappingVersion: schema.MappingVersion},
		Action:       "lead_created",
		ActionKnown:  true,
		Name:         "Asha\tK",
		ProjectID:    schema.Some[uint64](7),
		MinBudget:    schema.Some(1.5e6),
		CreatedAt:    schema.Some(at),
		IsDuplicate:  schema.Some(false),
		ExtraDetails: []schema.KV{{Key: "a", Value: "1"}, {Key: "b", Value: "x"}},
		UnknownKeys:  []string{"new_key"},
		NotesCount:   3,
		Raw:          `{"lead_id":42}`,
	}
	b := schema.LeadUpdates.NewBuilder(memory.DefaultAllocator)
	defer b.Release()
	schema.AppendOne(schema.LeadUpdates, b, &row)
	return b.NewRecordBatch()
}

const leadUpdateColumns = "SELECT lead_id, callback_id, received_at, action, action_known, name, project_id, min_budget, " +
	"created_at, is_duplicate, claimed_at, extra_details, unknown_keys, notes_count, raw FROM lead_updates"

func TestInsertKeepsEveryColumnTypeWithEveryCompression(t *testing.T) {
	for _, compression := range []string{"none", "lz4", "zstd"} {
		t.Run(compression, func(t *testing.T) {
			s := sibling(t, enginetest.Store(t), func(o *clickhouse.Options) { o.Compression = compression })
			createTable(t, s, schema.LeadUpdates)
			rec := leadUpdate(t)
			defer rec.Release()
			if err := s.Insert(context.Background(), schema.LeadUpdates, sink.Batch{Chunks: []arrow.RecordBatch{rec}}, "t"); err != nil {
				t.Fatal(err)
			}
			want := "42\tcb-1\t2024-03-01 10:30:00.123\tlead_created\ttrue\tAsha\\tK\t7\t1500000\t" +
				"2024-03-01 10:30:00.123\tfalse\t\\N\t{'a':'1','b':'x'}\t['new_key']\t3\t{\"lead_id\":42}\n"
			if got := query(t, s, leadUpdateColumns); got != want {
				t.Errorf("stored row:\ngot  %q\nwant %q", got, want)
			}
		})
	}
}

func TestDeferredValuesAreStoredAndAFailedReadStoresNothing(t *testing.T) {
	s := enginetest.Store(t)
	createTable(t, s, schema.LeadUpdates)
	rec := leadUpdate(t)
	defer rec.Release()
	raw, _ := schema.LeadUpdates.ColumnIndex("raw")
	ctx := context.Background()
	failing := sink.Batch{Chunks: []arrow.RecordBatch{rec}, Deferred: &sink.Deferred{Column: raw, Value: func(int, int) ([]byte, error) {
		return nil, errors.New("disk gone")
	}}}
	if err := s.Insert(ctx, schema.LeadUpdates, failing, "deferred"); err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Fatalf("insert whose deferred value fails: %v, want the read's error", err)
	}
	if got := query(t, s, "SELECT count() FROM lead_updates"); got != "0\n" {
		t.Fatalf("a block cut short stored %q rows", got)
	}
	body := strings.Repeat(`{"lead_id":42,"pad":"x"}`, 50_000) // over a megabyte: several writes
	ok := sink.Batch{Chunks: []arrow.RecordBatch{rec}, Deferred: &sink.Deferred{Column: raw, Value: func(int, int) ([]byte, error) {
		return []byte(body), nil
	}}}
	// The same token as the failed attempt: nothing of it was stored, so nothing is dropped.
	if err := s.Insert(ctx, schema.LeadUpdates, ok, "deferred"); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	if got, want := query(t, s, "SELECT length(raw), lower(hex(SHA256(raw))) FROM lead_updates"), fmt.Sprintf("%d\t%x\n", len(body), sum); got != want {
		t.Errorf("deferred raw body stored as %q, want %q", got, want)
	}
}

func TestStoresKeepTheirDatabases(t *testing.T) {
	a, b := enginetest.Store(t), enginetest.Store(t)
	ctx := context.Background()
	for i, s := range []*clickhouse.Store{a, b} {
		if err := s.Exec(ctx, "CREATE TABLE kv (k UInt8) ENGINE = Memory"); err != nil {
			t.Fatal(err)
		}
		if err := s.Exec(ctx, fmt.Sprintf("INSERT INTO kv SELECT number FROM numbers(%d)", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if got := query(t, a, "SELECT count() FROM kv"); got != "1\n" {
		t.Errorf("store a: count() = %q, want 1", got)
	}
	if got := query(t, b, "SELECT count() FROM kv"); got != "2\n" {
		t.Errorf("store b: count() = %q, want 2", got)
	}
	if got := query(t, a, "SELECT currentDatabase()"); got != a.Database()+"\n" {
		t.Errorf("store a runs in %q, want %q", got, a.Database())
	}
}

func TestErrorsCarryTheServersCode(t *testing.T) {
	s := enginetest.Store(t)
	ctx := context.Background()
	var ex *clickhouse.Exception
	err := s.Exec(ctx, "DROP TABLE no_such_table")
	if !errors.As(err, &ex) || ex.Code != 60 || ex.Name != "UNKNOWN_TABLE" || !strings.Contains(err.Error(), "no_such_table") {
		t.Errorf("Exec of a bad statement: %v (%+v), want UNKNOWN_TABLE, code 60", err, ex)
	}
	if strings.Contains(err.Error(), "(version") {
		t.Errorf("error keeps the version suffix: %v", err)
	}
	rec := deadLetters(1, "x")
	defer rec.Release()
	err = s.Insert(ctx, schema.DeadLetters, sink.Batch{Chunks: []arrow.RecordBatch{rec}}, "t")
	if !errors.As(err, &ex) || !strings.Contains(err.Error(), "dead_letters") {
		t.Errorf("Insert into a missing table: %v, want an Exception naming dead_letters", err)
	}
	if err := s.Query(ctx, "SELEC 1", &bytes.Buffer{}); !errors.As(err, &ex) || ex.Name != "SYNTAX_ERROR" {
		t.Errorf("Query of a bad statement: %v, want SYNTAX_ERROR", err)
	}
}

// A query that fails after the server started sending rows gets an answer of 200 with the error
// appended to the rows; the Store reports it and never passes the error block on as data.
func TestErrorAfterPartOfTheResultIsReported(t *testing.T) {
	s := enginetest.Store(t)
	var out bytes.Buffer
	err := s.Query(context.Background(), "SELECT number, throwIf(number = 400000) FROM numbers(500000) SETTINGS max_block_size = 1000", &out)
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) || ex.Code != 395 {
		t.Fatalf("query failing mid-result: %v, want FUNCTION_THROW_IF_VALUE_IS_NON_ZERO (395)", err)
	}
	if bytes.Contains(out.Bytes(), []byte("__exception__")) || bytes.Contains(out.Bytes(), []byte("Code: 395")) {
		t.Errorf("the error block reached the output: ...%q", out.Bytes()[max(0, out.Len()-300):])
	}
	if out.Len() == 0 {
		t.Logf("the server failed before sending rows")
	}
	// A result that only looks like the marker is passed on whole.
	out.Reset()
	if err := s.Query(context.Background(), "SELECT '__exception__'", &out); err != nil || out.String() != "__exception__\n" {
		t.Errorf("a result holding the marker text: %q, %v", out.String(), err)
	}
}

func TestUnreachableAddressFailsOverToTheNext(t *testing.T) {
	s := enginetest.Store(t)
	ports, err := enginetest.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("127.0.0.1:%d", ports[0])
	live := enginetest.Engine(t).HTTPAddr()
	two := sibling(t, s, func(o *clickhouse.Options) { o.Addr = []string{dead, "http://" + live} })
	if got := query(t, two, "SELECT 1"); got != "1\n" {
		t.Errorf("query with the first address down: %q", got)
	}
	if two.Addr() != live {
		t.Errorf("address in use after the failover: %s, want %s", two.Addr(), live)
	}
	one := sibling(t, s, func(o *clickhouse.Options) { o.Addr = []string{dead} })
	if err := one.Ping(context.Background()); err == nil {
		t.Error("ping of a closed port succeeded")
	}
}

func TestTheNativePortSaysItIsNotHTTP(t *testing.T) {
	s := enginetest.Store(t)
	native := sibling(t, s, func(o *clickhouse.Options) { o.Addr = []string{enginetest.Engine(t).TCPAddr()} })
	err := native.Ping(context.Background())
	if err == nil || !strings.Contains(err.Error(), "HTTP interface") {
		t.Errorf("a store pointed at the native port: %v, want an error naming the HTTP interface", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, o := range []clickhouse.Options{
		{},
		{Addr: []string{"ftp://x"}},
		{Addr: []string{"http://"}},
		{Addr: []string{"localhost:8123"}, Compression: "brotli"},
	} {
		if _, err := clickhouse.New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}
