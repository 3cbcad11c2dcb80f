package schema

import (
	"fmt"
	"slices"
	"strings"
)

// StateTable is a table the engine keeps itself: a materialized view folds every INSERT into a
// callback table (Source) into it, and a view reads it (sql migrations 0005 and 0006). leadhouse
// never writes these tables; they are described here so that their columns follow their source's
// and the DDL tests can check them like every other table.
//
// A state table holds, per key, an argMax state of every other column of Source, versioned by
// Version, and the extra columns listed in Extra.
type StateTable struct {
	Name string
	// Engine and SortingKey are as system.tables reports them.
	Engine     string
	SortingKey string
	// Source is the callback table whose inserts the state table folds; nil for a state that
	// is no copy of a table (scenario counts).
	Source *Table
	// Keys are the columns of Source the state is keyed by, stored as they are.
	Keys []string
	// Version is the ClickHouse type of the argMax version.
	Version string
	// Skip lists Source columns the state does not keep.
	Skip []string
	// Extra are the columns after the copied ones.
	Extra []Column
	// Columns is every column as DESCRIBE TABLE shows it.
	Columns []Column
}

const (
	leadVersion   = "Tuple(DateTime64(3, 'UTC'), UInt64)"
	entityVersion = "Tuple(DateTime64(3, 'UTC'), DateTime64(3, 'UTC'), UInt64)"
	minTime       = "SimpleAggregateFunction(min, DateTime64(3, 'UTC'))"
)

// The state tables, in the order migration 0005 creates them.
var (
	LeadsState = newStateTable("leads_state", LeadUpdates, nil, leadVersion, []string{"raw"},
		Column{Name: "deliveries", Type: "AggregateFunction(1, minMap, Array(UInt64), Array(Int64))"})
	EventsState       = newStateTable("events_state", Events, []string{"event_id"}, entityVersion, nil, Column{Name: "first_seen_at", Type: minTime})
	NotesState        = newStateTable("notes_state", Notes, []string{"note_id"}, entityVersion, nil, Column{Name: "first_seen_at", Type: minTime})
	CallsState        = newStateTable("calls_state", Calls, []string{"call_id"}, entityVersion, nil, Column{Name: "first_seen_at", Type: minTime})
	DispositionsState = newStateTable("dispositions_state", Dispositions, []string{"disposition_id"}, entityVersion, nil,
		Column{Name: "first_seen_at", Type: minTime}, Column{Name: "first_crm_updated_at", Type: minTime})
	BookingDocsState = newStateTable("booking_docs_state", BookingDocs, []string{"doc_id"}, entityVersion, nil, Column{Name: "first_seen_at", Type: minTime})
	TransitionsState = newStateTable("status_transitions_state", Transitions, []string{"status"}, entityVersion, nil, Column{Name: "first_seen_at", Type: minTime})
	ScenarioCounts   = &StateTable{
		Name: "scenario_counts_state", Engine: "AggregatingMergeTree", SortingKey: "day_ist, scenario, project_name, source",
		Columns: []Column{
			{Name: "day_ist", Type: "Date"},
			{Name: "scenario", Type: "LowCardinality(String)"},
			{Name: "project_name", Type: "LowCardinality(String)"},
			{Name: "source", Type: "LowCardinality(String)"},
			{Name: "callbacks", Type: "AggregateFunction(uniqExact, String)"},
			{Name: "leads", Type: "AggregateFunction(uniqExact, UInt64)"},
		},
	}
)

// StateTables returns every state table.
func StateTables() []*StateTable {
	return []*StateTable{LeadsState, EventsState, NotesState, CallsState, DispositionsState, BookingDocsState, TransitionsState, ScenarioCounts}
}

// View is the name of the materialized view that fills the state table.
func (s *StateTable) View() string { return s.Name + "_mv" }

// newStateTable derives a state table's columns from its source: lead_id and keys as they are,
// every other column but skip as an argMax state (of a one-element tuple where the column is
// Nullable, since argMax skips NULL values), then extra.
func newStateTable(name string, src *Table, keys []string, version string, skip []string, extra ...Column) *StateTable {
	s := &StateTable{Name: name, Engine: "AggregatingMergeTree", Source: src, Keys: keys, Version: version, Skip: skip, Extra: extra}
	s.SortingKey = strings.Join(append([]string{"lead_id"}, keys...), ", ")
	isKey := map[string]bool{"lead_id": true}
	for _, k := range keys {
		isKey[k] = true
	}
	for _, k := range append(append([]string{}, keys...), skip...) {
		if _, ok := src.ColumnIndex(k); !ok {
			panic(fmt.Sprintf("schema: state table %s names column %s, which %s lacks", name, k, src.Name))
		}
	}
	for _, c := range src.Columns {
		switch {
		case isKey[c.Name]:
			s.Columns = append(s.Columns, Column{Name: c.Name, Type: c.Type})
		case slices.Contains(skip, c.Name):
		case strings.HasPrefix(c.Type, "Nullable("):
			s.Columns = append(s.Columns, Column{Name: c.Name, Type: "AggregateFunction(argMax, Tuple(" + c.Type + "), " + version + ")"})
		default:
			s.Columns = append(s.Columns, Column{Name: c.Name, Type: "AggregateFunction(argMax, " + c.Type + ", " + version + ")"})
		}
	}
	s.Columns = append(s.Columns, extra...)
	return s
}
