package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink/chdb"
	"github.com/leadhouse/leadhouse/sink/chdb/chdbtest"
	lhsql "github.com/leadhouse/leadhouse/sql"
)

// tableCase builds n rows of one table, every column populated, as an Arrow record and as the
// plain values schema.Values reports for each row.
type tableCase struct {
	table *schema.Table
	build func(n int) (arrow.RecordBatch, [][]any)
}

func tableCases() []tableCase {
	return []tableCase{
		{schema.LeadUpdates, buildTable[schema.LeadUpdate](schema.LeadUpdates)},
		{schema.Events, buildTable[schema.Event](schema.Events)},
		{schema.Notes, buildTable[schema.Note](schema.Notes)},
		{schema.Calls, buildTable[schema.Call](schema.Calls)},
		{schema.Dispositions, buildTable[schema.Disposition](schema.Dispositions)},
		{schema.Transitions, buildTable[schema.StatusTransition](schema.Transitions)},
		{schema.BookingDocs, buildTable[schema.BookingDoc](schema.BookingDocs)},
		{schema.DeadLetters, buildTable[schema.DeadLetter](schema.DeadLetters)},
		{schema.Migrations, buildTable[schema.Migration](schema.Migrations)},
	}
}

func buildTable[R any](t *schema.Table) func(n int) (arrow.RecordBatch, [][]any) {
	return func(n int) (arrow.RecordBatch, [][]any) {
		rows := make([]R, n)
		for i := range rows {
			k := 0
			fillValue(reflect.ValueOf(&rows[i]).Elem(), i, &k)
		}
		b := t.NewBuilder(memory.NewGoAllocator())
		defer b.Release()
		schema.Append(t, b, rows)
		want := make([][]any, n)
		for i := range rows {
			want[i] = schema.Values(t, &rows[i])
		}
		return b.NewRecordBatch(), want
	}
}

// Values the rows are filled from: edges of every type, unicode, and every character
// TabSeparated escapes.
var (
	sampleStrings = []string{
		"",
		"plain",
		"ユニコード 🏠 ₹ Ünïcödé",
		"tab\there, newline\nthere, back\\slash, quote' double\" cr\r",
		"nul\x00byte \b \f",
		strings.Repeat("long text ", 20),
	}
	sampleMillis = []schema.Millis{
		1558082107000,  // 2019-05-17 08:35:07.000
		1558082107123,  // with milliseconds
		0,              // the epoch
		-1,             // 1969-12-31 23:59:59.999
		-2208988800000, // 1900-01-01, DateTime64(3)'s first instant
		9223372036854,  // 2262-04-11 23:47:16.854, the last instant clickhouse-go can send
	}
	sampleFloats = []float64{0, -1.5, 123.456, 1e21, 1e-7, math.MaxFloat64, math.SmallestNonzeroFloat64, 2500000.75}
)

var millisType = reflect.TypeFor[schema.Millis]()

