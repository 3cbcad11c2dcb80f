package chdb_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/sink/chdb"
	"github.com/leadhouse/leadhouse/sink/chdb/chdbtest"
)

// arrowStream encodes the rows fill appends as one Arrow IPC stream.
func arrowStream(tb testing.TB, schema *arrow.Schema, fill func(b *array.RecordBuilder)) []byte {
	tb.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	fill(b)
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var lowCardDict = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

func TestArrowInsertRoundTrip(t *testing.T) {
	eng, db := chdbtest.Database(t)
	ctx := context.Background()
	err := eng.Exec(ctx, `CREATE TABLE `+db+`.leads (
		id UInt64,
		name String,
		source LowCardinality(String),
		status LowCardinality(String),
		budget Nullable(Int64),
		created DateTime64(3, 'UTC'),
		tags Array(String),
		attrs Map(String, String)
	) ENGINE = MergeTree ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "source", Type: arrow.BinaryTypes.String}, // plain string into LowCardinality
		{Name: "status", Type: lowCardDict},              // dictionary into LowCardinality
		{Name: "budget", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "created", Type: arrow.FixedWidthTypes.Timestamp_ms},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "attrs", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)},
	}, nil)
	created := time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	data := arrowStream(t, schema, func(b *array.RecordBuilder) {
		b.Field(0).(*array.Uint64Builder).AppendValues([]uint64{1, 18446744073709551615}, nil)
		b.Field(1).(*array.StringBuilder).AppendValues([]string{"Анна", "tab\there"}, nil)
		b.Field(2).(*array.StringBuilder).AppendValues([]string{"site", "site"}, nil)
		status := b.Field(3).(*array.BinaryDictionaryBuilder)
		_ = status.AppendString("new")
		_ = status.AppendString("won")
		b.Field(4).(*array.Int64Builder).AppendValues([]int64{-5_000_000, 0}, []bool{true, false})
		ts := b.Field(5).(*array.TimestampBuilder)
		ts.Append(arrow.Timestamp(created.UnixMilli()))
		ts.Append(0)
		tags := b.Field(6).(*array.ListBuilder)
		tags.Append(true)
		tags.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
		tags.Append(true) // empty list
		attrs := b.Field(7).(*array.MapBuilder)
		attrs.Append(true)
		attrs.KeyBuilder().(*array.StringBuilder).AppendValues([]string{"utm", "ref"}, nil)
		attrs.ItemBuilder().(*array.StringBuilder).AppendValues([]string{"x", ""}, nil)
		attrs.Append(true)
	})
	n, err := eng.Insert(ctx, "INSERT INTO "+db+".leads", "ArrowStream", data)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("rows written = %d, want 2", n)
	}
	got, err := eng.Query(ctx, "SELECT * FROM "+db+".leads ORDER BY id", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	want := "1\tАнна\tsite\tnew\t-5000000\t2026-03-14 15:09:26.535\t['a','b']\t{'utm':'x','ref':''}\n" +
		"18446744073709551615\ttab\\there\tsite\twon\t\\N\t1970-01-01 00:00:00.000\t[]\t{}\n"
	if string(got) != want {
		t.Errorf("round trip:\ngot  %q\nwant %q", got, want)
	}
}

// TestArrowTypeMapping pins which Arrow types the engine's ArrowStream input
// accepts for which ClickHouse column types, and what it stores. Other
// packages build their Arrow schemas on these facts.
func TestArrowTypeMapping(t *testing.T) {
	eng, db := chdbtest.Database(t)
	ctx := context.Background()
	ms := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	tests := []struct {
		name    string
		arrow   arrow.DataType
		fill    func(b array.Builder)
		column  string
		want    string // TabSeparated output of the column
		wantErr bool
	}{
		{"uint64 to UInt64", arrow.PrimitiveTypes.Uint64,
			func(b array.Builder) { b.(*array.Uint64Builder).Append(42) }, "UInt64", "42", false},
		{"int32 to Int64", arrow.PrimitiveTypes.Int32,
			func(b array.Builder) { b.(*array.Int32Builder).Append(-7) }, "Int64", "-7", false},
		{"int64 to UInt8 wraps silently", arrow.PrimitiveTypes.Int64,
			func(b array.Builder) { b.(*array.Int64Builder).Append(300) }, "UInt8", "44", false},
		{"utf8 to String", arrow.BinaryTypes.String,
			func(b array.Builder) { b.(*array.StringBuilder).Append("héllo") }, "String", "héllo", false},
		{"binary to String", arrow.BinaryTypes.Binary,
			func(b array.Builder) { b.(*array.BinaryBuilder).Append([]byte("raw")) }, "String", "raw", false},
		{"large utf8 to String", arrow.BinaryTypes.LargeString,
			func(b array.Builder) { b.(*array.LargeStringBuilder).Append("big") }, "String", "big", false},
		{"utf8 to LowCardinality(String)", arrow.BinaryTypes.String,
			func(b array.Builder) { b.(*array.StringBuilder).Append("lc") }, "LowCardinality(String)", "lc", false},
		{"dictionary to LowCardinality(String)", lowCardDict,
			func(b array.Builder) { _ = b.(*array.BinaryDictionaryBuilder).AppendString("dict") }, "LowCardinality(String)", "dict", false},
		{"dictionary to String", lowCardDict,
			func(b array.Builder) { _ = b.(*array.BinaryDictionaryBuilder).AppendString("dict") }, "String", "dict", false},
		{"null to Nullable(Int64)", arrow.PrimitiveTypes.Int64,
			func(b array.Builder) { b.AppendNull() }, "Nullable(Int64)", `\N`, false},
		{"null to non-Nullable String stores default", arrow.BinaryTypes.String,
			func(b array.Builder) { b.AppendNull() }, "String", "", false},
		{"timestamp ms UTC to DateTime64(3,'UTC')", arrow.FixedWidthTypes.Timestamp_ms,
			func(b array.Builder) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(ms.UnixMilli())) },
			"DateTime64(3, 'UTC')", "2026-01-02 03:04:05.678", false},
		{"timestamp ms no zone to DateTime64(3,'UTC')", &arrow.TimestampType{Unit: arrow.Millisecond},
			func(b array.Builder) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(ms.UnixMilli())) },
			"DateTime64(3, 'UTC')", "2026-01-02 03:04:05.678", false},
		{"timestamp us UTC to DateTime64(3,'UTC')", arrow.FixedWidthTypes.Timestamp_us,
			func(b array.Builder) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(ms.UnixMicro() + 999)) },
			"DateTime64(3, 'UTC')", "2026-01-02 03:04:05.678", false},
		{"timestamp s UTC to DateTime('UTC')", arrow.FixedWidthTypes.Timestamp_s,
			func(b array.Builder) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(ms.Unix())) },
			"DateTime('UTC')", "2026-01-02 03:04:05", false},
		{"timestamp ms UTC to DateTime('UTC')", arrow.FixedWidthTypes.Timestamp_ms,
			func(b array.Builder) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(ms.UnixMilli())) },
			"DateTime('UTC')", "2026-01-02 03:04:05", false},
		{"utf8 to DateTime64(3,'UTC') is parsed", arrow.BinaryTypes.String,
			func(b array.Builder) { b.(*array.StringBuilder).Append("2026-01-02 03:04:05.678") },
			"DateTime64(3, 'UTC')", "2026-01-02 03:04:05.678", false},
		{"date32 to Date", arrow.FixedWidthTypes.Date32,
			func(b array.Builder) { b.(*array.Date32Builder).Append(arrow.Date32FromTime(ms)) }, "Date", "2026-01-02", false},
		{"bool to Bool", arrow.FixedWidthTypes.Boolean,
			func(b array.Builder) { b.(*array.BooleanBuilder).Append(true) }, "Bool", "true", false},
		{"bool to UInt8", arrow.FixedWidthTypes.Boolean,
			func(b array.Builder) { b.(*array.BooleanBuilder).Append(true) }, "UInt8", "1", false},
		{"float64 to Float64", arrow.PrimitiveTypes.Float64,
			func(b array.Builder) { b.(*array.Float64Builder).Append(0.25) }, "Float64", "0.25", false},
		{"decimal128(18,2) to Decimal(18,2)", &arrow.Decimal128Type{Precision: 18, Scale: 2},
			func(b array.Builder) { b.(*array.Decimal128Builder).Append(decimal128.FromI64(123456)) }, "Decimal(18, 2)", "1234.56", false},
		{"utf8 to UUID", arrow.BinaryTypes.String,
			func(b array.Builder) { b.(*array.StringBuilder).Append("0b9f6a4e-3c4d-4e5f-8a6b-7c8d9e0f1a2b") },
			"UUID", "0b9f6a4e-3c4d-4e5f-8a6b-7c8d9e0f1a2b", false},
		{"utf8 to Enum8", arrow.BinaryTypes.String,
			func(b array.Builder) { b.(*array.StringBuilder).Append("won") }, "Enum8('new' = 1, 'won' = 2)", "won", false},
		{"utf8 outside Enum8 is refused", arrow.BinaryTypes.String,
			func(b array.Builder) { b.(*array.StringBuilder).Append("lost") }, "Enum8('new' = 1, 'won' = 2)", "", true},
		{"list utf8 to Array(String)", arrow.ListOf(arrow.BinaryTypes.String),
			func(b array.Builder) {
				lb := b.(*array.ListBuilder)
				lb.Append(true)
				lb.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"x", "y"}, nil)
			}, "Array(String)", "['x','y']", false},
		{"list utf8 to Array(LowCardinality(String))", arrow.ListOf(arrow.BinaryTypes.String),
			func(b array.Builder) {
				lb := b.(*array.ListBuilder)
				lb.Append(true)
				lb.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"x"}, nil)
			}, "Array(LowCardinality(String))", "['x']", false},
		{"map utf8 utf8 to Map(String,String)", arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String),
			func(b array.Builder) {
				mb := b.(*array.MapBuilder)
				mb.Append(true)
				mb.KeyBuilder().(*array.StringBuilder).AppendValues([]string{"k"}, nil)
				mb.ItemBuilder().(*array.StringBuilder).AppendValues([]string{"v"}, nil)
			}, "Map(String, String)", "{'k':'v'}", false},
		{"map utf8 utf8 to Map(LowCardinality(String),String)", arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String),
			func(b array.Builder) {
				mb := b.(*array.MapBuilder)
				mb.Append(true)
				mb.KeyBuilder().(*array.StringBuilder).AppendValues([]string{"k"}, nil)
				mb.ItemBuilder().(*array.StringBuilder).AppendValues([]string{"v"}, nil)
			}, "Map(LowCardinality(String), String)", "{'k':'v'}", false},
		{"struct to Tuple", arrow.StructOf(arrow.Field{Name: "a", Type: arrow.BinaryTypes.String}, arrow.Field{Name: "b", Type: arrow.PrimitiveTypes.Int64}),
			func(b array.Builder) {
				sb := b.(*array.StructBuilder)
				sb.Append(true)
				sb.FieldBuilder(0).(*array.StringBuilder).Append("s")
				sb.FieldBuilder(1).(*array.Int64Builder).Append(9)
			}, "Tuple(a String, b Int64)", "('s',9)", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := db + ".m" + itoa(i)
			if err := eng.Exec(ctx, "CREATE TABLE "+table+" (c "+tt.column+") ENGINE = Memory"); err != nil {
				t.Fatal(err)
			}
			schema := arrow.NewSchema([]arrow.Field{{Name: "c", Type: tt.arrow, Nullable: true}}, nil)
			data := arrowStream(t, schema, func(b *array.RecordBuilder) { tt.fill(b.Field(0)) })
			_, err := eng.Insert(ctx, "INSERT INTO "+table, "ArrowStream", data)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("insert of %s into %s succeeded, want an error", tt.arrow, tt.column)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := eng.Query(ctx, "SELECT c FROM "+table, "TabSeparated")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want+"\n" {
				t.Errorf("%s into %s: got %q, want %q", tt.arrow, tt.column, got, tt.want+"\n")
			}
		})
	}
}

func TestArrowColumnsMatchByName(t *testing.T) {
	eng, db := chdbtest.Database(t)
	ctx := context.Background()
	err := eng.Exec(ctx, "CREATE TABLE "+db+".t (a String, b UInt32, c String DEFAULT 'dflt') ENGINE = Memory")
	if err != nil {
		t.Fatal(err)
	}
	// Reversed order, no column c, and a column the table lacks.
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "unknown", Type: arrow.BinaryTypes.String},
		{Name: "b", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "a", Type: arrow.BinaryTypes.String},
	}, nil)
	data := arrowStream(t, schema, func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).Append("ignored")
		b.Field(1).(*array.Uint32Builder).Append(7)
		b.Field(2).(*array.StringBuilder).Append("x")
	})
	if _, err := eng.Insert(ctx, "INSERT INTO "+db+".t", "ArrowStream", data); err != nil {
		t.Fatal(err)
	}
	got, err := eng.Query(ctx, "SELECT a, b, c FROM "+db+".t", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	if want := "x\t7\tdflt\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestArrowEmptyStreamIsAnError(t *testing.T) {
	eng, db := chdbtest.Database(t)
	ctx := context.Background()
	if err := eng.Exec(ctx, "CREATE TABLE "+db+".t (a String) ENGINE = Memory"); err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{nil, []byte("not arrow")} {
		_, err := eng.Insert(ctx, "INSERT INTO "+db+".t", "ArrowStream", data)
		var qe *chdb.QueryError
		if !errors.As(err, &qe) || !strings.Contains(qe.Message, "INCORRECT_DATA") {
			t.Errorf("insert of %q: %v, want an INCORRECT_DATA QueryError", data, err)
		}
	}
}
