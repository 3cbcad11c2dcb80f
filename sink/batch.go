package sink

import (
	"fmt"
	"hash/crc32"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

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

// generation is the set of rows flushed together: per table, Arrow record batches of about
// chunkBytes each and the builder filling the next one, filled by Submit and the replayer, then
// handed whole to the flusher. A generation is only touched under Pipeline.mu while it fills and
// only by the flusher after that.
type generation struct {
	// seq numbers generations in the order they fill, and so finish, from 1.
	seq    uint64
	tables [numTables]genTable
	frozen bool // no longer filling: see freeze
	// hints, shared by the pipeline's generations, size each new builder from the chunks
	// sealed before it; nil sizes nothing. Read and written while the generation fills.
	hints   *[numTables]chunkHint
	records int
	rows    int
	// deferred is the size of the raw bodies the generation left in the log, which its inserts
	// will carry: not in its Arrow buffers, but counted by the MaxBytes trigger and the memory
	// limit (see held).
	deferred int64
	// positions are the records' WAL positions. Records are not added in position order:
	// concurrent Submits race for the lock.
	positions []wal.Position
	started   time.Time // when the first record was added
	// handedOn lists records that became dead letters in a later generation (a damaged raw
	// body, a callback the store rejected): that generation completes them, so that no commit
	// passes them before the dead letter is stored. Written under Pipeline.mu by the inserts,
	// read by finish after the flush.
	handedOn []wal.Position
	// replayedMax is the highest position the replayer added, if hasReplayed.
	replayedMax wal.Position
	hasReplayed bool
	// note is the generation's batch note, if noted: finish marks it stored.
	note  wal.BatchID
	noted bool
	// leads finds a callback's records when a batch of the generation is rejected;
	// deadLettered, under Pipeline.mu, lists the records it then kept as dead letters.
	leads        leadIndex
	deadLettered map[wal.Position]bool
}

type genTable struct {
	mem *countingAllocator // this table's buffers, built and sealed
	b   *array.RecordBuilder
	// chunks are the sealed batches; sealed is the memory they held when last sealed, so
	// mem.n - sealed is what the builder holds.
	chunks  []arrow.RecordBatch
	sealed  int64
	pending int  // rows in b
	reserve bool // b is empty and to be sized from the hint before its first row
	// sizedFor is the rows b was sized for from a hint, 0 if it was not; strings lists b's
	// string builders, nested ones included, whose data is what varies from row to row.
	sizedFor int
	strings  []*array.StringBuilder
	// dicts are b's dictionary builders (map keys included); dictSeen is, per builder, how
	// many of its values dictData has summed since the last seal.
	dicts    []*array.BinaryDictionaryBuilder
	dictSeen []int
	dictData int64
	// discount is the reserved room not counted, fixed when the generation stops filling.
	discount int64
	rows     int
	// first and last are the lowest and highest positions of the records with rows here.
	first, last wal.Position
	// sum fingerprints the records that gave this table rows, independently of their order,
	// so that a batch rebuilt from the same records gets the same deduplication token.
	sum uint64
	// stored is whether the store has the table's rows.
	stored bool
	// refs locate the raw body of each row of lead_updates in the write-ahead log, per chunk
	// (chunkRefs) and for the builder's rows (refs); the zero Position means the row's body is
	// in the batch itself. See addRows.
	refs      []wal.Position
	chunkRefs [][]wal.Position
	// pos and chunkPos are, like refs and chunkRefs, each lead_updates row's record: whose body
	// a rejected row's dead letter keeps (see rejected.go).
	pos      []wal.Position
	chunkPos [][]wal.Position
	refMem   atomic.Int64 // what refs, chunkRefs, pos and chunkPos hold, for bytes
}

// rawColumn is the index of lead_updates.raw, the callback body.
var rawColumn = mustColumn(schema.LeadUpdates, "raw")

// mustColumn is for columns this package is written against: a missing one is a build that
// skipped its tests.
func mustColumn(t *schema.Table, name string) int {
	i, ok := t.ColumnIndex(name)
	if !ok {
		panic("sink: table " + t.Name + " has no column " + name)
	}
	return i
}

// refBytes is the memory a row's reference to its raw body takes.
const refBytes = int64(unsafe.Sizeof(wal.Position{}))

// chunkBytes is the size at which a table's builder is sealed into a batch and a new one begun.
// One builder per table for a whole generation would grow its buffers by doubling to tens of
// megabytes, and each doubling copies everything so far while Submits wait for the lock: that
// copy was the largest part of the slowest acknowledgements. Chunks bound it, and their buffers
// are the same few sizes every time, which is what the buffer pool reuses best.
const chunkBytes = 2 << 20

// chunkHint is what the last chunk sealed of a table says about the next: how many rows make
// about chunkBytes, and how much string data each column then holds. A builder reserved from it
// takes its buffers once, at about their final size, instead of doubling them from small: no
// copies while it fills, and a quarter of the memory a doubled buffer leaves unused on average.
type chunkHint struct {
	rows int
	data []int // per column; 0 for columns without string data
	// runs is, per run-end encoded column, how many runs the chunk holds: the values its builder
	// is sized for, fewer than rows. 0 for other columns.
	runs []int
}

// minChunkRows and maxChunkRows bound a hint's rows, so that one odd chunk cannot make the next
// absurdly small or large.
const minChunkRows, maxChunkRows = 16, 1 << 16

func newGeneration(pool *bufferPool, hints *[numTables]chunkHint) *generation {
	g := &generation{hints: hints}
	for i := range g.tables {
		g.tables[i].mem = &countingAllocator{pool: pool}
	}
	return g
}

// bytes is the memory the generation's Arrow buffers hold, except the room a builder reserved
// from its hint and has not filled yet (see unfilled). Counting a fresh reservation whole would
// make a generation of one record look a chunk per table big, and flush or spill it as if full.
// While the generation fills, the caller holds the pipeline's lock; once it is frozen, bytes
// reads only atomic counts, since the flusher seals and releases chunks without that lock.
func (g *generation) bytes() int64 {
	n := g.tables[tLeads].refMem.Load()
	for i := range g.tables {
		t := &g.tables[i]
		if g.frozen {
			n += max(t.mem.n.Load()-t.discount, 0)
		} else {
			n += t.mem.n.Load() - t.unfilled()
		}
	}
	return n
}

// held is what the generation counts against the memory limit: its Arrow buffers and the raw
// bodies it left in the log, which its inserts hold while they write them (a ClickHouse server's
// batch, all at once). Under lock, or once frozen, like bytes.
func (g *generation) held() int64 { return g.bytes() + g.deferred }

// full reports whether a size trigger says to flush. MaxBytes bounds what the inserts carry, so
// the raw bodies left in the log count toward it.
func (g *generation) full(o *Options) bool {
	if g.held() >= o.MaxBytes {
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
		t.b = tables[i].NewBuilder(t.mem)
		t.reserve = true
		for _, f := range t.b.Fields() {
			t.list(f)
		}
	}
	if t.reserve {
		t.reserve = false
		t.sizedFor = 0
		if g.hints != nil && g.hints[i].rows > 0 {
			reserve(t.b, &g.hints[i])
			t.sizedFor = g.hints[i].rows
		}
	}
	return t.b
}

// list adds f's string and dictionary builders, nested ones included, to strings and dicts.
func (t *genTable) list(f array.Builder) {
	switch b := f.(type) {
	case *array.RunEndEncodedBuilder:
		t.list(b.ValueBuilder())
	case *array.MapBuilder:
		t.list(b.KeyBuilder())
		t.list(b.ItemBuilder())
	case *array.ListBuilder:
		t.list(b.ValueBuilder())
	case *array.StringBuilder:
		t.strings = append(t.strings, b)
	case *array.BinaryDictionaryBuilder:
		t.dicts = append(t.dicts, b)
		t.dictSeen = append(t.dictSeen, 0)
	}
}

// unfilled estimates the room the builder reserved from its hint and has not filled: what it
// holds less what its rows use, the larger of the hint's bytes per row times its rows and its
// string data (rows larger than the hint's would otherwise be counted small).
func (t *genTable) unfilled() int64 {
	if t.sizedFor == 0 {
		return 0
	}
	building := t.mem.n.Load() - t.sealed
	if building <= 0 {
		return 0
	}
	used := int64(t.pending) * chunkBytes / int64(t.sizedFor)
	var data int64
	for _, sb := range t.strings {
		data += int64(sb.DataLen())
	}
	for k, db := range t.dicts {
		for n := db.DictionarySize(); t.dictSeen[k] < n; t.dictSeen[k]++ {
			t.dictData += int64(len(db.Value(t.dictSeen[k])))
		}
	}
	data += t.dictData
	used = max(used, data)
	return max(building-used, 0)
}

// freeze fixes what bytes counts once the generation stops filling, before the flusher seals
// and releases its chunks without the pipeline's lock: from then on only the atomic counts are
// read, against the room left unfilled at this moment.
func (g *generation) freeze() {
	for i := range g.tables {
		g.tables[i].discount = g.tables[i].unfilled()
	}
	g.frozen = true
}

// reserve sizes an empty builder for a chunk like the hint's, with an eighth to spare. Resize
// sizes exactly; Reserve would round the rows up to a power of two.
func reserve(b *array.RecordBuilder, h *chunkHint) {
	rows := h.rows + h.rows/8
	for i, f := range b.Fields() {
		n := rows
		if rb, ok := f.(*array.RunEndEncodedBuilder); ok {
			// A run-end encoded column holds a value and an end per run, not per row.
			n = 0
			if i < len(h.runs) {
				n = h.runs[i] + h.runs[i]/8
			}
			f = rb.ValueBuilder()
			rb.Resize(n)
		} else {
			f.Resize(n)
		}
		if sb, ok := f.(*array.StringBuilder); ok && i < len(h.data) && h.data[i] > 0 {
			sb.ReserveData(h.data[i] + h.data[i]/8)
		}
	}
}

// decayHints shrinks the hint of every table that had rows in g but did not fill a single
// chunk, to the rows it had: under a light load chunks never fill, and hints learnt under a heavy
// one would keep reserving a whole chunk per table for a few rows. Called as g stops filling.
func (g *generation) decayHints() {
	if g.hints == nil {
		return
	}
	for i := range g.tables {
		t, h := &g.tables[i], &g.hints[i]
		if h.rows == 0 || t.pending == 0 || len(t.chunks) > 0 || t.pending >= h.rows {
			continue
		}
		rows := max(t.pending, minChunkRows)
		if rows >= h.rows {
			continue
		}
		for c := range h.data {
			h.data[c] = int(int64(h.data[c]) * int64(rows) / int64(h.rows))
		}
		for c, r := range h.runs {
			if r > 0 {
				h.runs[c] = max(int(int64(r)*int64(rows)/int64(h.rows)), 1)
			}
		}
		h.rows = rows
	}
}

// chunkFull reports whether table i's builder makes a chunk: the rows it was sized for, or
// chunkBytes of memory when it was not sized or its rows turned out much larger than the hint's.
func (g *generation) chunkFull(i int) bool {
	t := &g.tables[i]
	held := t.mem.n.Load() - t.sealed
	if t.sizedFor > 0 {
		return t.pending >= t.sizedFor || held >= 2*chunkBytes
	}
	return held >= chunkBytes
}

// seal turns table i's builder into a chunk, if it has rows. A chunk sealed for being full
// updates the table's hint; the last, partial chunk of a generation (learn false) does not.
func (g *generation) seal(i int, learn bool) {
	t := &g.tables[i]
	if t.pending == 0 {
		return
	}
	rec := t.b.NewRecordBatch()
	for _, d := range t.dicts {
		// A dictionary builder keeps its values for the next batch, which would repeat them
		// all in every chunk: each chunk has its own.
		d.ResetFull()
	}
	clear(t.dictSeen)
	t.dictData = 0
	t.chunks = append(t.chunks, rec)
	if i == tLeads {
		t.chunkRefs = append(t.chunkRefs, t.refs)
		t.refs = make([]wal.Position, 0, cap(t.refs))
		t.chunkPos = append(t.chunkPos, t.pos)
		t.pos = make([]wal.Position, 0, cap(t.pos))
	}
	t.pending = 0
	t.reserve = true
	t.sealed = t.mem.n.Load()
	if learn && g.hints != nil {
		g.hints[i].learn(rec)
	}
}

// learn sets the hint from a full chunk: rows scaled to make chunkBytes of data, and each
// column's string data scaled alike.
func (h *chunkHint) learn(rec arrow.RecordBatch) {
	rows, used := int(rec.NumRows()), recordBytes(rec)
	if rows == 0 || used == 0 {
		return
	}
	next := min(max(rows*chunkBytes/used, minChunkRows), maxChunkRows)
	h.rows = next
	if len(h.data) != int(rec.NumCols()) {
		h.data, h.runs = make([]int, rec.NumCols()), make([]int, rec.NumCols())
	}
	scale := func(n int) int { return int(int64(n) * int64(next) / int64(rows)) }
	for c, col := range rec.Columns() {
		h.data[c], h.runs[c] = 0, 0
		if r, ok := col.(*array.RunEndEncoded); ok {
			col = r.Values()
			h.runs[c] = max(scale(col.Len()), 1)
		}
		if s, ok := col.(*array.String); ok {
			h.data[c] = scale(len(s.ValueBytes()))
		}
	}
}

// recordBytes is the memory rec's buffers use, not counting their spare capacity.
func recordBytes(rec arrow.RecordBatch) int {
	var n int
	var walk func(d arrow.ArrayData)
	walk = func(d arrow.ArrayData) {
		for _, b := range d.Buffers() {
			if b != nil {
				n += b.Len()
			}
		}
		for _, c := range d.Children() {
			walk(c)
		}
		if dict, ok := d.Dictionary().(*array.Data); ok && dict != nil {
			walk(dict)
		}
	}
	for _, c := range rec.Columns() {
		walk(c.Data())
	}
	return n
}

// addRows appends one callback's rows. body is the callback's body as the write-ahead log holds
// it at pos, or nil. The raw body, the largest value of a callback by far, is not copied into the
// batch when it is that body: the batch keeps pos and the flush reads the body back from the log
// as it writes the rows, which keeps batch memory to the flattened values.
func (g *generation) addRows(pos wal.Position, h uint64, rows *schema.Rows, body []byte, now time.Time) {
	g.track(pos, now)
	// The log's position is the callback's arrival order, which breaks ties of its CRM time.
	rows.SetArrival(pos.Uint64())
	lead, ref := &rows.Lead, wal.Position{}
	raw := lead.Raw
	if pos.Segment != 0 && len(body) == len(raw) && (len(raw) == 0 || raw == unsafe.String(&body[0], len(body))) {
		lead.Raw, ref = "", pos
		g.deferred += int64(len(raw))
	}
	schema.AppendOne(schema.LeadUpdates, g.builder(tLeads), lead)
	lead.Raw = raw
	t := &g.tables[tLeads]
	t.refs = append(t.refs, ref)
	t.pos = append(t.pos, pos)
	t.refMem.Add(2 * refBytes)
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
	t.pending += n
	t.sum += h
	g.rows += n
	if g.chunkFull(i) {
		g.seal(i, true)
	}
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

// build returns table i's rows as a batch, sealing the builder's. Raw bodies the generation
// left in the log are read with read (a wal.BodyReader's Body, or nil to fail them), whose
// bytes need only last until its next call, into c, which the batch uses until it is written.
func (g *generation) build(i int, read func(wal.Position) ([]byte, error), c *chunkBodies) Batch {
	g.seal(i, false)
	t := &g.tables[i]
	b := Batch{Chunks: t.chunks}
	if i == tLeads && slices.ContainsFunc(t.chunkRefs, hasRef) {
		if c == nil {
			c = &chunkBodies{}
		}
		c.k = -1
		b.Deferred = &Deferred{Column: rawColumn, Value: func(k, row int) ([]byte, error) {
			if t.chunkRefs[k][row].Segment == 0 {
				s := t.chunks[k].Column(rawColumn).(*array.String).Value(row)
				return unsafe.Slice(unsafe.StringData(s), len(s)), nil
			}
			if c.k != k {
				if err := c.load(k, t.chunkRefs[k], read); err != nil {
					return nil, err
				}
			}
			return c.arena[c.start[row] : c.start[row]+c.size[row]], nil
		}}
	}
	return b
}

// chunkBodies holds the raw bodies of one chunk, read from the log in position order: rows reach
// a chunk nearly, not exactly, in that order (concurrent Submits race for the lock), and reading
// them in row order would step back and forth across the reader's read-ahead. One chunk's bodies
// are a few megabytes; the pipeline keeps one chunkBodies for all its flushes (one lead_updates
// insert runs at a time), so that this memory is not allocated again for every flush.
type chunkBodies struct {
	k           int // the chunk loaded, -1 for none
	arena       []byte
	start, size []int // row i's body is arena[start[i]:][:size[i]]
	order       []int
}

func (c *chunkBodies) load(k int, refs []wal.Position, read func(wal.Position) ([]byte, error)) error {
	c.k = -1
	c.order = c.order[:0]
	for row, ref := range refs {
		if ref.Segment != 0 {
			c.order = append(c.order, row)
		}
	}
	slices.SortFunc(c.order, func(a, b int) int { return refs[a].Compare(refs[b]) })
	c.arena = c.arena[:0]
	c.start, c.size = slices.Grow(c.start[:0], len(refs))[:len(refs)], slices.Grow(c.size[:0], len(refs))[:len(refs)]
	for _, row := range c.order {
		if read == nil {
			return fmt.Errorf("raw body at %s: no reader of the write-ahead log", refs[row])
		}
		body, err := read(refs[row])
		if err != nil {
			return err
		}
		c.start[row], c.size[row] = len(c.arena), len(body)
		c.arena = append(c.arena, body...)
	}
	c.k = k
	return nil
}

func hasRef(refs []wal.Position) bool {
	return slices.ContainsFunc(refs, func(p wal.Position) bool { return p.Segment != 0 })
}

// releaseChunks frees the table's batches once the store has them.
func (t *genTable) releaseChunks() {
	for _, c := range t.chunks {
		c.Release()
	}
	t.chunks, t.chunkRefs, t.refs, t.chunkPos, t.pos = nil, nil, nil, nil, nil
	t.refMem.Store(0)
}

// release frees the generation's Arrow memory.
func (g *generation) release() {
	for i := range g.tables {
		t := &g.tables[i]
		t.releaseChunks()
		if t.b != nil {
			t.b.Release()
			t.b = nil
		}
	}
}
