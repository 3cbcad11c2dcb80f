package rebuild_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/engine/enginetest"
	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/gen"
	"github.com/leadhouse/leadhouse/rebuild"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/server"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
	lhsql "github.com/leadhouse/leadhouse/sql"
)

func TestMain(m *testing.M) { enginetest.Main(m) }

func migrated(t *testing.T) *clickhouse.Store {
	t.Helper()
	s := enginetest.Store(t)
	if _, err := lhsql.Migrate(context.Background(), s, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func query(t *testing.T, s *clickhouse.Store, q string) string {
	t.Helper()
	var out bytes.Buffer
	if err := s.Query(context.Background(), q, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func exec(t *testing.T, s *clickhouse.Store, q string) {
	t.Helper()
	if err := s.Exec(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}

// store flattens generated callbacks n..n+count-1 and inserts their rows as the pipeline would,
// arrivals counting up from first (the log's positions start at 2^32), in one insert per table.
func store(t *testing.T, s *clickhouse.Store, tables map[*schema.Table]string, from, count int, first uint64) {
	t.Helper()
	g := gen.New(gen.Options{Seed: 11, Leads: 150})
	var all schema.Rows
	var leads []schema.LeadUpdate
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range from + count {
		body := g.Next(nil)
		if i < from {
			continue
		}
		r, err := flatten.Flatten(body, at.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		r.SetArrival(first + uint64(i-from))
		leads = append(leads, r.Lead)
		all.Events = append(all.Events, r.Events...)
		all.Notes = append(all.Notes, r.Notes...)
		all.Calls = append(all.Calls, r.Calls...)
		all.Dispositions = append(all.Dispositions, r.Dispositions...)
		all.Transitions = append(all.Transitions, r.Transitions...)
		all.BookingDocs = append(all.BookingDocs, r.BookingDocs...)
	}
	token := fmt.Sprintf("test/%d/%d", from, first)
	ins := func(tb *schema.Table, fill func(*array.RecordBuilder)) {
		b := tb.NewBuilder(memory.DefaultAllocator)
		defer b.Release()
		fill(b)
		rec := b.NewRecordBatch()
		defer rec.Release()
		target := tb
		if name, ok := tables[tb]; ok {
			target = tb.Renamed(name)
		}
		if err := s.Insert(context.Background(), target, sink.Batch{Chunks: []arrow.RecordBatch{rec}}, token+"/"+tb.Name); err != nil {
			t.Fatal(err)
		}
	}
	ins(schema.LeadUpdates, func(b *array.RecordBuilder) { schema.Append(schema.LeadUpdates, b, leads) })
	ins(schema.Events, func(b *array.RecordBuilder) { schema.Append(schema.Events, b, all.Events) })
	ins(schema.Notes, func(b *array.RecordBuilder) { schema.Append(schema.Notes, b, all.Notes) })
	ins(schema.Calls, func(b *array.RecordBuilder) { schema.Append(schema.Calls, b, all.Calls) })
	ins(schema.Dispositions, func(b *array.RecordBuilder) { schema.Append(schema.Dispositions, b, all.Dispositions) })
	ins(schema.Transitions, func(b *array.RecordBuilder) { schema.Append(schema.Transitions, b, all.Transitions) })
	ins(schema.BookingDocs, func(b *array.RecordBuilder) { schema.Append(schema.BookingDocs, b, all.BookingDocs) })
}

// views reads every view analysts use, in full, sorted: what a rebuild must leave as it was.
func views(t *testing.T, s *clickhouse.Store) string {
	t.Helper()
	var b strings.Builder
	for _, v := range []string{"leads_current", "events_current", "notes_current", "calls_current", "dispositions_current",
		"booking_docs_current", "status_transitions_current", "lead_status_durations", "lead_funnel", "cc_to_sales_handoffs",
		"scenario_counts", "lead_scenarios", "lead_updates_dedup"} {
		b.WriteString("== " + v + "\n" + query(t, s, "SELECT * FROM "+v+" ORDER BY ALL"))
	}
	return b.String()
}

func options(fl *flatten.Flattener) rebuild.Options {
	return rebuild.Options{Decode: fl.Flatten, Reason: server.Reason, ChunkRows: 150}
}

// leftovers lists what a finished rebuild must not leave: new tables, views, marks.
func leftovers(t *testing.T, s *clickhouse.Store) string {
	t.Helper()
	return query(t, s, "SELECT name FROM system.tables WHERE database = currentDatabase() AND (endsWith(name, '"+rebuild.Suffix+"') OR startsWith(comment, 'rebuild ')) ORDER BY name")
}

// TestRebuildGivesTheSameViews rebuilds a warehouse whose rows came from this mapping: every
// view must say what it said, the old tables must be gone and the tables' comments restored.
func TestRebuildGivesTheSameViews(t *testing.T) {
	s := migrated(t)
	store(t, s, nil, 0, 600, 1<<32)
	exec(t, s, "INSERT INTO dead_letters (received_at, remote_addr, reason, error, body_size, body, arrival) VALUES (now64(3, 'UTC'), '10.0.0.1', 'not_json', 'x', 3, 'x y', 5000000000)")
	before := views(t, s)
	comment := query(t, s, "SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = 'lead_updates'")
	res, err := rebuild.Run(context.Background(), s, options(flatten.New()))
	if err != nil {
		t.Fatal(err)
	}
	if res.Callbacks != 600 || res.Rows["lead_updates"] != 600 || res.Rows["dead_letters"] != 1 {
		t.Errorf("rebuilt %d callbacks, rows %v; want 600 callbacks and the dead letter", res.Callbacks, res.Rows)
	}
	if after := views(t, s); after != before {
		t.Errorf("views differ after the rebuild:\n%.3000s\nbefore:\n%.3000s", after, before)
	}
	if got := leftovers(t, s); got != "" {
		t.Errorf("the rebuild left %q", got)
	}
	if got := query(t, s, "SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = 'lead_updates'"); got != comment {
		t.Errorf("lead_updates' comment is %q, was %q", got, comment)
	}
	if got := query(t, s, "SELECT count() FROM dead_letters"); got != "1\n" {
		t.Errorf("dead_letters holds %q rows after the rebuild, want the one kept", got)
	}
}

var errStop = errors.New("stopped half-way")

// TestRebuildResumesWhereItStopped stops a rebuild after its second chunk, stores more callbacks
// (as serve would meanwhile), and runs it again: it must carry on from the chunks done, take the
// new callbacks in, and end with the views of a warehouse that never rebuilt.
func TestRebuildResumesWhereItStopped(t *testing.T) {
	s, want := migrated(t), migrated(t)
	store(t, s, nil, 0, 600, 1<<32)
	store(t, want, nil, 0, 600, 1<<32)
	o := options(flatten.New())
	o.AfterChunk = func(c int) error {
		if c == 1 {
			return errStop
		}
		return nil
	}
	if _, err := rebuild.Run(context.Background(), s, o); !errors.Is(err, errStop) {
		t.Fatalf("first run: %v, want it stopped", err)
	}
	if got := query(t, s, "SELECT count() FROM lead_updates"+rebuild.Suffix); got == "0\n" || got == "600\n" {
		t.Fatalf("the stopped rebuild wrote %q callbacks; the test needs it half-way", got)
	}
	// Arriving while the rebuild is stopped: newer positions of the log.
	store(t, s, nil, 600, 100, 1<<33)
	store(t, want, nil, 600, 100, 1<<33)
	var chunks []int
	o.AfterChunk = func(c int) error { chunks = append(chunks, c); return nil }
	res, err := rebuild.Run(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed {
		t.Error("the second run did not resume the first")
	}
	if len(chunks) == 0 || chunks[0] != 0 {
		t.Errorf("chunks visited %v", chunks)
	}
	if got, w := views(t, s), views(t, want); got != w {
		t.Errorf("views after a resumed rebuild:\n%.3000s\nwithout a rebuild:\n%.3000s", got, w)
	}
	if got := query(t, s, "SELECT count(), uniqExact(callback_id) FROM lead_updates"); got != query(t, want, "SELECT count(), uniqExact(callback_id) FROM lead_updates") {
		t.Errorf("lead_updates holds %q", got)
	}
	if got := leftovers(t, s); got != "" {
		t.Errorf("the rebuild left %q", got)
	}
}

// TestStateRebuildSeesAttachedPartitions attaches a partition of callbacks, which the
// materialized views do not see, and checks that rebuild -state brings the state level with the
// callback tables.
func TestStateRebuildSeesAttachedPartitions(t *testing.T) {
	s := migrated(t)
	store(t, s, nil, 0, 300, 1<<32)
	staging := map[*schema.Table]string{}
	for _, tb := range schema.RowTables() {
		exec(t, s, "CREATE TABLE staging_"+tb.Name+" AS "+tb.Name)
		staging[tb] = "staging_" + tb.Name
	}
	store(t, s, staging, 300, 200, 1<<33)
	exec(t, s, "ALTER TABLE lead_updates ATTACH PARTITION ID '202405' FROM staging_lead_updates")
	for _, tb := range schema.RowTables()[1:] {
		exec(t, s, "ALTER TABLE "+tb.Name+" ATTACH PARTITION tuple() FROM staging_"+tb.Name)
	}
	count := "SELECT (SELECT uniqExact(lead_id) FROM lead_updates), (SELECT count() FROM leads_current), " +
		"(SELECT uniqExact(lead_id, note_id) FROM notes), (SELECT count() FROM notes_current)"
	if got := query(t, s, count); func() bool { var a, b, c, d int; fmt.Sscan(got, &a, &b, &c, &d); return a == b && c == d }() {
		t.Fatalf("the state saw the attached rows (%q): the test proves nothing", got)
	}
	o := options(flatten.New())
	o.StateOnly = true
	if _, err := rebuild.Run(context.Background(), s, o); err != nil {
		t.Fatal(err)
	}
	var a, b, c, d int
	fmt.Sscan(query(t, s, count), &a, &b, &c, &d)
	if a != b || c != d {
		t.Errorf("after rebuild -state: %d leads, %d in leads_current; %d notes, %d in notes_current", a, b, c, d)
	}
	if got := leftovers(t, s); got != "" {
		t.Errorf("the rebuild left %q", got)
	}
}
