package chdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/leadhouse/leadhouse/sink/chdb"
	"github.com/leadhouse/leadhouse/sink/chdb/chdbtest"
)

// benchBatch is a lead-like Arrow IPC stream of rows rows.
func benchBatch(b *testing.B, rows int) []byte {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "source", Type: arrow.BinaryTypes.String},
		{Name: "budget", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "created", Type: arrow.FixedWidthTypes.Timestamp_ms},
		{Name: "comment", Type: arrow.BinaryTypes.String},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "attrs", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)},
	}, nil)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	sources := []string{"site", "avito", "cian", "call", "partner"}
	return arrowStream(b, schema, func(r *array.RecordBuilder) {
		for i := range rows {
			r.Field(0).(*array.Uint64Builder).Append(uint64(i))
			r.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("Client %06d Petrov", i))
			r.Field(2).(*array.StringBuilder).Append(sources[i%len(sources)])
			r.Field(3).(*array.Int64Builder).AppendValues([]int64{int64(i) * 1000}, []bool{i%3 != 0})
			r.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(start + int64(i)*1000))
			r.Field(5).(*array.StringBuilder).Append(fmt.Sprintf("wants a two-room flat near metro, callback after %d:00", i%24))
			tags := r.Field(6).(*array.ListBuilder)
			tags.Append(true)
			tags.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"hot", sources[(i+1)%len(sources)]}, nil)
			attrs := r.Field(7).(*array.MapBuilder)
			attrs.Append(true)
			attrs.KeyBuilder().(*array.StringBuilder).AppendValues([]string{"utm_source", "utm_campaign"}, nil)
			attrs.ItemBuilder().(*array.StringBuilder).AppendValues([]string{"yandex", fmt.Sprintf("spring-%d", i%7)}, nil)
		}
	})
}

// BenchmarkInsertArrow compares the two ways to hand the engine a batch:
// the streaming INSERT API and one query with the data after FORMAT.
func BenchmarkInsertArrow(b *testing.B) {
	eng, db := chdbtest.Database(b)
	ctx := context.Background()
	err := eng.Exec(ctx, `CREATE TABLE `+db+`.leads (
		id UInt64, name String, source LowCardinality(String), budget Nullable(Int64),
		created DateTime64(3, 'UTC'), comment String, tags Array(String), attrs Map(String, String)
	) ENGINE = MergeTree ORDER BY id`)
	if err != nil {
		b.Fatal(err)
	}
	methods := []struct {
		name   string
		insert func(context.Context, *chdb.Engine, string, string, []byte) (uint64, error)
	}{
		{"stream", chdb.InsertStream},
		{"inline", chdb.InsertInline},
	}
	for _, rows := range []int{100, 1000, 20_000} {
		data := benchBatch(b, rows)
		for _, m := range methods {
			b.Run(fmt.Sprintf("%s/rows=%d", m.name, rows), func(b *testing.B) {
				if m.name == "inline" && rows > 100 {
					b.Skip("inline Arrow beyond ~20 KB fails with CANNOT_READ_ALL_DATA")
				}
				if err := eng.Exec(ctx, "TRUNCATE TABLE "+db+".leads"); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(data)))
				cpu0 := chdbtest.CPUTime()
				for b.Loop() {
					n, err := m.insert(ctx, eng, "INSERT INTO "+db+".leads", "ArrowStream", data)
					if err != nil {
						b.Fatal(err)
					}
					if n != uint64(rows) {
						b.Fatalf("rows written %d, want %d", n, rows)
					}
				}
				b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
				// CPU time of the whole process (engine threads included) per
				// insert; less sensitive than wall time to a busy machine.
				b.ReportMetric(float64((chdbtest.CPUTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			})
		}
	}
}
