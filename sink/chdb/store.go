package chdb

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/native"
)

var _ sink.Store = (*Store)(nil)

// Store is a sink.Store over the embedded engine, bound to one database.
//
// The engine has one connection per process and `USE db` sticks to that connection, so a Store
// never relies on a previous USE: every Exec and Query sends "USE `db`; stmt" as one engine call,
// which the engine serializes, and Insert names the table fully qualified. Several Stores on
// different databases can therefore share one engine.
type Store struct {
	engine   *Engine
	database string
	use      string // "USE `db`; "

	mu  sync.Mutex // guards buf
	buf []byte     // Native encoding buffer, reused across inserts
}

// NewStore returns a Store that writes to database on engine. The Store owns the engine handle:
// its Close closes it, so callers that keep using the engine pass a handle of their own from Open.
func NewStore(engine *Engine, database string) *Store {
	return &Store{engine: engine, database: database, use: "USE " + quoteIdent(database) + "; "}
}

// Database returns the database the Store is bound to.
func (s *Store) Database() string { return s.database }

// Engine returns the engine the Store runs on.
func (s *Store) Engine() *Engine { return s.engine }

// Insert writes the rows of batch into t as one INSERT, with ClickHouse's insert deduplication
// keyed by token: a retry with the same token after an ambiguous failure does not store the rows
// twice (for MergeTree tables whose non_replicated_deduplication_window is set).
//
// The rows go to the engine as one block of its Native format, handed over a few megabytes at a
// time: the engine parses Native with less work than Arrow IPC, the encoded batch is never held
// whole, and one block however the batch is chunked keeps the deduplication identity of a
// replayed batch equal to the original's.
func (s *Store) Insert(ctx context.Context, t *schema.Table, batch sink.Batch, token string) error {
	cols := s.nativeColumns(t)
	if d := batch.Deferred; d != nil {
		if d.Column < 0 || d.Column >= len(cols) {
			return fmt.Errorf("insert into %s: deferred column %d of %d", t.Name, d.Column, len(cols))
		}
		cols[d.Column].Values = d.Value
	}
	rows := batch.Rows()
	_, err := s.engine.InsertFunc(ctx, s.insertQuery(t, token), "Native", func(write func([]byte) error) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		var err error
		s.buf, err = native.WriteBlock(s.buf, batch.Chunks, cols, nativeChunkBytes, write)
		// A buffer grown by an unusually large value is not kept for every later insert.
		if cap(s.buf) > 4*nativeChunkBytes {
			s.buf = nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", rows, t.Name, err)
	}
	return nil
}

// nativeChunkBytes is about how much of the encoded block is handed to the engine at a time; it
// only bounds the encoder's buffer.
const nativeChunkBytes = 4 << 20

func (s *Store) nativeColumns(t *schema.Table) []native.Column {
	cols := make([]native.Column, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = native.Column{Name: c.Name, Type: c.Type}
	}
	return cols
}

func (s *Store) insertQuery(t *schema.Table, token string) string {
	q := "INSERT INTO " + quoteIdent(s.database) + "." + quoteIdent(t.Name) + " (" + t.ColumnNames() + ")"
	if token != "" {
		q += " SETTINGS insert_deduplication_token=" + quoteString(token)
	}
	return q
}

// Exec runs query in the Store's database.
func (s *Store) Exec(ctx context.Context, query string) error {
	if err := s.engine.Exec(ctx, s.use+query); err != nil {
		return fmt.Errorf("exec in %s: %w", s.database, err)
	}
	return nil
}

// Query runs query in the Store's database and writes its TabSeparated result to w.
func (s *Store) Query(ctx context.Context, query string, w io.Writer) error {
	out, err := s.engine.Query(ctx, s.use+query, "TabSeparated")
	if err != nil {
		return fmt.Errorf("query in %s: %w", s.database, err)
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("query in %s: write result: %w", s.database, err)
	}
	return nil
}

// Ping runs SELECT 1.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.engine.Query(ctx, "SELECT 1", "TabSeparated"); err != nil {
		return fmt.Errorf("ping chdb: %w", err)
	}
	return nil
}

// Close releases the Store's engine handle.
func (s *Store) Close() error { return s.engine.Close() }

// EncodeArrowStream returns rec as an Arrow IPC stream, the engine's ArrowStream input format.
// Run-end encoded columns, which the engine's Arrow reader does not take, are decoded first;
// dictionaries it reads as they are.
func EncodeArrowStream(rec arrow.RecordBatch) ([]byte, error) {
	rec, err := decodeRuns(rec)
	if err != nil {
		return nil, fmt.Errorf("encode arrow stream: %w", err)
	}
	defer rec.Release()
	// Sized up front: growing a buffer of tens of megabytes by doubling costs more than the
	// encoding itself.
	buf := bytes.NewBuffer(make([]byte, 0, encodedSize(rec)))
	w := ipc.NewWriter(buf, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		w.Close()
		return nil, fmt.Errorf("encode arrow stream: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode arrow stream: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeRuns returns rec with its run-end encoded columns decoded, retained when it has none.
func decodeRuns(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	var fields []arrow.Field
	var cols []arrow.Array
	for i, col := range rec.Columns() {
		if _, ok := col.(*array.RunEndEncoded); !ok {
			continue
		}
		if cols == nil {
			fields, cols = slices.Clone(rec.Schema().Fields()), slices.Clone(rec.Columns())
			defer func() {
				for j, c := range cols {
					if c != rec.Column(j) {
						c.Release()
					}
				}
			}()
		}
		plain, err := schema.Decode(col, memory.DefaultAllocator)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", rec.ColumnName(i), err)
		}
		cols[i], fields[i].Type = plain, plain.DataType()
	}
	if cols == nil {
		rec.Retain()
		return rec, nil
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows()), nil
}

// encodedSize estimates rec's IPC stream size: its buffers, each padded to 8 bytes, plus room
// for the schema and batch metadata.
func encodedSize(rec arrow.RecordBatch) int {
	n := 16 << 10
	var walk func(d arrow.ArrayData)
	walk = func(d arrow.ArrayData) {
		for _, b := range d.Buffers() {
			if b != nil {
				n += b.Len() + 8
			}
		}
		for _, c := range d.Children() {
			walk(c)
		}
	}
	for _, c := range rec.Columns() {
		walk(c.Data())
	}
	return n
}

// quoteIdent quotes a ClickHouse identifier with backticks.
func quoteIdent(s string) string {
	return "`" + escape(s, '`') + "`"
}

// quoteString quotes a ClickHouse string literal.
func quoteString(s string) string {
	return "'" + escape(s, '\'') + "'"
}

func escape(s string, quote byte) string {
	if !strings.ContainsAny(s, "\\"+string(quote)) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] == quote {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