// fillValue sets every leaf of v from the row number i and a per-row field counter k, so that
// columns differ from each other and rows cover NULLs, empty maps and arrays and edge values.
func fillValue(v reflect.Value, i int, k *int) {
	*k++
	n := i + *k
	switch {
	case v.Type() == millisType:
		v.SetInt(int64(sampleMillis[n%len(sampleMillis)]))
		return
	case v.Kind() == reflect.Struct && v.NumField() == 2 && v.Type().Field(0).Name == "V" && v.Type().Field(1).Name == "Valid":
		// schema.Opt: every third value is NULL.
		if n%3 != 0 {
			fillValue(v.Field(0), i, k)
			v.Field(1).SetBool(true)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for f := range v.NumField() {
			fillValue(v.Field(f), i, k)
		}
	case reflect.Uint64, reflect.Uint32, reflect.Uint16:
		switch n % 4 {
		case 0:
			v.SetUint(math.MaxUint64 >> (64 - v.Type().Bits()))
		case 1:
			v.SetUint(0)
		default:
			v.SetUint(uint64(n * 7919 % (1 << 15)))
		}
	case reflect.Int64:
		v.SetInt([]int64{math.MinInt64, math.MaxInt64, 0, -42, int64(n) * 1000003}[n%5])
	case reflect.Float64:
		v.SetFloat(sampleFloats[n%len(sampleFloats)])
	case reflect.Bool:
		v.SetBool(n%2 == 0)
	case reflect.String:
		v.SetString(sampleStrings[n%len(sampleStrings)])
	case reflect.Slice:
		switch v.Type().Elem() {
		case reflect.TypeFor[schema.KV]():
			kvs := make([]schema.KV, n%4)
			for j := range kvs {
				kvs[j] = schema.KV{Key: fmt.Sprintf("κλειδί_%d\t%d", j, n), Value: sampleStrings[(n+j)%len(sampleStrings)]}
			}
			v.Set(reflect.ValueOf(kvs))
		case reflect.TypeFor[string]():
			s := make([]string, n%3)
			for j := range s {
				s[j] = sampleStrings[(n+j+1)%len(sampleStrings)]
			}
			v.Set(reflect.ValueOf(s))
		default:
			panic("fillValue: unhandled slice " + v.Type().String())
		}
	default:
		panic("fillValue: unhandled " + v.Type().String())
	}
}

// migratedDatabase returns the shared embedded engine and a fresh database holding every table,
// created by the real migrations.
func migratedDatabase(t *testing.T) (*chdb.Engine, string) {
	t.Helper()
	eng, db := chdbtest.Database(t)
	if _, err := lhsql.Migrate(context.Background(), chdb.NewStore(eng, db), nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return eng, db
}

// describe returns the table's column names and types as the engine reports them.
func describe(t *testing.T, eng *chdb.Engine, db, table string) (names, types []string) {
	t.Helper()
	out, err := eng.Query(context.Background(), fmt.Sprintf("DESCRIBE TABLE %s.%s", db, table), "JSONEachRow")
	if err != nil {
		t.Fatalf("describe %s: %v", table, err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var col struct{ Name, Type string }
		if err := dec.Decode(&col); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("describe %s: %v", table, err)
		}
		names = append(names, col.Name)
		types = append(types, col.Type)
	}
	return names, types
}

// serverContext is what a server would announce in its handshake; a UTC server, like the
// embedded engine here.
var serverContext = &column.ServerContext{Timezone: time.UTC}

// engineColumns converts rec into clickhouse-go columns of the given types, exactly as Insert
// fills a batch's columns.
func engineColumns(tb testing.TB, names, types []string, recs ...arrow.RecordBatch) []column.Interface {
	tb.Helper()
	cols := make([]column.Interface, len(types))
	for i, typ := range types {
		col, err := column.Type(typ).Column(names[i], serverContext)
		if err != nil {
			tb.Fatalf("column %s %s: %v", names[i], typ, err)
		}
		// Each batch is appended in turn, as Store.Insert appends a generation's chunks.
		for _, rec := range recs {
			if err := appendColumn(bareColumn{col}, rec.Column(i), typ); err != nil {
				tb.Fatalf("column %s %s: %v", names[i], typ, err)
			}
		}
		cols[i] = col
	}
	return cols
}

// bareColumn adapts a column.Interface to the appender a batch column is.
type bareColumn struct{ column.Interface }

func (c bareColumn) Append(v any) error {
	_, err := c.Interface.Append(v)
	return err
}

// encodeNative encodes columns as a Native-format block, the bytes a batch's Send puts on the
// wire (minus the protocol's framing).
func encodeNative(tb testing.TB, cols []column.Interface) []byte {
	tb.Helper()
	var buf chproto.Buffer
	if err := (&proto.Block{Columns: cols}).Encode(&buf, 0); err != nil {
		tb.Fatalf("encode block: %v", err)
	}
	return buf.Buf
}

// decodeNative decodes Native-format output of the engine with clickhouse-go's own decoder, as
// the driver decodes a server's result blocks.
func decodeNative(tb testing.TB, data []byte) []*proto.Block {
	tb.Helper()
	reader := chproto.NewReader(bytes.NewReader(data))
	var blocks []*proto.Block
	for {
		b := &proto.Block{ServerContext: serverContext}
		err := b.Decode(reader, 0)
		if errors.Is(err, io.EOF) {
			// Only the read of the next block's column count ends cleanly at EOF; a block
			// cut short fails with io.ErrUnexpectedEOF instead.
			return blocks
		}
		if err != nil {
			tb.Fatalf("decode native block %d: %v", len(blocks), err)
		}
		blocks = append(blocks, b)
	}
}

// blockRows walks decoded blocks the way driver.Rows walks a result: Scan goes through each
// column's ScanRow, as the driver's Rows.Scan does.
type blockRows struct {
	blocks []*proto.Block
	block  int
	row    int
}

func (r *blockRows) Next() bool {
	for r.block < len(r.blocks) {
		if r.row < r.blocks[r.block].Rows() {
			r.row++
			return true
		}
		r.block, r.row = r.block+1, 0
	}
	return false
}

func (r *blockRows) Scan(dest ...any) error {
	for i, d := range dest {
		if err := r.blocks[r.block].Columns[i].ScanRow(d, r.row-1); err != nil {
			return err
		}
	}
	return nil
}

func (r *blockRows) Err() error { return nil }

// resultColumns describes decoded blocks as Query describes a server result.
func resultColumns(blocks []*proto.Block) []resultColumn {
	if len(blocks) == 0 {
		return nil
	}
	var cols []resultColumn
	for i, c := range blocks[0].Columns {
		cols = append(cols, resultColumn{name: blocks[0].ColumnsNames()[i], chType: string(c.Type()), scanType: c.ScanType()})
	}
	return cols
}
