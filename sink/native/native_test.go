package native_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/engine/enginetest"
	"github.com/leadhouse/leadhouse/sink/native"
)

var ms = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}

// every is a column of each kind the warehouse uses, with the ClickHouse type it is stored as.
var every = []struct {
	field arrow.Field
	col   native.Column
}{
	{arrow.Field{Name: "u64", Type: arrow.PrimitiveTypes.Uint64}, native.Column{Name: "u64", Type: "UInt64"}},
	{arrow.Field{Name: "u32", Type: arrow.PrimitiveTypes.Uint32}, native.Column{Name: "u32", Type: "UInt32"}},
	{arrow.Field{Name: "u16", Type: arrow.PrimitiveTypes.Uint16}, native.Column{Name: "u16", Type: "UInt16"}},
	{arrow.Field{Name: "i64", Type: arrow.PrimitiveTypes.Int64}, native.Column{Name: "i64", Type: "Int64"}},
	{arrow.Field{Name: "f64", Type: arrow.PrimitiveTypes.Float64}, native.Column{Name: "f64", Type: "Float64"}},
	{arrow.Field{Name: "b", Type: arrow.FixedWidthTypes.Boolean}, native.Column{Name: "b", Type: "Bool"}},
	{arrow.Field{Name: "s", Type: arrow.BinaryTypes.String}, native.Column{Name: "s", Type: "String"}},
	{arrow.Field{Name: "lc", Type: arrow.BinaryTypes.String}, native.Column{Name: "lc", Type: "LowCardinality(String)"}},
	{arrow.Field{Name: "t", Type: ms}, native.Column{Name: "t", Type: "DateTime64(3, 'UTC')"}},
	{arrow.Field{Name: "nu64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true}, native.Column{Name: "nu64", Type: "Nullable(UInt64)"}},
	{arrow.Field{Name: "nf64", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, native.Column{Name: "nf64", Type: "Nullable(Float64)"}},
	{arrow.Field{Name: "nb", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}, native.Column{Name: "nb", Type: "Nullable(Bool)"}},
	{arrow.Field{Name: "nt", Type: ms, Nullable: true}, native.Column{Name: "nt", Type: "Nullable(DateTime64(3, 'UTC'))"}},
	{arrow.Field{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)}, native.Column{Name: "m", Type: "Map(String, String)"}},
	{arrow.Field{Name: "a", Type: arrow.ListOf(arrow.BinaryTypes.String)}, native.Column{Name: "a", Type: "Array(String)"}},
}

// row i of the test batch; every third row has its nullable columns null, maps and arrays vary
// in length from empty up.
func appendRow(b *array.RecordBuilder, i int) {
	null := i%3 == 0
	b.Field(0).(*array.Uint64Builder).Append(uint64(i) << 40)
	b.Field(1).(*array.Uint32Builder).Append(uint32(i) * 7)
	b.Field(2).(*array.Uint16Builder).Append(uint16(i))
	b.Field(3).(*array.Int64Builder).Append(-int64(i) * 1000)
	b.Field(4).(*array.Float64Builder).Append(float64(i) + 0.25)
	b.Field(5).(*array.BooleanBuilder).Append(i%2 == 1)
	b.Field(6).(*array.StringBuilder).Append(strings.Repeat("ж", i%4) + "\t\"quoted\"")
	b.Field(7).(*array.StringBuilder).Append([]string{"hot", "warm", "", "cold"}[i%4])
	b.Field(8).(*array.TimestampBuilder).Append(arrow.Timestamp(1714564800123 + int64(i)))
	appendNullable(b.Field(9).(*array.Uint64Builder), uint64(i), null)
	appendNullable(b.Field(10).(*array.Float64Builder), float64(i)/2, null)
	appendNullable(b.Field(11).(*array.BooleanBuilder), i%2 == 0, null)
	appendNullable(b.Field(12).(*array.TimestampBuilder), arrow.Timestamp(-86400000*int64(i)), null)
	mb := b.Field(13).(*array.MapBuilder)
	mb.Append(true)
	for j := range i % 3 {
		mb.KeyBuilder().(*array.StringBuilder).Append(string(rune('a' + j)))
		mb.ItemBuilder().(*array.StringBuilder).Append(strings.Repeat("v", i))
	}
	lb := b.Field(14).(*array.ListBuilder)
	lb.Append(true)
	for j := range i % 4 {
		lb.ValueBuilder().(*array.StringBuilder).Append(string(rune('x' + j%3)))
	}
}

func appendNullable[T any](b interface {
	Append(T)
	AppendNull()
}, v T, null bool) {
	if null {
		b.AppendNull()
	} else {
		b.Append(v)
	}
}

func testBatch(t *testing.T, rows int) arrow.RecordBatch {
	t.Helper()
	fields := make([]arrow.Field, len(every))
	for i, c := range every {
		fields[i] = c.field
	}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), arrow.NewSchema(fields, nil))
	defer b.Release()
	for i := range rows {
		appendRow(b, i)
	}
	rec := b.NewRecordBatch()
	t.Cleanup(rec.Release)
	return rec
}

