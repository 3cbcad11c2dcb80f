// Package clickhouse is the sink.Store that writes to a ClickHouse server over the native protocol.
package clickhouse

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
)

// Options configure Open. The zero value, with Addr set, connects to a local server as the
// default user.
type Options struct {
	// Addr lists the servers as host:port of their native-protocol port. Required; connections
	// go to the first that answers.
	Addr []string
	// Database is the database the Store writes to and resolves unqualified table names in.
	// Open creates it when missing. Default "leadhouse".
	Database string
	// Username defaults to "default"; Password to none.
	Username string
	Password string
	// TLS connects with TLS (the server's secure native port, usually 9440).
	TLS bool
	// InsecureSkipVerify accepts any server certificate. Only for tests against a server with
	// a self-signed certificate.
	InsecureSkipVerify bool
	// DialTimeout bounds connecting to one server. Default 10s.
	DialTimeout time.Duration
	// ReadTimeout bounds waiting for the server while it runs a statement; a context deadline
	// overrides it. Default 5m, so long INSERT ... SELECT migrations finish.
	ReadTimeout time.Duration
	// Compression is the native protocol's block compression: "lz4" (default), "zstd" or
	// "none". Inserted blocks are mostly text and shrink several times with LZ4 for little CPU.
	Compression string
	// MaxOpenConns caps connections to the server. Default 8.
	MaxOpenConns int
	// MaxIdleConns is how many idle connections are kept. Default 4.
	MaxIdleConns int
	// ConnMaxLifetime retires connections after this long. Default 1h.
	ConnMaxLifetime time.Duration
	// Logger receives the driver's debug logs. Default none.
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if len(o.Addr) == 0 {
		return errors.New("no server address")
	}
	if o.Database == "" {
		o.Database = "leadhouse"
	}
	if o.Username == "" {
		o.Username = "default"
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 5 * time.Minute
	}
	if o.Compression == "" {
		o.Compression = "lz4"
	}
	if o.MaxOpenConns == 0 {
		o.MaxOpenConns = 8
	}
	if o.MaxIdleConns == 0 {
		o.MaxIdleConns = 4
	}
	if o.ConnMaxLifetime == 0 {
		o.ConnMaxLifetime = time.Hour
	}
	return nil
}

// driverOptions translates o for clickhouse-go, connecting to database ("" for the user's
// default database).
func (o *Options) driverOptions(database string) (*clickhouse.Options, error) {
	opts := &clickhouse.Options{
		Protocol:        clickhouse.Native,
		Addr:            o.Addr,
		Auth:            clickhouse.Auth{Database: database, Username: o.Username, Password: o.Password},
		DialTimeout:     o.DialTimeout,
		ReadTimeout:     o.ReadTimeout,
		MaxOpenConns:    o.MaxOpenConns,
		MaxIdleConns:    o.MaxIdleConns,
		ConnMaxLifetime: o.ConnMaxLifetime,
		Logger:          o.Logger,
		ClientInfo: clickhouse.ClientInfo{Products: []struct {
			Name    string
			Version string
		}{{Name: "leadhouse"}}},
	}
	if o.TLS {
		opts.TLS = &tls.Config{InsecureSkipVerify: o.InsecureSkipVerify}
	}
	switch strings.ToLower(o.Compression) {
	case "lz4":
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	case "zstd":
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionZSTD}
	case "none":
	default:
		return nil, fmt.Errorf("unknown compression %q (want lz4, zstd or none)", o.Compression)
	}
	return opts, nil
}

// Store is a sink.Store over a ClickHouse server, bound to one database. It is safe for
// concurrent use: each call takes a connection from the driver's pool.
type Store struct {
	conn     driver.Conn
	database string
}

var _ sink.Store = (*Store)(nil)

// Open connects to the server, creates opts.Database if it does not exist and returns a Store
// bound to it.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("open clickhouse: %w", err)
	}
	// The database may not exist yet, and a connection bound to a missing database fails its
	// handshake, so it is created over a connection to the user's default database first.
	if err := createDatabase(ctx, &opts); err != nil {
		return nil, err
	}
	conn, err := connect(ctx, &opts, opts.Database)
	if err != nil {
		return nil, err
	}
	return &Store{conn: conn, database: opts.Database}, nil
}

func createDatabase(ctx context.Context, opts *Options) error {
	conn, err := connect(ctx, opts, "")
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(opts.Database)); err != nil {
		return fmt.Errorf("create database %s: %w", opts.Database, err)
	}
	return nil
}

func connect(ctx context.Context, opts *Options, database string) (driver.Conn, error) {
	dopts, err := opts.driverOptions(database)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse: %w", err)
	}
	conn, err := clickhouse.Open(dopts)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s: %w", strings.Join(opts.Addr, ","), err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to clickhouse %s: %w", strings.Join(opts.Addr, ","), err)
	}
	return conn, nil
}

// Database returns the database the Store is bound to.
func (s *Store) Database() string { return s.database }

