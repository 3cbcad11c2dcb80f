package native_test

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/sink/native"
)

// A batch is encoded a range of rows at a time; each call appends one self-contained block that
// an INSERT ... FORMAT Native reads in turn.
func ExampleAppendBlock() {
	b := array.NewRecordBuilder(memory.NewGoAllocator(), arrow.NewSchema([]arrow.Field{
		{Name: "lead_id", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "source", Type: arrow.BinaryTypes.String},
	}, nil))
	defer b.Release()
	b.Field(0).(*array.Uint64Builder).AppendValues([]uint64{1402361, 1402362, 1402363}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"Facebook", "Google", "Facebook"}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()

	cols := []native.Column{{Name: "lead_id", Type: "UInt64"}, {Name: "source", Type: "LowCardinality(String)"}}
	var data []byte
	for lo := 0; lo < 3; lo += 2 {
		var err error
		if data, err = native.AppendBlock(data, rec, cols, lo, min(lo+2, 3)); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Printf("%d bytes in two blocks; the first declares %d columns of %d rows\n", len(data), data[0], data[1])
	// Output: 111 bytes in two blocks; the first declares 2 columns of 2 rows
}