func columns() []native.Column {
	cols := make([]native.Column, len(every))
	for i, c := range every {
		cols[i] = c.col
	}
	return cols
}

// The engine stores what the encoder sends: a batch encoded in blocks of every size, inserted and
// read back, equals the same rows inserted as the engine's own text format.
func TestBlocksRoundTripThroughTheEngine(t *testing.T) {
	s := enginetest.Store(t)
	ctx := context.Background()
	var ddl []string
	for _, c := range every {
		ddl = append(ddl, c.col.Name+" "+c.col.Type)
	}
	for _, tbl := range []string{"got", "want"} {
		if err := s.Exec(ctx, "CREATE TABLE "+tbl+" ("+strings.Join(ddl, ", ")+") ENGINE = MergeTree ORDER BY u16"); err != nil {
			t.Fatal(err)
		}
	}
	const rows = 10
	rec := testBatch(t, rows)
	// The expected rows, written as the engine's JSON input, which parses independently of Native.
	var want bytes.Buffer
	for i := range rows {
		want.WriteString(expectedJSON(rec, i))
		want.WriteByte('\n')
	}
	// Over HTTP the data of an INSERT may follow its statement in the request body.
	if err := s.Exec(ctx, "INSERT INTO want FORMAT JSONEachRow\n"+want.String()); err != nil {
		t.Fatal(err)
	}

	// step 0 encodes slices of the batch (arrays whose data starts mid-buffer) whole.
	for _, step := range []int{1, 3, rows, 0} {
		if err := s.Exec(ctx, "TRUNCATE TABLE got"); err != nil {
			t.Fatal(err)
		}
		var data []byte
		for lo := 0; lo < rows && step > 0; lo += step {
			var err error
			if data, err = native.AppendBlock(data, rec, columns(), lo, min(lo+step, rows)); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range [][2]int{{0, 4}, {4, 9}, {9, rows}} {
			if step != 0 {
				break
			}
			part := rec.NewSlice(int64(r[0]), int64(r[1]))
			var err error
			data, err = native.AppendBlock(data, part, columns(), 0, int(part.NumRows()))
			part.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Exec(ctx, "INSERT INTO got FORMAT Native\n"+string(data)); err != nil {
			t.Fatalf("blocks of %d rows: %v", step, err)
		}
		var got, exp bytes.Buffer
		if err := s.Query(ctx, "SELECT * FROM got ORDER BY u16", &got); err != nil {
			t.Fatal(err)
		}
		if err := s.Query(ctx, "SELECT * FROM want ORDER BY u16", &exp); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), exp.Bytes()) {
			t.Errorf("blocks of %d rows: the engine holds\n%s\nwant\n%s", step, got.Bytes(), exp.Bytes())
		}
		if n := bytes.Count(got.Bytes(), []byte("\n")); n != rows {
			t.Errorf("blocks of %d rows: %d rows stored, want %d", step, n, rows)
		}
	}
}

