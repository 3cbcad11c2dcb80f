// Package schema describes leadhouse's warehouse tables: their rows, columns, engines and Arrow layout.
package schema

import (
	"fmt"
	"reflect"
	"strings"
	"time"
	"unsafe"
)

// Millis is a point in time as milliseconds since the Unix epoch, UTC. Rows use it instead of
// time.Time because it is what DateTime64(3) stores and it costs nothing to copy.
type Millis int64

// MillisOf converts t to Millis.
func MillisOf(t time.Time) Millis { return Millis(t.UnixMilli()) }

// Time converts m back to a UTC time.Time.
func (m Millis) Time() time.Time { return time.UnixMilli(int64(m)).UTC() }

// Opt is a value that may be absent (SQL NULL).
type Opt[T any] struct {
	V     T
	Valid bool
}

// Some returns a present Opt holding v.
func Some[T any](v T) Opt[T] { return Opt[T]{V: v, Valid: true} }

// KV is one entry of a Map(String, String) column.
type KV struct{ Key, Value string }

// Column is one column of a table as ClickHouse reports it in DESCRIBE TABLE.
type Column struct {
	Name  string
	Type  string // ClickHouse type, e.g. "LowCardinality(String)"
	Codec string // codec expression as DESCRIBE shows it, e.g. "ZSTD(3)"; empty for the default
	kind  kind
	enc   encoding
	off   uintptr
}

// encoding is how a column's values are laid out in its Arrow batches. Batches are what the
// pipeline holds in memory between flushes, so values that repeat are stored once.
type encoding uint8

const (
	// encPlain stores every value.
	encPlain encoding = iota
	// encDict stores a string column as a dictionary of its distinct values and a 4-byte index
	// per row: LowCardinality columns (a handful of statuses and types repeated on most rows),
	// columns tagged arrow:"dict" (agents) and, always, map keys.
	encDict
	// encRuns stores consecutive equal values once, with where the run ends: a callback's
	// rows of one table are appended together and share its lead, id and time, so the Meta
	// columns of tables that take several rows per callback are mostly repeats.
	encRuns
)

// Table describes one warehouse table. Tables are built once by this package and never change.
type Table struct {
	Name string
	// Engine is the table engine's name as system.tables reports it.
	Engine string
	// SortingKey and PartitionKey are as system.tables reports them.
	SortingKey   string
	PartitionKey string
	Columns      []Column
	rowType      reflect.Type
}

// The warehouse's tables, in the order the pipeline flushes them.
var (
	LeadUpdates  = newTable[LeadUpdate]("lead_updates", "MergeTree", "lead_id, callback_id", "toYYYYMM(received_at)", oneRow)
	Events       = newTable[Event]("events", "ReplacingMergeTree", "lead_id, event_id", "", severalRows)
	Notes        = newTable[Note]("notes", "ReplacingMergeTree", "lead_id, note_id", "", severalRows)
	Calls        = newTable[Call]("calls", "ReplacingMergeTree", "lead_id, call_id", "", severalRows)
	Dispositions = newTable[Disposition]("dispositions", "ReplacingMergeTree", "lead_id, disposition_id", "", severalRows)
	Transitions  = newTable[StatusTransition]("status_transitions", "ReplacingMergeTree", "lead_id, status", "", severalRows)
	BookingDocs  = newTable[BookingDoc]("booking_docs", "ReplacingMergeTree", "lead_id, doc_id", "", severalRows)
	DeadLetters  = newTable[DeadLetter]("dead_letters", "MergeTree", "received_at", "toYYYYMM(received_at)", oneRow)
	Migrations   = newTable[Migration]("schema_migrations", "MergeTree", "version", "", oneRow)
	PIIKeys      = newTable[PIIKey]("pii_key", "MergeTree", "", "", oneRow)
	Erasures     = newTable[Erasure]("erasures", "MergeTree", "erased_at", "", oneRow)
	Replays      = newTable[DeadLetterReplay]("dead_letter_replays", "MergeTree", "dead_letter_id, replayed_at", "", oneRow)
	Rebuilds     = newTable[RebuildChunk]("rebuild_chunks", "MergeTree", "rebuild, chunk, table_name", "", oneRow)
)

// Migration is one applied migration file, recorded in schema_migrations.
type Migration struct {
	Version   uint32 `ch:"version" type:"UInt32"`
	Name      string `ch:"name" type:"String"`
	Checksum  string `ch:"checksum" type:"String"`
	AppliedAt Millis `ch:"applied_at" type:"DateTime64(3, 'UTC')"`
}

// Tables returns every table leadhouse owns.
func Tables() []*Table {
	return []*Table{LeadUpdates, Events, Notes, Calls, Dispositions, Transitions, BookingDocs, DeadLetters, Migrations, PIIKeys, Erasures, Replays, Rebuilds}
}

// Renamed returns a table of t's shape under another name: the same columns and Arrow layout,
// for writing to a copy of t (a rebuild's new tables).
func (t *Table) Renamed(name string) *Table {
	c := *t
	c.Name = name
	return &c
}

// RowTables returns the tables a callback's rows go to.
func RowTables() []*Table {
	return []*Table{LeadUpdates, Events, Notes, Calls, Dispositions, Transitions, BookingDocs}
}

