package schema

import (
	"fmt"
	"slices"
	"strings"
)

// StateTable is a table the engine keeps itself: a materialized view (View) folds every INSERT
// into a callback table into it, and a view reads it (sql migrations 0005 and 0006). leadhouse
// never writes these tables; they are described here so that the DDL tests check them like every
// other table and a column added to a callback table cannot be forgotten in its state.
type StateTable struct {
	Name string
	// Engine and SortingKey are as system.tables reports them.
	Engine     string
	SortingKey string
	// Source is the callback table the view reads.
	Source *Table
	// Columns is every column as DESCRIBE TABLE shows it.
	Columns []Column
}

const (
	minTime = "SimpleAggregateFunction(min, DateTime64(3, 'UTC'))"
	// versionColumn is the replacing tables' version.
	versionColumn = "version"
)

// The state tables, in the order migration 0005 creates them.
var (
	LeadsState     = copyTable("leads_state", LeadUpdates, nil, "UInt128", "raw")
	LeadDeliveries = &StateTable{Name: "lead_deliveries", Engine: "AggregatingMergeTree", SortingKey: "lead_id", Source: LeadUpdates,
		Columns: []Column{{Name: "lead_id", Type: "UInt64"}, {Name: "deliveries", Type: "AggregateFunction(1, minMap, Array(UInt64), Array(Int64))"}}}
	EventsState       = copyTable("events_state", Events, []string{"event_id"}, "UInt256")
	EventsSeen        = seenTable("events_seen", Events, "event_id")
	NotesState        = copyTable("notes_state", Notes, []string{"note_id"}, "UInt256")
	NotesSeen         = seenTable("notes_seen", Notes, "note_id")
	CallsState        = copyTable("calls_state", Calls, []string{"call_id"}, "UInt256")
	CallsSeen         = seenTable("calls_seen", Calls, "call_id")
	DispositionsState = copyTable("dispositions_state", Dispositions, []string{"disposition_id"}, "UInt256")
	DispositionsSeen  = seenTable("dispositions_seen", Dispositions, "disposition_id", Column{Name: "first_crm_updated_at", Type: minTime})
	BookingDocsState  = copyTable("booking_docs_state", BookingDocs, []string{"doc_id"}, "UInt256")
	BookingDocsSeen   = seenTable("booking_docs_seen", BookingDocs, "doc_id")
	TransitionsState  = copyTable("status_transitions_state", Transitions, []string{"status"}, "UInt256")
	TransitionsSeen   = seenTable("status_transitions_seen", Transitions, "status")
	ScenarioCounts    = &StateTable{
		Name: "scenario_counts_state", Engine: "AggregatingMergeTree", SortingKey: "day_ist, scenario, project_name, source", Source: LeadUpdates,
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
	return []*StateTable{LeadsState, LeadDeliveries, EventsState, EventsSeen, NotesState, NotesSeen, CallsState, CallsSeen,
		DispositionsState, DispositionsSeen, BookingDocsState, BookingDocsSeen, TransitionsState, TransitionsSeen, ScenarioCounts}
}

// View is the name of the materialized view that fills the state table.
func (s *StateTable) View() string { return s.Name + "_mv" }

// copyTable describes a ReplacingMergeTree keeping, per lead and keys, the row of src with the
// greatest version: every column of src but skip, then the version.
func copyTable(name string, src *Table, keys []string, version string, skip ...string) *StateTable {
	s := &StateTable{Name: name, Engine: "ReplacingMergeTree", Source: src,
		SortingKey: strings.Join(append([]string{"lead_id"}, keys...), ", ")}
	for _, k := range append(slices.Clone(keys), skip...) {
		if _, ok := src.ColumnIndex(k); !ok {
			panic(fmt.Sprintf("schema: state table %s names column %s, which %s lacks", name, k, src.Name))
		}
	}
	for _, c := range src.Columns {
		if !slices.Contains(skip, c.Name) {
			s.Columns = append(s.Columns, Column{Name: c.Name, Type: c.Type})
		}
	}
	s.Columns = append(s.Columns, Column{Name: versionColumn, Type: version})
	return s
}

// seenTable describes an AggregatingMergeTree keeping, per lead and key of src, when the entity
// first arrived, and extra.
func seenTable(name string, src *Table, key string, extra ...Column) *StateTable {
	i, ok := src.ColumnIndex(key)
	if !ok {
		panic(fmt.Sprintf("schema: state table %s names column %s, which %s lacks", name, key, src.Name))
	}
	cols := []Column{{Name: "lead_id", Type: "UInt64"}, {Name: key, Type: src.Columns[i].Type}, {Name: "first_seen_at", Type: minTime}}
	return &StateTable{Name: name, Engine: "AggregatingMergeTree", SortingKey: "lead_id, " + key, Source: src, Columns: append(cols, extra...)}
}
