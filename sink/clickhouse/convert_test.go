package clickhouse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/chdb"
)

func TestTableCasesCoverEverySchemaTable(t *testing.T) {
	have := map[string]bool{}
	for _, c := range tableCases() {
		have[c.table.Name] = true
	}
	for _, tbl := range schema.Tables() {
		if !have[tbl.Name] {
			t.Errorf("table %s has no case in tableCases", tbl.Name)
		}
	}
}

// TestConversionRoundTripsThroughDriverColumns proves that every column of every table, with the
// type the engine reports for it after the real migrations, converts from Arrow into
// clickhouse-go's own column of that type, reads back out of it equal to the input, encodes, and
// that the engine decodes the encoded block into the same rows as the Arrow batch itself.
func TestConversionRoundTripsThroughDriverColumns(t *testing.T) {
	eng, db := migratedDatabase(t)
	ctx := context.Background()
	const rows = 60
	for _, tc := range tableCases() {
		t.Run(tc.table.Name, func(t *testing.T) {
			rec, want := tc.build(rows)
			defer rec.Release()
			names, types := describe(t, eng, db, tc.table.Name)
			if !slices.Equal(names, columnNames(tc.table)) {
				t.Fatalf("engine columns %v, schema %v", names, columnNames(tc.table))
			}
			// Appended as two chunks, the second a slice that starts mid-batch, so that
			// conversion honours array offsets and appends accumulate.
			first, second := rec.NewSlice(0, 23), rec.NewSlice(23, rows)
			defer first.Release()
			defer second.Release()
			cols := engineColumns(t, names, types, first, second)
			// Encoding first: a LowCardinality column only builds the keys Row reads when it
			// encodes.
			block := encodeNative(t, cols)

			for c, col := range cols {
				if col.Rows() != rows {
					t.Fatalf("column %s: %d rows, want %d", names[c], col.Rows(), rows)
				}
				for r := range rows {
					got := plain(col.Row(r, false))
					if exp := plain(want[r][c]); !reflect.DeepEqual(got, exp) {
						t.Fatalf("column %s %s row %d: got %#v, want %#v", names[c], types[c], r, got, exp)
					}
				}
				if strings.HasPrefix(types[c], "Map(") {
					checkMapOrder(t, col, rec.Column(c).(*array.Map))
				}
			}

			// The engine decodes the driver's encoding into exactly what it makes of the
			// Arrow batch itself (the embedded store's path). Both go into empty copies of the
			// migrated table, since schema_migrations already has rows, and optimize_on_insert
			// = 0 keeps ReplacingMergeTree from collapsing generated rows sharing a sorting key.
			native, twin := tc.table.Name+"_native", tc.table.Name+"_arrow"
			for _, copyName := range []string{native, twin} {
				if err := eng.Exec(ctx, fmt.Sprintf("CREATE TABLE %s.%s AS %s.%s", db, copyName, db, tc.table.Name)); err != nil {
					t.Fatal(err)
				}
			}
			const settings = " SETTINGS optimize_on_insert = 0"
			if n, err := eng.Insert(ctx, fmt.Sprintf("INSERT INTO %s.%s", db, native)+settings, "Native", block); err != nil || n != rows {
				t.Fatalf("insert native: %d rows, %v", n, err)
			}
			stream, err := chdb.EncodeArrowStream(rec)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := eng.Insert(ctx, fmt.Sprintf("INSERT INTO %s.%s", db, twin)+settings, "ArrowStream", stream); err != nil {
				t.Fatalf("insert arrow: %v", err)
			}
			viaDriver := engineTSV(t, eng, fmt.Sprintf("SELECT * FROM %s.%s", db, native))
			viaArrow := engineTSV(t, eng, fmt.Sprintf("SELECT * FROM %s.%s", db, twin))
			if len(viaDriver) != rows {
				t.Fatalf("engine holds %d rows, want %d", len(viaDriver), rows)
			}
			if !slices.Equal(viaDriver, viaArrow) {
				t.Fatalf("engine rows differ between Native and ArrowStream inserts:\n%s", diffLines(viaDriver, viaArrow))
			}

			// Reading the table back the way Query does gives the engine's own text.
			if got := queryTSV(t, eng, fmt.Sprintf("SELECT * FROM %s.%s", db, native)); !slices.Equal(got, viaDriver) {
				t.Fatalf("Query's text differs from the engine's:\n%s", diffLines(got, viaDriver))
			}
		})
	}
}