// Lookup returns the table with the given name.
func Lookup(name string) (*Table, bool) {
	for _, t := range Tables() {
		if t.Name == name {
			return t, true
		}
	}
	return nil, false
}

// ColumnIndex returns the position of the column called name, and whether there is one.
func (t *Table) ColumnIndex(name string) (int, bool) {
	for i, c := range t.Columns {
		if c.Name == name {
			return i, true
		}
	}
	return -1, false
}

// ColumnNames returns the table's column names joined for an INSERT column list. The names are
// plain identifiers, so they need no quoting.
func (t *Table) ColumnNames() string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

type kind uint8

const (
	kUint64 kind = iota + 1
	kUint32
	kUint16
	kInt64
	kFloat64
	kBool
	kString
	kMillis
	kOptUint64
	kOptUint32
	kOptInt64
	kOptFloat64
	kOptBool
	kOptMillis
	kMap
	kStrings
)

var kinds = map[reflect.Type]kind{
	reflect.TypeFor[uint64]():       kUint64,
	reflect.TypeFor[uint32]():       kUint32,
	reflect.TypeFor[uint16]():       kUint16,
	reflect.TypeFor[int64]():        kInt64,
	reflect.TypeFor[float64]():      kFloat64,
	reflect.TypeFor[bool]():         kBool,
	reflect.TypeFor[string]():       kString,
	reflect.TypeFor[Millis]():       kMillis,
	reflect.TypeFor[Opt[uint64]]():  kOptUint64,
	reflect.TypeFor[Opt[uint32]]():  kOptUint32,
	reflect.TypeFor[Opt[int64]]():   kOptInt64,
	reflect.TypeFor[Opt[float64]](): kOptFloat64,
	reflect.TypeFor[Opt[bool]]():    kOptBool,
	reflect.TypeFor[Opt[Millis]]():  kOptMillis,
	reflect.TypeFor[[]KV]():         kMap,
	reflect.TypeFor[[]string]():     kStrings,
}

// rowsPerCallback is how many rows a table takes from one callback, which decides how its Meta
// columns are laid out in Arrow: run-encoded where a callback gives several rows, plain where it
// gives one, since a run of one costs its end on top of its value.
type rowsPerCallback uint8

const (
	oneRow rowsPerCallback = iota
	severalRows
)

// newTable derives a table's columns from R's struct tags. A malformed tag is a bug in this
// package, caught by any test that loads it, so it panics.
func newTable[R any](name, engine, sortingKey, partitionKey string, rows rowsPerCallback) *Table {
	t := &Table{Name: name, Engine: engine, SortingKey: sortingKey, PartitionKey: partitionKey, rowType: reflect.TypeFor[R]()}
	t.Columns = appendColumns(nil, t.rowType, 0, rows == severalRows)
	seen := map[string]bool{}
	for _, c := range t.Columns {
		if seen[c.Name] {
			panic(fmt.Sprintf("schema: table %s has column %s twice", name, c.Name))
		}
		seen[c.Name] = true
	}
	return t
}

func appendColumns(cols []Column, rt reflect.Type, base uintptr, metaRuns bool) []Column {
	for i := range rt.NumField() {
		f := rt.Field(i)
		if f.Anonymous {
			cols = appendColumns(cols, f.Type, base+f.Offset, metaRuns)
			continue
		}
		name, typ := f.Tag.Get("ch"), f.Tag.Get("type")
		if name == "" || typ == "" {
			panic(fmt.Sprintf("schema: field %s.%s lacks ch or type tag", rt.Name(), f.Name))
		}
		k, ok := kinds[f.Type]
		if !ok {
			panic(fmt.Sprintf("schema: field %s.%s has unsupported Go type %s", rt.Name(), f.Name, f.Type))
		}
		enc := encPlain
		switch tag := f.Tag.Get("arrow"); {
		case tag == "dict" && k == kString:
			enc = encDict
		case tag == "runs" && canRun(k):
			enc = encRuns
		case tag != "":
			panic(fmt.Sprintf("schema: field %s.%s: arrow:%q does not suit Go type %s", rt.Name(), f.Name, tag, f.Type))
		case metaRuns && rt == reflect.TypeFor[Meta]():
			enc = encRuns
		case k == kString && typ == "LowCardinality(String)":
			enc = encDict
		}
		cols = append(cols, Column{Name: name, Type: typ, Codec: f.Tag.Get("codec"), kind: k, enc: enc, off: base + f.Offset})
	}
	return cols
}

// canRun reports whether columns of kind k can be run-end encoded: the kinds sameValue compares,
// none of them nullable.
func canRun(k kind) bool { return k == kUint64 || k == kUint16 || k == kString || k == kMillis }

// checkRow panics when R is not the table's row type: a programming error, not bad input.
func (t *Table) checkRow(rt reflect.Type) {
	if rt != t.rowType {
		panic(fmt.Sprintf("schema: table %s holds %s rows, not %s", t.Name, t.rowType, rt))
	}
}

// field returns a pointer to column c's value inside the row at p.
func field[T any](p unsafe.Pointer, c *Column) *T { return (*T)(unsafe.Add(p, c.off)) }