// expectedJSON writes row i of rec as a JSONEachRow object, from the Arrow values.
func expectedJSON(rec arrow.RecordBatch, i int) string {
	var parts []string
	for c := range every {
		arr := rec.Column(c)
		name := every[c].col.Name
		if arr.IsNull(i) {
			parts = append(parts, `"`+name+`":null`)
			continue
		}
		var v string
		switch a := arr.(type) {
		case *array.Timestamp:
			v = `"` + a.Value(i).ToTime(arrow.Millisecond).UTC().Format("2006-01-02 15:04:05.000") + `"`
		case *array.String:
			v = quote(a.Value(i))
		case *array.Map:
			start, end := a.ValueOffsets(i)
			keys, items := a.Keys().(*array.String), a.Items().(*array.String)
			var kv []string
			for j := start; j < end; j++ {
				kv = append(kv, quote(keys.Value(int(j)))+":"+quote(items.Value(int(j))))
			}
			v = "{" + strings.Join(kv, ",") + "}"
		case *array.List:
			start, end := a.ValueOffsets(i)
			vals := a.ListValues().(*array.String)
			var el []string
			for j := start; j < end; j++ {
				el = append(el, quote(vals.Value(int(j))))
			}
			v = "[" + strings.Join(el, ",") + "]"
		default:
			v = a.ValueStr(i)
		}
		parts = append(parts, `"`+name+`":`+v)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// The bytes are the engine's own: a block the engine writes for the same values, with the same
// column types, is byte for byte what the encoder writes.
func TestBlockMatchesTheEnginesOwnOutput(t *testing.T) {
	s := enginetest.Store(t)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "budget", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "at", Type: ms},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "extra", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)},
	}, nil))
	defer b.Release()
	b.Field(0).(*array.Uint64Builder).AppendValues([]uint64{1402361, 7}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"Ravi", ""}, nil)
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{1.5e7, 0}, []bool{true, false})
	b.Field(3).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1714564800123, 0}, nil)
	lb := b.Field(4).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"a", "bc"}, nil)
	lb.Append(true)
	mb := b.Field(5).(*array.MapBuilder)
	mb.Append(true)
	mb.Append(true)
	mb.KeyBuilder().(*array.StringBuilder).Append("utm")
	mb.ItemBuilder().(*array.StringBuilder).Append("x")
	rec := b.NewRecordBatch()
	defer rec.Release()

	got, err := native.AppendBlock(nil, rec, []native.Column{
		{Name: "id", Type: "UInt64"}, {Name: "name", Type: "String"}, {Name: "budget", Type: "Nullable(Float64)"},
		{Name: "at", Type: "DateTime64(3, 'UTC')"}, {Name: "tags", Type: "Array(String)"}, {Name: "extra", Type: "Map(String, String)"},
	}, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	err = s.Query(context.Background(), `SELECT * FROM values(
		'id UInt64, name String, budget Nullable(Float64), at DateTime64(3, \'UTC\'), tags Array(String), extra Map(String, String)',
		(1402361, 'Ravi', 1.5e7, '2024-05-01 12:00:00.123', ['a', 'bc'], map()),
		(7, '', NULL, '1970-01-01 00:00:00.000', [], map('utm', 'x')))
		SETTINGS max_threads = 1, max_block_size = 65536 FORMAT Native`, &want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("encoder wrote\n%s\nthe engine writes\n%s", hex.Dump(got), hex.Dump(want.Bytes()))
	}
}

func TestAppendBlockRefusesWhatItCannotEncode(t *testing.T) {
	rec := testBatch(t, 4)
	tests := []struct {
		name   string
		cols   func([]native.Column) []native.Column
		lo, hi int
		want   string
	}{
		{"too few columns", func(c []native.Column) []native.Column { return c[:3] }, 0, 4, "batch has 15 columns, want 3"},
		{"rows past the end", nil, 2, 5, "rows [2, 5) outside a batch of 4"},
		{"reversed rows", nil, 3, 2, "rows [3, 2) outside"},
		{"string as a number", func(c []native.Column) []native.Column { c[6].Type = "UInt64"; return c }, 0, 4, "column s: cannot send Arrow string as UInt64"},
		{"number of another width", func(c []native.Column) []native.Column { c[0].Type = "UInt32"; return c }, 0, 4, "column u64: cannot send Arrow uint64 as UInt32"},
		{"nulls into a plain column", func(c []native.Column) []native.Column { c[9].Type = "UInt64"; return c }, 0, 4, "column nu64: row 0 is null but the column is UInt64"},
		{"seconds timestamp", func(c []native.Column) []native.Column { c[8].Type = "DateTime"; return c }, 0, 4, "column t: cannot send Arrow timestamp[ms, tz=UTC] as DateTime"},
		{"map of numbers", func(c []native.Column) []native.Column { c[13].Type = "Map(String, UInt64)"; return c }, 0, 4, "column m: map values: cannot send Arrow string as UInt64"},
		{"list as a map", func(c []native.Column) []native.Column { c[14].Type = "Map(String, String)"; return c }, 0, 4, "column a: cannot send Arrow list as Map(String, String)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cols := columns()
			if tt.cols != nil {
				cols = tt.cols(cols)
			}
			_, err := native.AppendBlock(nil, rec, cols, tt.lo, tt.hi)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// An empty range is a valid block of no rows.
func TestEmptyBlock(t *testing.T) {
	rec := testBatch(t, 3)
	got, err := native.AppendBlock([]byte("prefix"), rec, columns(), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, []byte("prefix\x0f\x00")) {
		t.Errorf("block of no rows starts %q, want the prefix, 15 columns and 0 rows", got[:min(len(got), 8)])
	}
}

// A null row's value slot can hold anything (Arrow does not clear it, and reused buffers are not
// zero); the block carries zero there, so the engine never stores stale bytes under a NULL.
func TestNullRowsCarryZero(t *testing.T) {
	vals := memory.NewBufferBytes(arrow.Uint64Traits.CastToBytes([]uint64{5, 0xdeadbeef, 7}))
	valid := memory.NewBufferBytes([]byte{0b101})
	arr := array.NewUint64Data(array.NewData(arrow.PrimitiveTypes.Uint64, 3, []*memory.Buffer{valid, vals}, nil, 1, 0))
	defer arr.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Uint64, Nullable: true}}, nil), []arrow.Array{arr}, 3)
	defer rec.Release()
	got, err := native.AppendBlock(nil, rec, []native.Column{{Name: "x", Type: "Nullable(UInt64)"}}, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{1, 3, 1, 'x', 16}
	want = append(want, "Nullable(UInt64)"...)
	want = append(want, 0, 1, 0) // null map
	want = append(want, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0)
	if !bytes.Equal(got, want) {
		t.Errorf("block\n%s\nwant\n%s", hex.Dump(got), hex.Dump(want))
	}
	if v := arr.Value(1); v != 0xdeadbeef {
		t.Errorf("the batch itself changed: slot 1 holds %#x", v)
	}
}