func columnNames(t *schema.Table) []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// plain normalises a value read from a driver column or given by schema.Values: pointers are
// followed (a Nullable column hands out *T), and times become UTC milliseconds, failing loudly
// when a column hands out a time in another zone than the UTC its type names.
func plain(v any) any {
	v, isNull := deref(v)
	if isNull {
		return nil
	}
	if tm, ok := v.(time.Time); ok {
		if tm.Location().String() != "UTC" {
			return fmt.Sprintf("time in %s", tm.Location())
		}
		return tm.UnixMilli()
	}
	return v
}

// checkMapOrder checks a Map column keeps each row's entries in the order Arrow held them.
func checkMapOrder(t *testing.T, col column.Interface, arr *array.Map) {
	t.Helper()
	plain, err := schema.Decode(arr, memory.NewGoAllocator())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Release()
	keys := plain.(*array.Map).Keys().(*array.String)
	for r := range col.Rows() {
		var m orderedMap[any, any]
		if err := col.ScanRow(&m, r); err != nil {
			t.Fatalf("scan map row %d: %v", r, err)
		}
		start, end := arr.ValueOffsets(r)
		var want []any
		for j := start; j < end; j++ {
			want = append(want, keys.Value(int(j)))
		}
		if len(want) != len(m.keys) || (len(want) > 0 && !reflect.DeepEqual(m.keys, want)) {
			t.Fatalf("map row %d keys %q, want %q", r, m.keys, want)
		}
	}
}

// engineTSV returns the engine's TabSeparated lines for query, sorted.
func engineTSV(t *testing.T, eng *chdb.Engine, query string) []string {
	t.Helper()
	out, err := eng.Query(context.Background(), query, "TabSeparated")
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return sortedLines(out)
}

// queryTSV runs query on the engine in Native format and writes the result through Query's text
// writer, returning its lines sorted.
func queryTSV(t *testing.T, eng *chdb.Engine, query string) []string {
	t.Helper()
	out, err := eng.Query(context.Background(), query, "Native")
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	blocks := decodeNative(t, out)
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := writeTSV(w, resultColumns(blocks), &blockRows{blocks: blocks}); err != nil {
		t.Fatalf("write tsv: %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return sortedLines(buf.Bytes())
}

func sortedLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return lines
}

func diffLines(got, want []string) string {
	var b strings.Builder
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			fmt.Fprintf(&b, "line %d:\n got  %q\n want %q\n", i, g, w)
		}
	}
	return b.String()
}

func TestConversionRejectsMismatches(t *testing.T) {
	mem := memory.NewGoAllocator()
	uints := func(valid ...bool) arrow.Array {
		b := array.NewUint64Builder(mem)
		defer b.Release()
		for i, v := range valid {
			b.AppendValues([]uint64{uint64(i)}, []bool{v})
		}
		return b.NewArray()
	}
	times := func(ms ...int64) arrow.Array {
		b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"})
		defer b.Release()
		for _, m := range ms {
			b.Append(arrow.Timestamp(m))
		}
		return b.NewArray()
	}
	cases := []struct {
		name   string
		arr    arrow.Array
		chType string
		want   string
		is     error
	}{
		{"arrow type differs", uints(true), "UInt32", "cannot write arrow uint64 to ClickHouse UInt32", nil},
		{"null in plain column", uints(true, false), "UInt64", "1 NULL values for non-Nullable ClickHouse UInt64", nil},
		{"unknown type", uints(true), "Decimal(9, 2)", "no conversion", nil},
		{"after 2262", times(0, 9223372036855), "DateTime64(3, 'UTC')", "row 1: 2262-04-11T23:47:16.855Z", ErrTimeOutOfRange},
		{"before 1677", times(-9223372036855), "Nullable(DateTime64(3, 'UTC'))", "row 0", ErrTimeOutOfRange},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer c.arr.Release()
			_, err := columnValues(c.arr, c.chType)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("error %v is not %v", err, c.is)
			}
		})
	}
}

// TestConversionOfEmptyBatch checks a zero-row record converts for every column type.
func TestConversionOfEmptyBatch(t *testing.T) {
	for _, tc := range tableCases() {
		rec, _ := tc.build(0)
		for i, c := range tc.table.Columns {
			col, err := column.Type(c.Type).Column(c.Name, serverContext)
			if err != nil {
				t.Fatalf("%s.%s: %v", tc.table.Name, c.Name, err)
			}
			if err := appendColumn(bareColumn{col}, rec.Column(i), c.Type); err != nil || col.Rows() != 0 {
				t.Fatalf("%s.%s: %d rows, %v", tc.table.Name, c.Name, col.Rows(), err)
			}
		}
		rec.Release()
	}
}

