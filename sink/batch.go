package sink

import (
	"fmt"
	"hash/crc32"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink/wal"
)

// tables are the tables a generation fills, in the order it flushes them. The indexes below
// name them; both are constant after initialisation.
var tables = [...]*schema.Table{
	schema.LeadUpdates, schema.Events, schema.Notes, schema.Calls, schema.Dispositions,
	schema.Transitions, schema.BookingDocs, schema.DeadLetters,
}

const (
	tLeads = iota
	tEvents
	tNotes
	tCalls
	tDispositions
	tTransitions
	tBookingDocs
	tDeadLetters
	numTables
)

// The dead-letter reasons the pipeline itself gives.
const (
	// ReasonInvalid is the reason of a rejection that names none, and of a replayed body Decode
	// refused when Options.Reason is not set.
	ReasonInvalid = "invalid"
	// ReasonWALCorrupt is the reason of a stretch of the write-ahead log that is not a valid
	// record; the dead letter keeps its raw bytes.
	ReasonWALCorrupt = "wal_corrupt"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// generation is the set of rows flushed together: one Arrow builder per table, filled by Submit
// and the replayer, then handed whole to the flusher. A generation is only touched under
// Pipeline.mu while it fills and only by the flusher after that.
type generation struct {
	mem     *countingAllocator
	tables  [numTables]genTable
	records int
	rows    int
	// positions are the records' WAL positions. Records are not added in position order:
	// concurrent Submits race for the lock.
	positions []wal.Position
	started   time.Time // when the first record was added
	// replayedMax is the highest position the replayer added, if hasReplayed.
	replayedMax wal.Position
	hasReplayed bool
}

type genTable struct {
	b    *array.RecordBuilder
	rows int
	// first and last are the lowest and highest positions of the records with rows here.
	first, last wal.Position
	// sum fingerprints the records that gave this table rows, independently of their order,
	// so that a batch rebuilt from the same records gets the same deduplication token.
	sum uint64
	// Flush state: the batch built from b, and whether the store has it.
	rec    arrow.RecordBatch
	stored bool
}

func newGeneration(pool *bufferPool) *generation {
	return &generation{mem: &countingAllocator{pool: pool}}
}

// bytes is the memory the generation's Arrow buffers hold.
func (g *generation) bytes() int64 { return g.mem.n.Load() }

// full reports whether a size trigger says to flush.
func (g *generation) full(o *Options) bool {
	if g.bytes() >= o.MaxBytes {
		return true
	}
	for i := range g.tables {
		if g.tables[i].rows >= o.MaxRows {
			return true
		}
	}
	return false
}

// recordHash fingerprints one record for the tables' sums: its position and body checksum.
func recordHash(pos wal.Position, body []byte) uint64 {
	h := uint64(crc32.Checksum(body, castagnoli))<<32 | uint64(uint32(len(body)))
	h ^= pos.Segment*0x9e3779b97f4a7c15 ^ uint64(pos.Offset)*0xbf58476d1ce4e5b9
	// splitmix64's finalizer, so that sums of nearby positions do not cancel out
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// track records that the record at pos is in the generation.
func (g *generation) track(pos wal.Position, now time.Time) {
	if g.records == 0 {
		g.started = now
	}
	g.records++
	g.positions = append(g.positions, pos)
}

// replayed notes that the record at pos came from the replayer.
func (g *generation) replayed(pos wal.Position) {
	if !g.hasReplayed || pos.Compare(g.replayedMax) > 0 {
		g.replayedMax, g.hasReplayed = pos, true
	}
}

func (g *generation) builder(i int) *array.RecordBuilder {
	t := &g.tables[i]
	if t.b == nil {
		t.b = tables[i].NewBuilder(g.mem)
	}
	return t.b
}

// addRows appends one callback's rows.
func (g *generation) addRows(pos wal.Position, h uint64, rows *schema.Rows, now time.Time) {
	g.track(pos, now)
	schema.AppendOne(schema.LeadUpdates, g.builder(tLeads), &rows.Lead)
	g.counted(tLeads, pos, h, 1)
	addTable(g, tEvents, pos, h, rows.Events)
	addTable(g, tNotes, pos, h, rows.Notes)
	addTable(g, tCalls, pos, h, rows.Calls)
	addTable(g, tDispositions, pos, h, rows.Dispositions)
	addTable(g, tTransitions, pos, h, rows.Transitions)
	addTable(g, tBookingDocs, pos, h, rows.BookingDocs)
}

// addDeadLetter appends a body that could not be turned into rows.
func (g *generation) addDeadLetter(pos wal.Position, h uint64, d *schema.DeadLetter, now time.Time) {
	g.track(pos, now)
	schema.AppendOne(schema.DeadLetters, g.builder(tDeadLetters), d)
	g.counted(tDeadLetters, pos, h, 1)
}

// counted notes that n rows of the record at pos, with hash h, went to table i.
func (g *generation) counted(i int, pos wal.Position, h uint64, n int) {
	t := &g.tables[i]
	if t.rows == 0 {
		t.first, t.last = pos, pos
	} else {
		if pos.Compare(t.first) < 0 {
			t.first = pos
		}
		if pos.Compare(t.last) > 0 {
			t.last = pos
		}
	}
	t.rows += n
	t.sum += h
	g.rows += n
}

func addTable[R any](g *generation, i int, pos wal.Position, h uint64, rows []R) {
	if len(rows) == 0 {
		return
	}
	schema.Append(tables[i], g.builder(i), rows)
	g.counted(i, pos, h, len(rows))
}

// token is the insert_deduplication_token of table i's batch: the table, the range of log
// positions and the number of its rows, and a fingerprint of the records that gave them (so that
// a log started afresh cannot reuse a token within the store's deduplication window). It depends
// only on those records, so a retried insert, or one rebuilt by replaying the same records after
// a crash, carries the same token and the store keeps the rows once.
func (g *generation) token(i int) string {
	t := &g.tables[i]
	return fmt.Sprintf("%s:%d.%d-%d.%d:%d:%016x", tables[i].Name,
		t.first.Segment, t.first.Offset, t.last.Segment, t.last.Offset, t.rows, t.sum)
}

// build turns table i's builder into its batch, once.
func (g *generation) build(i int) arrow.RecordBatch {
	t := &g.tables[i]
	if t.rec == nil {
		t.rec = t.b.NewRecordBatch()
	}
	return t.rec
}

// release frees the generation's Arrow memory.
func (g *generation) release() {
	for i := range g.tables {
		t := &g.tables[i]
		if t.rec != nil {
			t.rec.Release()
			t.rec = nil
		}
		if t.b != nil {
			t.b.Release()
			t.b = nil
		}
	}
}