// However a batch is chunked, WriteBlock writes the same bytes, as one block: the engine's
// deduplication identity of an insert depends on its blocks, and the same rows are chunked
// differently after a restart.
func TestWriteBlockIsTheSameBlockHoweverTheRowsAreChunked(t *testing.T) {
	const rows = 10
	rec := testBatch(t, rows)
	whole, err := native.AppendBlock(nil, rec, columns(), 0, rows)
	if err != nil {
		t.Fatal(err)
	}
	for _, cuts := range [][]int{{10}, {5, 5}, {3, 3, 4}, {1, 8, 1}, {0, 10, 0}} {
		for _, flushAt := range []int{1 << 20, 7, 1} {
			var recs []arrow.RecordBatch
			lo := 0
			for _, n := range cuts {
				part := rec.NewSlice(int64(lo), int64(lo+n))
				defer part.Release()
				recs = append(recs, part)
				lo += n
			}
			var got []byte
			writes := 0
			_, err := native.WriteBlock(nil, recs, columns(), flushAt, func(p []byte) error {
				got = append(got, p...)
				writes++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, whole) {
				t.Errorf("chunks %v, pieces of %d bytes: the block differs from the batch's in one piece", cuts, flushAt)
			}
			if flushAt == 1<<20 && writes != 1 {
				t.Errorf("chunks %v: %d writes for a block under flushAt, want 1", cuts, writes)
			}
			if flushAt == 1 && writes < 10 {
				t.Errorf("chunks %v: %d writes with flushAt 1, want many", cuts, writes)
			}
		}
	}
}

func TestWriteBlockStopsAtTheFirstWriteError(t *testing.T) {
	rec := testBatch(t, 5)
	broken := errors.New("stream closed")
	calls := 0
	_, err := native.WriteBlock(nil, []arrow.RecordBatch{rec}, columns(), 1, func([]byte) error {
		calls++
		return broken
	})
	if !errors.Is(err, broken) || calls != 1 {
		t.Errorf("WriteBlock returned %v after %d writes, want the write's error after 1", err, calls)
	}
	if _, err := native.WriteBlock(nil, []arrow.RecordBatch{rec}, columns(), 1, nil); !errors.Is(err, native.ErrNoWriter) {
		t.Errorf("WriteBlock without a writer returned %v", err)
	}
}

// An array of no rows may come without an offsets buffer (valid Arrow, as IPC readers make it).
func TestEmptyListWithoutOffsets(t *testing.T) {
	child := array.NewData(arrow.BinaryTypes.String, 0, []*memory.Buffer{nil, nil, nil}, nil, 0, 0)
	defer child.Release()
	data := array.NewData(arrow.ListOf(arrow.BinaryTypes.String), 0, []*memory.Buffer{nil, nil}, []arrow.ArrayData{child}, 0, 0)
	defer data.Release()
	list := array.NewListData(data)
	defer list.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "a", Type: list.DataType()}}, nil), []arrow.Array{list}, 0)
	defer rec.Release()
	var got []byte
	_, err := native.WriteBlock(nil, []arrow.RecordBatch{rec, rec}, []native.Column{{Name: "a", Type: "Array(String)"}}, 1<<20, func(p []byte) error {
		got = append(got, p...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{1, 0, 1, 'a', 13}, "Array(String)"...)
	if !bytes.Equal(got, want) {
		t.Errorf("block %q, want %q", got, want)
	}
}

// A column whose values are supplied encodes exactly as if the batches held them, however the
// rows are chunked, and a supplier's error stops the block.
func TestSuppliedValuesEncodeLikeTheBatchsOwn(t *testing.T) {
	const rows, col = 10, 6 // the String column "s"
	rec := testBatch(t, rows)
	whole, err := native.AppendBlock(nil, rec, columns(), 0, rows)
	if err != nil {
		t.Fatal(err)
	}
	// The same rows with the column left empty, its values given by Values.
	fields := rec.Schema().Fields()
	arrays := slices.Clone(rec.Columns())
	empty := array.NewStringBuilder(memory.NewGoAllocator())
	for range rows {
		empty.Append("")
	}
	arrays[col] = empty.NewArray()
	defer arrays[col].Release()
	hollow := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrays, rows)
	defer hollow.Release()
	values := rec.Column(col).(*array.String)

	for _, cuts := range [][]int{{10}, {3, 3, 4}, {0, 9, 1}} {
		var recs []arrow.RecordBatch
		starts := []int{}
		lo := 0
		for _, n := range cuts {
			part := hollow.NewSlice(int64(lo), int64(lo+n))
			defer part.Release()
			recs = append(recs, part)
			starts = append(starts, lo)
			lo += n
		}
		cols := columns()
		cols[col].Values = func(k, row int) ([]byte, error) {
			return []byte(values.Value(starts[k] + row)), nil
		}
		var got []byte
		if _, err := native.WriteBlock(nil, recs, cols, 5, func(p []byte) error {
			got = append(got, p...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, whole) {
			t.Errorf("chunks %v: the block with supplied values differs from the batch's own", cuts)
		}
	}

	cols := columns()
	lost := errors.New("record gone")
	cols[col].Values = func(_, row int) ([]byte, error) {
		if row == 4 {
			return nil, lost
		}
		return []byte("v"), nil
	}
	if _, err := native.AppendBlock(nil, hollow, cols, 0, rows); !errors.Is(err, lost) || !strings.Contains(err.Error(), "row 4") {
		t.Errorf("AppendBlock with a failing supplier returned %v, want its error naming row 4", err)
	}
	cols = columns()
	cols[0].Values = func(int, int) ([]byte, error) { return []byte("v"), nil }
	if _, err := native.AppendBlock(nil, hollow, cols, 0, rows); err == nil {
		t.Error("AppendBlock supplied values for a UInt64 column, want an error")
	}
}

// encodedBatch is rows of dictionary-encoded strings and run-end encoded numbers, strings and
// times, as the pipeline's batches carry them, and the same rows as plain arrays.
func encodedBatch(t *testing.T, rows int) (encoded, plain arrow.RecordBatch) {
	t.Helper()
	mem := memory.NewGoAllocator()
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	runs := func(v arrow.DataType) arrow.DataType { return arrow.RunEndEncodedOf(arrow.PrimitiveTypes.Int32, v) }
	eb := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "lc", Type: dict}, {Name: "id", Type: runs(arrow.PrimitiveTypes.Uint64)},
		{Name: "cb", Type: runs(arrow.BinaryTypes.String)}, {Name: "at", Type: runs(ms)},
		{Name: "v", Type: runs(arrow.PrimitiveTypes.Uint16)}, {Name: "m", Type: arrow.MapOf(dict, arrow.BinaryTypes.String)},
	}, nil))
	defer eb.Release()
	pb := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "lc", Type: arrow.BinaryTypes.String}, {Name: "id", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "cb", Type: arrow.BinaryTypes.String}, {Name: "at", Type: ms},
		{Name: "v", Type: arrow.PrimitiveTypes.Uint16}, {Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)},
	}, nil))
	defer pb.Release()
	for i := 0; i < rows; {
		// runs of 1, 2, 3, 1, 2, 3... rows
		n := min(1+i%3, rows-i)
		id, cb, at := uint64(i)<<33, strings.Repeat("ж", i%5)+"cb", arrow.Timestamp(1714564800123+int64(i))
		eb.Field(1).(*array.RunEndEncodedBuilder).Append(uint64(n))
		eb.Field(1).(*array.RunEndEncodedBuilder).ValueBuilder().(*array.Uint64Builder).Append(id)
		eb.Field(2).(*array.RunEndEncodedBuilder).Append(uint64(n))
		eb.Field(2).(*array.RunEndEncodedBuilder).ValueBuilder().(*array.StringBuilder).Append(cb)
		eb.Field(3).(*array.RunEndEncodedBuilder).Append(uint64(n))
		eb.Field(3).(*array.RunEndEncodedBuilder).ValueBuilder().(*array.TimestampBuilder).Append(at)
		eb.Field(4).(*array.RunEndEncodedBuilder).Append(uint64(n))
		eb.Field(4).(*array.RunEndEncodedBuilder).ValueBuilder().(*array.Uint16Builder).Append(uint16(i))
		for j := range n {
			lc := []string{"hot", "warm", "", "cold", "warm"}[(i+j)%5]
			if err := eb.Field(0).(*array.BinaryDictionaryBuilder).AppendString(lc); err != nil {
				t.Fatal(err)
			}
			pb.Field(0).(*array.StringBuilder).Append(lc)
			pb.Field(1).(*array.Uint64Builder).Append(id)
			pb.Field(2).(*array.StringBuilder).Append(cb)
			pb.Field(3).(*array.TimestampBuilder).Append(at)
			pb.Field(4).(*array.Uint16Builder).Append(uint16(i))
			em, pm := eb.Field(5).(*array.MapBuilder), pb.Field(5).(*array.MapBuilder)
			em.Append(true)
			pm.Append(true)
			for k := range (i + j) % 4 {
				key := []string{"gender", "city", ""}[k%3]
				if err := em.KeyBuilder().(*array.BinaryDictionaryBuilder).AppendString(key); err != nil {
					t.Fatal(err)
				}
				em.ItemBuilder().(*array.StringBuilder).Append(lc)
				pm.KeyBuilder().(*array.StringBuilder).Append(key)
				pm.ItemBuilder().(*array.StringBuilder).Append(lc)
			}
		}
		i += n
	}
	encoded, plain = eb.NewRecordBatch(), pb.NewRecordBatch()
	t.Cleanup(encoded.Release)
	t.Cleanup(plain.Release)
	return encoded, plain
}

