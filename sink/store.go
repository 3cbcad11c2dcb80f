// Package sink batches rows in memory as Arrow records and writes them durably to a store.
package sink

import (
	"context"
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/leadhouse/leadhouse/schema"
)

// Store is a ClickHouse database leadhouse writes to: the embedded engine (sink/chdb) or a
// ClickHouse server (sink/clickhouse). A Store is bound to one database: unqualified table names
// in Exec and Query resolve there.
type Store interface {
	// Insert writes the rows of batch, record batches whose schema is t.ArrowSchema(), into
	// table t as one INSERT. token is the insert_deduplication_token: inserting the same token
	// twice stores the rows once, so a retried or replayed batch never counts twice.
	Insert(ctx context.Context, t *schema.Table, batch []arrow.RecordBatch, token string) error
	// Exec runs one statement that returns no rows (DDL, INSERT ... SELECT).
	Exec(ctx context.Context, query string) error
	// Query runs one statement and writes its result to w as TabSeparated, without a header.
	Query(ctx context.Context, query string, w io.Writer) error
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}
