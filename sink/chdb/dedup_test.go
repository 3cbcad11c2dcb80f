package chdb_test

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/leadhouse/leadhouse/sink/chdb/chdbtest"
)

// A retried batch carries the same insert_deduplication_token, and the
// engine must store it once; this is what makes sink retries safe.
func TestDedupTokenDropsRepeatedBatch(t *testing.T) {
	eng, db := chdbtest.Database(t)
	ctx := context.Background()
	err := eng.Exec(ctx, "CREATE TABLE "+db+".ev (id UInt64, v String) ENGINE = MergeTree ORDER BY id "+
		"SETTINGS non_replicated_deduplication_window = 1000")
	if err != nil {
		t.Fatal(err)
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "v", Type: arrow.BinaryTypes.String},
	}, nil)
	batch := func(first uint64) []byte {
		return arrowStream(t, schema, func(b *array.RecordBuilder) {
			for i := range uint64(100) {
				b.Field(0).(*array.Uint64Builder).Append(first + i)
				b.Field(1).(*array.StringBuilder).Append("v")
			}
		})
	}
	steps := []struct {
		name        string
		token       string
		data        []byte
		wantWritten uint64
		wantCount   string
	}{
		{"first batch", "batch-1", batch(0), 100, "100"},
		// The engine counts the rows it received even when it then drops the
		// block as a duplicate, so rows written cannot reveal a dedup.
		{"same batch same token", "batch-1", batch(0), 100, "100"},
		{"other data same token", "batch-1", batch(1000), 100, "100"},
		{"same data new token", "batch-2", batch(0), 100, "200"},
		// Without a token the block's content hash is the key, so identical
		// batches collapse too.
		{"no token", "", batch(5000), 100, "300"},
		{"no token again", "", batch(5000), 100, "300"},
	}
	for _, s := range steps {
		q := "INSERT INTO " + db + ".ev"
		if s.token != "" {
			q += " SETTINGS insert_deduplication_token = '" + s.token + "'"
		}
		n, err := eng.Insert(ctx, q, "ArrowStream", s.data)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got, err := eng.Query(ctx, "SELECT count() FROM "+db+".ev", "TabSeparated")
		if err != nil {
			t.Fatal(err)
		}
		if n != s.wantWritten || string(got) != s.wantCount+"\n" {
			t.Errorf("%s: rows written %d, count %q; want %d, %s", s.name, n, got, s.wantWritten, s.wantCount)
		}
	}
}