// Dictionary and run-end encoded columns are sent as their plain values, byte for byte, whatever
// rows a block takes from them: from the middle of a run, across runs, or from sliced batches.
func TestEncodedColumnsEncodeLikeTheirPlainValues(t *testing.T) {
	const rows = 23
	encoded, plain := encodedBatch(t, rows)
	cols := []native.Column{
		{Name: "lc", Type: "LowCardinality(String)"}, {Name: "id", Type: "UInt64"}, {Name: "cb", Type: "String"},
		{Name: "at", Type: "DateTime64(3, 'UTC')"}, {Name: "v", Type: "UInt16"}, {Name: "m", Type: "Map(String, String)"},
	}
	for _, r := range [][2]int{{0, rows}, {0, 1}, {1, 2}, {2, 9}, {4, 5}, {5, rows}, {7, 7}} {
		want, err := native.AppendBlock(nil, plain, cols, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		got, err := native.AppendBlock(nil, encoded, cols, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("rows [%d, %d): encoded columns give\n%s\nplain ones\n%s", r[0], r[1], hex.Dump(got), hex.Dump(want))
		}
	}
	for _, cuts := range [][]int{{4, 19}, {1, 1, 21}, {11, 0, 12}} {
		var eparts, pparts []arrow.RecordBatch
		lo := 0
		for _, n := range cuts {
			e, p := encoded.NewSlice(int64(lo), int64(lo+n)), plain.NewSlice(int64(lo), int64(lo+n))
			defer e.Release()
			defer p.Release()
			eparts, pparts = append(eparts, e), append(pparts, p)
			lo += n
		}
		var got, want []byte
		if _, err := native.WriteBlock(nil, eparts, cols, 5, func(p []byte) error { got = append(got, p...); return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := native.WriteBlock(nil, pparts, cols, 5, func(p []byte) error { want = append(want, p...); return nil }); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("slices %v: encoded columns give a different block", cuts)
		}
	}
}
