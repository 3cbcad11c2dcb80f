package schema

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestEveryTableHasMetaAndUniqueColumns(t *testing.T) {
	for _, tb := range RowTables() {
		names := map[string]bool{}
		for _, c := range tb.Columns {
			names[c.Name] = true
		}
		for _, want := range []string{"lead_id", "callback_id", "received_at", "mapping_version"} {
			if !names[want] {
				t.Errorf("%s lacks %s", tb.Name, want)
			}
		}
		if len(tb.ArrowSchema().Fields()) != len(tb.Columns) {
			t.Errorf("%s: arrow schema has %d fields, table %d columns", tb.Name, len(tb.ArrowSchema().Fields()), len(tb.Columns))
		}
	}
}

func TestArrowNullabilityFollowsClickHouseType(t *testing.T) {
	for _, tb := range Tables() {
		for i, f := range tb.ArrowSchema().Fields() {
			nullable := strings.HasPrefix(tb.Columns[i].Type, "Nullable(")
			if f.Nullable != nullable {
				t.Errorf("%s.%s: arrow nullable=%v but type %s", tb.Name, f.Name, f.Nullable, tb.Columns[i].Type)
			}
		}
	}
}

// TestAppendRoundTrip proves every column kind lands in its Arrow column with the row's value,
// and that an absent value becomes an Arrow null.
func TestAppendRoundTrip(t *testing.T) {
	at := time.Date(2019, 5, 17, 8, 35, 7, 123e6, time.UTC)
	rows := []Note{
		{
			Meta:      Meta{LeadID: 1402361, CallbackID: "abc", ReceivedAt: MillisOf(at), MappingVersion: MappingVersion},
			NoteID:    757670,
			EventID:   Some[uint64](1225388),
			Position:  2,
			NoteType:  "text",
			Data:      "site revisit done ✓",
			CreatedAt: Some(MillisOf(at.Add(-time.Hour))),
			Agent:     Agent{AgentID: Some[uint64](562), AgentName: "Ritesh Kumar", AgentPhoneCountryID: Some[uint32](49)},
		},
		{Meta: Meta{LeadID: 7}, NoteID: 1},
	}
	b := Notes.NewBuilder(memory.NewGoAllocator())
	defer b.Release()
	Append(Notes, b, rows)
	rec := b.NewRecordBatch()
	defer rec.Release()
	if rec.NumRows() != 2 {
		t.Fatalf("rows = %d", rec.NumRows())
	}
	for i := range rows {
		want := Values(Notes, &rows[i])
		for j, c := range Notes.Columns {
			col := rec.Column(j)
			got := any(nil)
			if !col.IsNull(i) {
				got = col.GetOneForMarshal(i)
			}
			if (want[j] == nil) != (got == nil) {
				t.Errorf("row %d %s: null mismatch: want %v got %v", i, c.Name, want[j], got)
			}
		}
	}
	if got := rec.Column(colIndex(t, Notes, "data")).(*array.String).Value(0); got != rows[0].Data {
		t.Errorf("data = %q", got)
	}
	received := decoded(t, rec.Column(colIndex(t, Notes, "received_at"))).(*array.Timestamp)
	if got := received.Value(0); int64(got) != at.UnixMilli() {
		t.Errorf("received_at = %d", got)
	}
	if !rec.Column(colIndex(t, Notes, "event_id")).IsNull(1) {
		t.Error("absent event_id is not null")
	}
}

func TestAppendMapAndList(t *testing.T) {
	rows := []LeadUpdate{{
		Meta:         Meta{LeadID: 1},
		ExtraDetails: []KV{{"gender", "male"}, {"possession_in", "[1,2]"}},
		UnknownKeys:  []string{"is_duplicate"},
	}, {Meta: Meta{LeadID: 2}}}
	b := LeadUpdates.NewBuilder(memory.NewGoAllocator())
	defer b.Release()
	Append(LeadUpdates, b, rows)
	rec := b.NewRecordBatch()
	defer rec.Release()
	m := decoded(t, rec.Column(colIndex(t, LeadUpdates, "extra_details"))).(*array.Map)
	keys := m.Keys().(*array.String)
	if m.Len() != 2 || keys.Len() != 2 || keys.Value(1) != "possession_in" || m.Items().(*array.String).Value(1) != "[1,2]" {
		t.Fatalf("map column: len %d keys %v", m.Len(), keys)
	}
	got := Values(LeadUpdates, &rows[0])[colIndex(t, LeadUpdates, "extra_details")]
	if !reflect.DeepEqual(got, map[string]string{"gender": "male", "possession_in": "[1,2]"}) {
		t.Errorf("Values map = %v", got)
	}
	l := rec.Column(colIndex(t, LeadUpdates, "unknown_keys")).(*array.List)
	if l.Len() != 2 || l.ListValues().Len() != 1 {
		t.Errorf("list column: %v", l)
	}
}

