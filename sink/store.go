// Package sink batches rows in memory as Arrow records and writes them durably to a store.
package sink

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/leadhouse/leadhouse/schema"
)

// Store is a ClickHouse database leadhouse writes to: sink/clickhouse, over the HTTP interface of
// the engine process leadhouse supervises or of any ClickHouse server. A Store is bound to one
// database: unqualified table names in Exec and Query resolve there.
type Store interface {
	// Insert writes the rows of batch into table t as one INSERT. token is the
	// insert_deduplication_token: inserting the same token twice stores the rows once, so a
	// retried or replayed batch never counts twice. An error matching ErrRejected means the
	// store refused the rows and would refuse them again.
	Insert(ctx context.Context, t *schema.Table, batch Batch, token string) error
	// Exec runs one statement that returns no rows (DDL, INSERT ... SELECT).
	Exec(ctx context.Context, query string) error
	// Query runs one statement and writes its result to w as TabSeparated, without a header.
	Query(ctx context.Context, query string, w io.Writer) error
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// ErrRejected is what a Store's Insert error matches when the store refused the rows themselves
// (a value it cannot convert to the table's type, a constraint they violate): sending the same
// rows again fails the same way. The pipeline then looks for the callbacks at fault and keeps
// them as dead letters. Any other error (the store unreachable, overloaded, a table missing) is
// retried with the same rows until it passes.
var ErrRejected = errors.New("the store rejected the rows")

// Batch is the rows of one table that a Store writes as one INSERT.
type Batch struct {
	// Chunks are record batches whose schema is the table's ArrowSchema, in order.
	Chunks []arrow.RecordBatch
	// Deferred, when not nil, supplies the values of one String column in place of the chunks'.
	Deferred *Deferred
}

// Deferred supplies the values of one String column of a Batch: values kept out of the batch's
// memory until they are written. The pipeline defers the raw callback bodies, which its
// write-ahead log already holds, and reads them back as the insert encodes them.
type Deferred struct {
	// Column is the column's index in the table.
	Column int
	// Value returns the value of row `row` of chunk `chunk`, valid until the next call. Calls
	// come in no particular order, never concurrently.
	Value func(chunk, row int) ([]byte, error)
}

// Rows is the number of rows in b.
func (b Batch) Rows() int {
	n := 0
	for _, c := range b.Chunks {
		n += int(c.NumRows())
	}
	return n
}

// Strings returns the values of plain String column col in chunk k (not a dictionary or runs:
// see schema.Decode), the deferred ones read through Value and copied, the others aliasing the
// chunk's memory, for stores that take a column's values whole.
func (b Batch) Strings(k, col int) ([]string, error) {
	rows := int(b.Chunks[k].NumRows())
	vals := make([]string, rows)
	if b.Deferred != nil && b.Deferred.Column == col {
		for i := range rows {
			v, err := b.Deferred.Value(k, i)
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", i, err)
			}
			vals[i] = string(v)
		}
		return vals, nil
	}
	a, ok := b.Chunks[k].Column(col).(*array.String)
	if !ok {
		return nil, fmt.Errorf("column %d is Arrow %s, not a string", col, b.Chunks[k].Column(col).DataType())
	}
	for i := range rows {
		vals[i] = a.Value(i)
	}
	return vals, nil
}