// BenchmarkConvertLeadUpdates measures the client-side work of one Insert of a 20k-row
// lead_updates batch: converting the Arrow columns (convert), that plus filling clickhouse-go's
// columns as batch.Column(i).Append does (append), and that plus encoding the Native block
// Send puts on the wire before compression (encode).
func BenchmarkConvertLeadUpdates(b *testing.B) {
	const rows = 20000
	rec, _ := buildTable[schema.LeadUpdate](schema.LeadUpdates)(rows)
	defer rec.Release()
	t := schema.LeadUpdates
	names, types := columnNames(t), make([]string, len(t.Columns))
	for i, c := range t.Columns {
		types[i] = c.Type
	}
	run := func(name string, f func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f(b)
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	run("convert", func(b *testing.B) {
		for i, typ := range types {
			if _, err := columnValues(rec.Column(i), typ); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("append", func(b *testing.B) { engineColumns(b, names, types, rec) })
	run("encode", func(b *testing.B) { encodeNative(b, engineColumns(b, names, types, rec)) })
}

// A deferred column's values are read through the batch and appended in place of the chunk's
// column, chunk by chunk; a failing read fails the append.
func TestDeferredValuesAreAppended(t *testing.T) {
	raw, ok := schema.LeadUpdates.ColumnIndex("raw")
	if !ok {
		t.Fatal("lead_updates has no raw column")
	}
	recA, _ := buildTable[schema.LeadUpdate](schema.LeadUpdates)(3)
	defer recA.Release()
	recB, _ := buildTable[schema.LeadUpdate](schema.LeadUpdates)(2)
	defer recB.Release()
	body := func(k, row int) string { return fmt.Sprintf(`{"chunk":%d,"row":%d}`, k, row) }
	b := sink.Batch{Chunks: []arrow.RecordBatch{recA, recB}, Deferred: &sink.Deferred{Column: raw,
		Value: func(k, row int) ([]byte, error) { return []byte(body(k, row)), nil }}}
	col, err := column.Type("String").Column("raw", serverContext)
	if err != nil {
		t.Fatal(err)
	}
	for k := range b.Chunks {
		if err := appendBatchColumn(bareColumn{col}, b, k, raw, "String"); err != nil {
			t.Fatal(err)
		}
	}
	var got, want []string
	for i := range col.Rows() {
		got = append(got, col.Row(i, false).(string))
	}
	for k, rec := range b.Chunks {
		for row := range int(rec.NumRows()) {
			want = append(want, body(k, row))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("appended %q, want %q", got, want)
	}

	lost := errors.New("segment gone")
	b.Deferred.Value = func(int, int) ([]byte, error) { return nil, lost }
	if err := appendBatchColumn(bareColumn{col}, b, 0, raw, "String"); !errors.Is(err, lost) {
		t.Errorf("append with a failing read returned %v", err)
	}
	if err := appendBatchColumn(bareColumn{col}, b, 0, raw, "Nullable(String)"); err == nil {
		t.Error("deferred strings appended to a Nullable(String) column")
	}
}

// Run-end encoded columns convert row for row also when a batch is a slice that starts or ends
// inside a run, and dictionaries whatever their rows.
func TestConversionOfRunsSlicedMidRun(t *testing.T) {
	b := schema.Transitions.NewBuilder(memory.NewGoAllocator())
	defer b.Release()
	var all []schema.StatusTransition
	for c := range 5 {
		rows := make([]schema.StatusTransition, 4) // one callback: a run of 4 in each Meta column
		for j := range rows {
			rows[j] = schema.StatusTransition{
				Meta:           schema.Meta{LeadID: uint64(c), CallbackID: string(rune('a' + c)), ReceivedAt: schema.Millis(c), MappingVersion: 1},
				Status:         []string{"x", "y"}[j%2],
				StatusBeforeCC: "s" + string(rune('a'+c)),
			}
		}
		schema.Append(schema.Transitions, b, rows)
		all = append(all, rows...)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	for _, r := range [][2]int64{{1, 6}, {3, 17}, {5, 5}, {0, 20}} {
		part := rec.NewSlice(r[0], r[1])
		for c, col := range schema.Transitions.Columns {
			got, err := columnValues(part.Column(c), col.Type)
			if err != nil {
				t.Fatal(err)
			}
			v := reflect.ValueOf(got)
			if v.Len() != int(r[1]-r[0]) {
				t.Fatalf("rows [%d, %d) %s: %d values", r[0], r[1], col.Name, v.Len())
			}
			for i := range v.Len() {
				want := schema.Values(schema.Transitions, &all[int(r[0])+i])[c]
				g := v.Index(i).Interface()
				if e := reflect.ValueOf(g); e.Kind() == reflect.Interface {
					g = e.Elem().Interface()
				}
				if !reflect.DeepEqual(plain(g), plain(want)) {
					t.Errorf("rows [%d, %d) %s row %d: %#v, want %#v", r[0], r[1], col.Name, i, g, want)
				}
			}
		}
		part.Release()
	}
}
