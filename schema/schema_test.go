package schema

import (
	"reflect"
	"strings"
	"testing"
	"time"

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
	if got := rec.Column(colIndex(t, Notes, "received_at")).(*array.Timestamp).Value(0); int64(got) != at.UnixMilli() {
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
	m := rec.Column(colIndex(t, LeadUpdates, "extra_details")).(*array.Map)
	keys := m.Keys().(*array.String)
	if m.Len() != 2 || keys.Len() != 2 || keys.Value(1) != "possession_in" {
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

func colIndex(t *testing.T, tb *Table, name string) int {
	t.Helper()
	i, ok := tb.ColumnIndex(name)
	if !ok {
		t.Fatalf("%s has no column %s", tb.Name, name)
	}
	return i
}
