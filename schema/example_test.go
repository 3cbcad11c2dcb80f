package schema_test

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/schema"
)

// Rows become Arrow record batches laid out exactly as the table's columns.
func ExampleAppend() {
	notes := []schema.Note{{
		Meta:     schema.Meta{LeadID: 1402361, CallbackID: "62187ee8e60f638566621da39ae64ee3", ReceivedAt: schema.MillisOf(time.Date(2019, 5, 17, 8, 35, 0, 0, time.UTC))},
		NoteID:   757670,
		NoteType: "text",
		Data:     "revisit done",
	}}
	b := schema.Notes.NewBuilder(memory.NewGoAllocator())
	defer b.Release()
	schema.Append(schema.Notes, b, notes)
	rec := b.NewRecordBatch()
	defer rec.Release()
	fmt.Println(rec.NumRows(), "row,", rec.NumCols(), "columns; first:", rec.ColumnName(0))
	// Output: 1 row, 17 columns; first: lead_id
}

// Values shows a row the way tools print it: absent values are nil.
func ExampleValues() {
	row := schema.Disposition{Meta: schema.Meta{LeadID: 7}, DispositionID: 121, DispositionType: "follow_up"}
	for i, v := range schema.Values(schema.Dispositions, &row) {
		if c := schema.Dispositions.Columns[i]; c.Name == "disposition_type" || c.Name == "created_at" {
			fmt.Printf("%s=%v\n", c.Name, v)
		}
	}
	// Output:
	// disposition_type=follow_up
	// created_at=<nil>
}
