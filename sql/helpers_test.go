package sql

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/engine/enginetest"
	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
)

// ist is India Standard Time, which has had no daylight saving since 1945, so a fixed zone needs
// no tzdata on the test machine.
var ist = time.FixedZone("IST", 5*3600+1800)

// newStore returns a store on a fresh database of the test binary's engine.
func newStore(t *testing.T) *clickhouse.Store {
	t.Helper()
	return enginetest.Store(t)
}

// migrated returns a store whose database has every built-in migration applied.
func migrated(t *testing.T) *clickhouse.Store {
	t.Helper()
	s := newStore(t)
	if _, err := Migrate(context.Background(), s, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// query runs q and returns its rows, each a slice of unescaped TabSeparated fields.
func query(t *testing.T, db DB, q string) [][]string {
	t.Helper()
	var buf bytes.Buffer
	if err := db.Query(context.Background(), q, &buf); err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for line := range strings.Lines(buf.String()) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		for i := range f {
			f[i] = unescapeTSV(f[i])
		}
		rows = append(rows, f)
	}
	return rows
}

// queryString runs q and returns its rows as lines of tab-separated fields, for comparing small
// results in one go.
func queryString(t *testing.T, db DB, q string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range query(t, db, q) {
		b.WriteString(strings.Join(r, "\t"))
		b.WriteByte('\n')
	}
	return b.String()
}

func exec(t *testing.T, db DB, q string) {
	t.Helper()
	if err := db.Exec(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}

func unescapeTSV(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// payload is a callback document being edited: the CRM's sample, parsed with numbers kept as
// written so that re-marshalling changes only what a test edits.
type payload struct {
	t *testing.T
	m map[string]any
}

// seed returns the CRM document's sample callback (testdata/seed_callback.json) for lead id.
func seed(t *testing.T, id uint64) *payload {
	t.Helper()
	b, err := os.ReadFile("testdata/seed_callback.json")
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	p := &payload{t: t, m: m}
	p.set("lead_id", id)
	return p
}

// set stores v at a dotted path such as "calls.0.duration_in_sec". The last element must exist
// in a slice; map keys are created.
func (p *payload) set(path string, v any) *payload {
	p.t.Helper()
	parent, last := p.walk(path)
	switch c := parent.(type) {
	case map[string]any:
		c[last] = v
	case []any:
		i, err := strconv.Atoi(last)
		if err != nil || i < 0 || i >= len(c) {
			p.t.Fatalf("payload path %s: no element %s", path, last)
		}
		c[i] = v
	default:
		p.t.Fatalf("payload path %s: parent is %T", path, parent)
	}
	return p
}

// del removes a map key.
func (p *payload) del(path string) *payload {
	p.t.Helper()
	parent, last := p.walk(path)
	m, ok := parent.(map[string]any)
	if !ok {
		p.t.Fatalf("payload path %s: parent is %T, not an object", path, parent)
	}
	delete(m, last)
	return p
}

// push appends a deep copy of the array's element i to the array at path, edited by edit.
func (p *payload) push(path string, i int, edit func(el map[string]any)) *payload {
	p.t.Helper()
	arr, ok := p.get(path).([]any)
	if !ok || i >= len(arr) {
		p.t.Fatalf("payload path %s: no element %d", path, i)
	}
	b, err := json.Marshal(arr[i])
	if err != nil {
		p.t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var el map[string]any
	if err := d.Decode(&el); err != nil {
		p.t.Fatal(err)
	}
	edit(el)
	return p.set(path, append(arr, el))
}

func (p *payload) get(path string) any {
	p.t.Helper()
	parent, last := p.walk(path)
	switch c := parent.(type) {
	case map[string]any:
		return c[last]
	case []any:
		i, err := strconv.Atoi(last)
		if err != nil || i < 0 || i >= len(c) {
			p.t.Fatalf("payload path %s: no element %s", path, last)
		}
		return c[i]
	}
	p.t.Fatalf("payload path %s: parent is %T", path, parent)
	return nil
}

func (p *payload) walk(path string) (parent any, last string) {
	p.t.Helper()
	parts := strings.Split(path, ".")
	var cur any = p.m
	for _, k := range parts[:len(parts)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				p.t.Fatalf("payload path %s: no element %s", path, k)
			}
			cur = c[i]
		default:
			p.t.Fatalf("payload path %s: %s is inside a %T", path, k, cur)
		}
	}
	return cur, parts[len(parts)-1]
}

func (p *payload) bytes() []byte {
	p.t.Helper()
	b, err := json.Marshal(p.m)
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

// delivery is one callback body and when it was received.
type delivery struct {
	body []byte
	at   time.Time
}

// deliver flattens the bodies and inserts their rows as the sink would: one insert per table for
// the whole set, with a deduplication token unique to the set. It returns the callback ids.
// Each delivery's arrival order follows its time, then its place in ds (arrivalOf), as a log
// would number deliveries made at those times.
func deliver(t *testing.T, s *clickhouse.Store, ds ...delivery) []string {
	t.Helper()
	as := make([]uint64, len(ds))
	for i, d := range ds {
		as[i] = arrivalOf(d.at, i)
	}
	return deliverArrived(t, s, ds, as)
}

// arrivalOf is the arrival order deliver gives the i-th delivery of a call, made at at.
func arrivalOf(at time.Time, i int) uint64 { return uint64(at.UnixMilli())<<10 | uint64(i) }

// deliverArrived is deliver with the arrival order of each delivery given.
func deliverArrived(t *testing.T, s *clickhouse.Store, ds []delivery, arrivals []uint64) []string {
	t.Helper()
	var all schema.Rows
	var leads []schema.LeadUpdate
	ids := make([]string, len(ds))
	token := ""
	for i, d := range ds {
		rows, err := flatten.Flatten(d.body, d.at)
		if err != nil {
			t.Fatal(err)
		}
		rows.SetArrival(arrivals[i])
		ids[i] = rows.Lead.CallbackID
		token += fmt.Sprintf("%s@%d/%d,", ids[i], d.at.UnixMilli(), arrivals[i])
		leads = append(leads, rows.Lead)
		all.Events = append(all.Events, rows.Events...)
		all.Notes = append(all.Notes, rows.Notes...)
		all.Calls = append(all.Calls, rows.Calls...)
		all.Dispositions = append(all.Dispositions, rows.Dispositions...)
		all.Transitions = append(all.Transitions, rows.Transitions...)
		all.BookingDocs = append(all.BookingDocs, rows.BookingDocs...)
	}
	insert(t, s, schema.LeadUpdates, token, func(tb *schema.Table, b *array.RecordBuilder) { schema.Append(tb, b, leads) })
	insert(t, s, schema.Events, token, func(tb *schema.Table, b *array.RecordBuilder) { schema.Append(tb, b, all.Events) })
	insert(t, s, schema.Notes, token, func(tb *schema.Table, b *array.RecordBuilder) { schema.Append(tb, b, all.Notes) })
	insert(t, s, schema.Calls, token, func(tb *schema.Table, b *array.RecordBuilder) { schema.Append(tb, b, all.Calls) })
	insert(t, s, schema.Dispositions, token, func(tb *schema.Table, b *array.RecordBuilder) { schema.Append(tb, b, all.Dispositions) })
	insert(t, s, schema.Transitions, token, func(tb *schema.Table, b *array.RecordBuilder) { schema.Append(tb, b, all.Transitions) })
	insert(t, s, schema.BookingDocs, token, func(tb *schema.Table, b *array.RecordBuilder) { schema.Append(tb, b, all.BookingDocs) })
	return ids
}

func insert(t *testing.T, s *clickhouse.Store, tb *schema.Table, token string, fill func(*schema.Table, *array.RecordBuilder)) {
	t.Helper()
	b := tb.NewBuilder(memory.DefaultAllocator)
	defer b.Release()
	fill(tb, b)
	rec := b.NewRecordBatch()
	defer rec.Release()
	if rec.NumRows() == 0 {
		return
	}
	sum := sha256.Sum256([]byte(token))
	if err := s.Insert(context.Background(), tb, sink.Batch{Chunks: []arrow.RecordBatch{rec}}, hex.EncodeToString(sum[:])+"/"+tb.Name); err != nil {
		t.Fatal(err)
	}
}

// at parses an RFC 3339 instant.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// chTime formats an instant as the engine prints a DateTime64(3) in zone loc.
func chTime(v time.Time, loc *time.Location) string {
	return v.In(loc).Format("2006-01-02 15:04:05.000")
}
