package chdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/chdb"
	"github.com/leadhouse/leadhouse/sink/chdb/chdbtest"
)

// newStore returns a Store on its own engine handle and database, closed when the test ends.
func newStore(t *testing.T) *chdb.Store {
	t.Helper()
	eng, db := chdbtest.Database(t)
	h, err := chdb.Open(chdb.Options{DataDir: eng.DataDir()})
	if err != nil {
		t.Fatal(err)
	}
	s := chdb.NewStore(h, db)
	t.Cleanup(func() { s.Close() })
	return s
}

// createTable creates t as the schema describes it. The migrations own the real DDL; this is the
// least the store needs, with the deduplication window that makes tokens work on MergeTree.
func createTable(t *testing.T, s *chdb.Store, tbl *schema.Table) {
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

func query(t *testing.T, s *chdb.Store, q string) string {
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

func TestStoreInsertWithSameTokenStoresOnce(t *testing.T) {
	s := newStore(t)
	createTable(t, s, schema.DeadLetters)
	ctx := context.Background()
	rec := deadLetters(5, "not_json")
	defer rec.Release()

	// The token holds a quote and a backslash so that quoting is exercised too.
	for _, token := range []string{"dead_letters:1.0-1.4:5'\\", "dead_letters:1.0-1.4:5'\\", "other"} {
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
func TestStoreInsertWritesEveryChunkOnce(t *testing.T) {
	s := newStore(t)
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

func TestStoreInsertKeepsEveryColumnType(t *testing.T) {
	s := newStore(t)
	createTable(t, s, schema.LeadUpdates)
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
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := s.Insert(context.Background(), schema.LeadUpdates, sink.Batch{Chunks: []arrow.RecordBatch{rec}}, "t"); err != nil {
		t.Fatal(err)
	}

	got := query(t, s, "SELECT lead_id, callback_id, received_at, action, action_known, name, project_id, min_budget, "+
		"created_at, is_duplicate, claimed_at, extra_details, unknown_keys, notes_count, raw FROM lead_updates")
	want := "42\tcb-1\t2024-03-01 10:30:00.123\tlead_created\ttrue\tAsha\\tK\t7\t1500000\t" +
		"2024-03-01 10:30:00.123\tfalse\t\\N\t{'a':'1','b':'x'}\t['new_key']\t3\t{\"lead_id\":42}\n"
	if got != want {
		t.Errorf("stored row:\ngot  %q\nwant %q", got, want)
	}
}

func TestStoresOnOneEngineKeepTheirDatabases(t *testing.T) {
	a, b := newStore(t), newStore(t)
	ctx := context.Background()
	for i, s := range []*chdb.Store{a, b} {
		if err := s.Exec(ctx, "CREATE TABLE kv (k UInt8) ENGINE = Memory"); err != nil {
			t.Fatal(err)
		}
		if err := s.Exec(ctx, fmt.Sprintf("INSERT INTO kv SELECT number FROM numbers(%d)", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	// Interleaving proves no statement depends on a USE left behind by the other Store.
	for range 3 {
		if got := query(t, a, "SELECT count() FROM kv"); got != "1\n" {
			t.Errorf("store a: count() = %q, want 1", got)
		}
		if got := query(t, b, "SELECT count() FROM kv"); got != "2\n" {
			t.Errorf("store b: count() = %q, want 2", got)
		}
	}
	if got := query(t, a, "SELECT currentDatabase()"); got != a.Database()+"\n" {
		t.Errorf("store a runs in %q, want %q", got, a.Database())
	}
}

func TestStoreErrorsNameWhatFailed(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var qe *chdb.QueryError
	if err := s.Exec(ctx, "DROP TABLE no_such_table"); !errors.As(err, &qe) {
		t.Errorf("Exec of a bad statement: %v, want a *chdb.QueryError", err)
	}
	rec := deadLetters(1, "x")
	defer rec.Release()
	err := s.Insert(ctx, schema.DeadLetters, sink.Batch{Chunks: []arrow.RecordBatch{rec}}, "t")
	if !errors.As(err, &qe) || !strings.Contains(err.Error(), "dead_letters") {
		t.Errorf("Insert into a missing table: %v, want a *chdb.QueryError naming dead_letters", err)
	}
}

func TestStoreCloseReleasesOnlyItsHandle(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); !errors.Is(err, chdb.ErrClosed) {
		t.Errorf("Ping after Close: %v, want ErrClosed", err)
	}
	if _, err := chdbtest.Engine(t).Query(ctx, "SELECT 1", "TabSeparated"); err != nil {
		t.Errorf("shared engine after closing a Store's handle: %v", err)
	}
}