// A map's keys are dictionary-encoded; decoded, a slice of the map keeps its own rows' entries.
func TestDecodeOfMapKeys(t *testing.T) {
	rows := []LeadUpdate{
		{ExtraDetails: []KV{{"gender", "male"}, {"city", "Pune"}}},
		{},
		{ExtraDetails: []KV{{"city", "Goa"}, {"gender", ""}, {"", "x"}}},
	}
	b := LeadUpdates.NewBuilder(memory.NewGoAllocator())
	defer b.Release()
	Append(LeadUpdates, b, rows)
	rec := b.NewRecordBatch()
	defer rec.Release()
	col := colIndex(t, LeadUpdates, "extra_details")
	if _, ok := rec.Column(col).(*array.Map).Keys().(*array.Dictionary); !ok {
		t.Fatalf("map keys are %s, want a dictionary", rec.Column(col).(*array.Map).Keys().DataType())
	}
	for lo := range len(rows) {
		part := rec.NewSlice(int64(lo), int64(len(rows)))
		m := decoded(t, part.Column(col)).(*array.Map)
		part.Release()
		for i := range m.Len() {
			start, end := m.ValueOffsets(i)
			var got []KV
			for j := start; j < end; j++ {
				got = append(got, KV{m.Keys().(*array.String).Value(int(j)), m.Items().(*array.String).Value(int(j))})
			}
			if want := rows[lo+i].ExtraDetails; !reflect.DeepEqual(got, want) {
				t.Errorf("rows from %d, row %d: %v, want %v", lo, i, got, want)
			}
		}
	}
}

func TestAppendRejectsWrongRowType(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("appending Call rows to notes did not panic")
		}
	}()
	b := Notes.NewBuilder(memory.NewGoAllocator())
	defer b.Release()
	Append(Notes, b, []Call{{}})
}

func TestRowsResetKeepsCapacity(t *testing.T) {
	var r Rows
	r.Notes = append(r.Notes, Note{NoteID: 1}, Note{NoteID: 2})
	r.Lead.ExtraDetails = append(r.Lead.ExtraDetails, KV{"a", "b"})
	r.Lead.Name = "x"
	if r.Count() != 3 {
		t.Errorf("Count = %d", r.Count())
	}
	r.Reset()
	if len(r.Notes) != 0 || cap(r.Notes) < 2 || r.Lead.Name != "" || len(r.Lead.ExtraDetails) != 0 || cap(r.Lead.ExtraDetails) < 1 {
		t.Errorf("Reset: %+v", r)
	}
}