// Insert writes the rows of batch into t as one native-protocol INSERT with
// insert_deduplication_token set to token, so a retried batch is stored once (for MergeTree
// tables with a deduplication window). Columns are converted to the types the server reports for
// the table, so a column the server holds with another type than schema says fails here rather
// than being silently cast.
func (s *Store) Insert(ctx context.Context, t *schema.Table, batch sink.Batch, token string) error {
	rows := int64(0)
	for _, rec := range batch.Chunks {
		if err := checkRecord(t, rec); err != nil {
			return fmt.Errorf("insert into %s: %w", t.Name, err)
		}
		rows += rec.NumRows()
	}
	if rows == 0 {
		return nil
	}
	if token != "" {
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"insert_deduplication_token": token}))
	}
	b, err := s.conn.PrepareBatch(ctx, insertQuery(t))
	if err != nil {
		return fmt.Errorf("insert into %s: prepare: %w", t.Name, err)
	}
	for k := range batch.Chunks {
		if err := appendRecord(b, t, batch, k); err != nil {
			// Abort drops the connection mid-INSERT, so the server stores none of the rows.
			_ = b.Abort()
			return fmt.Errorf("insert into %s: %w", t.Name, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", rows, t.Name, err)
	}
	return nil
}

// checkRecord verifies rec has t's columns in t's order.
func checkRecord(t *schema.Table, rec arrow.RecordBatch) error {
	if int(rec.NumCols()) != len(t.Columns) {
		return fmt.Errorf("record has %d columns, table %d", rec.NumCols(), len(t.Columns))
	}
	for i, f := range rec.Schema().Fields() {
		if f.Name != t.Columns[i].Name {
			return fmt.Errorf("record column %d is %s, table has %s", i, f.Name, t.Columns[i].Name)
		}
	}
	return nil
}

func insertQuery(t *schema.Table) string {
	return "INSERT INTO " + quoteIdent(t.Name) + " (" + t.ColumnNames() + ")"
}

// appender is one column of an INSERT being built: driver.BatchColumn, or a bare column in tests.
type appender interface {
	Append(v any) error
}

// appendRecord appends every column of chunk k of b to batch, converted to the type the server reported
// for it.
func appendRecord(batch driver.Batch, t *schema.Table, b sink.Batch, k int) error {
	cols := batch.Columns()
	if len(cols) != len(t.Columns) {
		return fmt.Errorf("server sent %d columns for %d", len(cols), len(t.Columns))
	}
	for i, c := range cols {
		if c.Name() != t.Columns[i].Name {
			return fmt.Errorf("server sent column %s where %s was expected", c.Name(), t.Columns[i].Name)
		}
		if err := appendBatchColumn(batch.Column(i), b, k, i, string(c.Type())); err != nil {
			return fmt.Errorf("column %s: %w", c.Name(), err)
		}
	}
	return nil
}

// appendColumn converts arr for a column of type chType and appends it to col in one call.
func appendColumn(col appender, arr arrow.Array, chType string) error {
	vals, err := columnValues(arr, chType)
	if err != nil {
		return err
	}
	return col.Append(vals)
}

// appendBatchColumn appends column i of chunk k of b to col: the chunk's Arrow column converted,
// or the deferred values, read whole (the driver holds the block in memory until it sends it).
func appendBatchColumn(col appender, b sink.Batch, k, i int, chType string) error {
	if b.Deferred == nil || b.Deferred.Column != i {
		return appendColumn(col, b.Chunks[k].Column(i), chType)
	}
	if chType != "String" {
		return fmt.Errorf("deferred values are strings, the server's column is %s", chType)
	}
	vals, err := b.Strings(k, i)
	if err != nil {
		return err
	}
	return col.Append(vals)
}

// Exec runs query in the Store's database.
func (s *Store) Exec(ctx context.Context, query string) error {
	if err := s.conn.Exec(ctx, query); err != nil {
		return fmt.Errorf("exec in %s: %w", s.database, err)
	}
	return nil
}

// Query runs query in the Store's database and writes its rows to w as TabSeparated without a
// header, formatted as ClickHouse formats them. Maps nested inside arrays or tuples come out with
// their entries sorted by key, since the driver reads those into Go maps.
func (s *Store) Query(ctx context.Context, query string, w io.Writer) error {
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return fmt.Errorf("query in %s: %w", s.database, err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	cols := make([]resultColumn, len(types))
	for i, ct := range types {
		cols[i] = resultColumn{name: ct.Name(), chType: ct.DatabaseTypeName(), scanType: ct.ScanType()}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := writeTSV(bw, cols, rows); err != nil {
		return fmt.Errorf("query in %s: %w", s.database, err)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("query in %s: %w", s.database, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("query in %s: write result: %w", s.database, err)
	}
	return nil
}

// Ping checks the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping clickhouse: %w", err)
	}
	return nil
}

// Close closes the Store's connections.
func (s *Store) Close() error {
	if err := s.conn.Close(); err != nil {
		return fmt.Errorf("close clickhouse: %w", err)
	}
	return nil
}

// quoteIdent quotes a ClickHouse identifier with backquotes.
func quoteIdent(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}