// TestEncodedColumnsHoldTheirValues appends rows whose Meta repeats, changes within one call and
// repeats across calls, and LowCardinality values including the empty string, and checks that
// every column decodes to the rows' values, for each encoding's table.
func TestEncodedColumnsHoldTheirValues(t *testing.T) {
	at := MillisOf(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	meta := func(lead uint64, id string) Meta {
		return Meta{LeadID: lead, CallbackID: id, ReceivedAt: at + Millis(lead), MappingVersion: MappingVersion}
	}
	calls := [][]StatusTransition{
		{{Meta: meta(1, "a"), Status: "new", StatusKey: "moved_to_new", StatusBeforeCC: "open"}, {Meta: meta(1, "a"), Status: "", StatusKey: "moved_to_x", StatusBeforeCC: "open"}},
		{{Meta: meta(1, "a"), Status: "new"}},
		{{Meta: meta(2, "b"), Status: "lost", StatusBeforeCC: "x"}, {Meta: meta(3, "b"), Status: "new", StatusBeforeCC: "x"}, {Meta: meta(3, "c"), Status: "lost"}},
		{},
		{{Meta: meta(4, ""), Status: "won"}},
	}
	b := Transitions.NewBuilder(memory.NewGoAllocator())
	defer b.Release()
	var all []StatusTransition
	for _, rows := range calls {
		Append(Transitions, b, rows)
		all = append(all, rows...)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	checkColumns(t, Transitions, rec, all)
	// One run per call and value: a a | a | b b c | "" (runs never span calls).
	ids := rec.Column(colIndex(t, Transitions, "callback_id")).(*array.RunEndEncoded)
	if got := ids.Values().Len(); got != 5 {
		t.Errorf("callback_id holds %d runs, want 5", got)
	}

	leads := []LeadUpdate{{Meta: meta(1, "a"), Action: "lead_created", LeadStatus: "new"}, {Meta: meta(1, "b"), Action: "", LeadStatus: "new"}}
	lb := LeadUpdates.NewBuilder(memory.NewGoAllocator())
	defer lb.Release()
	Append(LeadUpdates, lb, leads)
	lrec := lb.NewRecordBatch()
	defer lrec.Release()
	checkColumns(t, LeadUpdates, lrec, leads)
}

// checkColumns compares every scalar column of rec, decoded, with the rows' values.
func checkColumns[R any](t *testing.T, tb *Table, rec arrow.RecordBatch, rows []R) {
	t.Helper()
	if int(rec.NumRows()) != len(rows) {
		t.Fatalf("%s: %d rows, want %d", tb.Name, rec.NumRows(), len(rows))
	}
	for j, c := range tb.Columns {
		col := decoded(t, rec.Column(j))
		for i := range rows {
			want := Values(tb, &rows[i])[j]
			var got any
			if col.IsNull(i) {
				if want != nil {
					t.Errorf("%s.%s row %d is null, want %v", tb.Name, c.Name, i, want)
				}
				continue
			}
			switch a := col.(type) {
			case *array.String:
				got = a.Value(i)
			case *array.Uint64:
				got = a.Value(i)
			case *array.Uint16:
				got = a.Value(i)
			case *array.Timestamp:
				got = a.Value(i).ToTime(arrow.Millisecond)
			default:
				continue
			}
			if got != want {
				t.Errorf("%s.%s row %d = %v, want %v", tb.Name, c.Name, i, got, want)
			}
		}
	}
}

func TestEncodingsFollowTheColumns(t *testing.T) {
	for _, tb := range Tables() {
		for i, f := range tb.ArrowSchema().Fields() {
			c := tb.Columns[i]
			_, dict := f.Type.(*arrow.DictionaryType)
			_, runs := f.Type.(*arrow.RunEndEncodedType)
			meta := c.Name == "lead_id" || c.Name == "callback_id" || c.Name == "received_at" || c.Name == "mapping_version" ||
				c.Name == "crm_updated_at" || c.Name == "arrival"
			several := tb != LeadUpdates && tb != DeadLetters && tb != Migrations && tb != PIIKeys && tb != Erasures && tb != Replays && tb != Rebuilds
			tagged := map[string]string{
				"agent_name": "dict", "agent_phone": "dict", "agent_email": "dict",
				"status_before_cc": "runs", "status_before_cc_raw": "runs",
			}[c.Name]
			if tb != Transitions && tagged == "runs" {
				tagged = ""
			}
			wantRuns := tagged == "runs" || tagged == "" && meta && several
			wantDict := tagged == "dict" || tagged == "" && c.Type == "LowCardinality(String)"
			if dict != wantDict {
				t.Errorf("%s.%s (%s): dictionary %v, want %v", tb.Name, c.Name, c.Type, dict, wantDict)
			}
			if runs != wantRuns {
				t.Errorf("%s.%s: run-end encoded %v, want %v", tb.Name, c.Name, runs, wantRuns)
			}
		}
	}
}

func TestDecodeOfAnEmptyRunArray(t *testing.T) {
	b := Notes.NewBuilder(memory.NewGoAllocator())
	defer b.Release()
	rec := b.NewRecordBatch()
	defer rec.Release()
	for j := range rec.Columns() {
		if col := decoded(t, rec.Column(j)); col.Len() != 0 {
			t.Errorf("column %d decodes to %d rows", j, col.Len())
		}
	}
}

// decoded is Decode that fails the test on error and releases the array at its end.
func decoded(t *testing.T, arr arrow.Array) arrow.Array {
	t.Helper()
	d, err := Decode(arr, memory.NewGoAllocator())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Release)
	return d
}

func colIndex(t *testing.T, tb *Table, name string) int {
	t.Helper()
	i, ok := tb.ColumnIndex(name)
	if !ok {
		t.Fatalf("%s has no column %s", tb.Name, name)
	}
	return i
}
