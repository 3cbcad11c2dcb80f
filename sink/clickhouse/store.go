// Package clickhouse is the sink.Store that writes to ClickHouse over its HTTP interface: inserts as Native blocks, queries formatted by the server.
//
// It is leadhouse's one store path: the engine process leadhouse supervises by default and any
// ClickHouse server or cluster are reached the same way. Inserts send the Native blocks package
// native encodes straight from the Arrow batches, the format the server parses with the least
// work, so leadhouse converts no value one by one; results come back in whatever format the
// query asks for (TabSeparated unless it says), formatted by the server itself.
package clickhouse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/native"
)

// Options configure New. The zero value, with Addr set, connects to a server as the default
// user.
type Options struct {
	// Addr lists the servers' HTTP interfaces as host:port (the HTTP port, 8123 by default, not
	// the native protocol's 9000) or as http:// or https:// URLs. Required. Requests go to one
	// address until it cannot be reached, then to the next.
	Addr []string
	// Database is the database the Store writes to and resolves unqualified table names in.
	// Default "leadhouse".
	Database string
	// Username defaults to "default"; Password to none.
	Username string
	Password string
	// TLS uses https for addresses given without a scheme.
	TLS bool
	// InsecureSkipVerify accepts any server certificate. Only for tests against a server with
	// a self-signed certificate.
	InsecureSkipVerify bool
	// Compression compresses inserted data on the wire: "none", "lz4" or "zstd". Default "none"
	// when every address is on this machine, where compressing only costs CPU, and "lz4"
	// otherwise: inserted blocks are mostly JSON text and shrink several times for little CPU.
	Compression string
	// DialTimeout bounds connecting to a server. Default 10s.
	DialTimeout time.Duration
	// MaxConns caps the connections to each server, and as many idle ones are kept. Default 8.
	MaxConns int
	// Settings are ClickHouse settings sent with every insert, such as
	// distributed_foreground_insert for a cluster's Distributed tables.
	Settings map[string]string
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
	if o.MaxConns == 0 {
		o.MaxConns = 8
	}
	return nil
}

// Store is a sink.Store over a ClickHouse server's HTTP interface, bound to one database. It is
// safe for concurrent use: each call is one HTTP request on a pooled connection.
type Store struct {
	opts     Options
	bases    []*url.URL
	current  atomic.Int32 // index into bases of the address in use
	client   *http.Client
	compress string
	bufs     sync.Pool // of *[]byte, Native encoding buffers
}

var _ sink.Store = (*Store)(nil)

// New returns a Store for opts. It does not connect: the server may come up later, and every
// call reports whether it answers.
func New(opts Options) (*Store, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("clickhouse store: %w", err)
	}
	s := &Store{opts: opts}
	local := true
	for _, a := range opts.Addr {
		u, err := parseAddr(a, opts.TLS)
		if err != nil {
			return nil, fmt.Errorf("clickhouse store: %w", err)
		}
		local = local && isLoopback(u.Hostname())
		s.bases = append(s.bases, u)
	}
	switch s.compress = strings.ToLower(opts.Compression); s.compress {
	case "":
		s.compress = "lz4"
		if local {
			s.compress = "none"
		}
	case "none", "lz4", "zstd":
	default:
		return nil, fmt.Errorf("clickhouse store: unknown compression %q (want none, lz4 or zstd)", opts.Compression)
	}
	dialer := &net.Dialer{Timeout: opts.DialTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		MaxConnsPerHost:     opts.MaxConns,
		MaxIdleConnsPerHost: opts.MaxConns,
		// Under the server's keep-alive timeout (ClickHouse closes idle connections after 30s
		// by default), so a request is never sent on a connection the server is closing.
		IdleConnTimeout:   10 * time.Second,
		DisableKeepAlives: false,
		// The server's answers are small except query results, which it compresses only when
		// asked; leadhouse asks for none.
		DisableCompression: true,
		ForceAttemptHTTP2:  false,
		// An insert's body is megabytes: with the default 4 KiB buffer every 32 KiB piece of it
		// would be a write of its own.
		WriteBufferSize: 256 << 10,
	}
	if opts.InsecureSkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	s.client = &http.Client{Transport: tr}
	return s, nil
}

// parseAddr turns host:port or a URL into the base URL of a server's HTTP interface.
func parseAddr(a string, useTLS bool) (*url.URL, error) {
	a = strings.TrimSpace(a)
	if !strings.Contains(a, "://") {
		scheme := "http"
		if useTLS {
			scheme = "https"
		}
		a = scheme + "://" + a
	}
	u, err := url.Parse(a)
	if err != nil {
		return nil, fmt.Errorf("server address %q: %w", a, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("server address %q: scheme must be http or https", a)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("server address %q has no host", a)
	}
	if u.Port() == "" {
		port := "8123"
		if u.Scheme == "https" {
			port = "8443"
		}
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	u.Path, u.RawQuery, u.Fragment = "/", "", ""
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Database returns the database the Store is bound to.
func (s *Store) Database() string { return s.opts.Database }

// Addr is the server address in use, host:port.
func (s *Store) Addr() string { return s.bases[s.current.Load()].Host }

// Insert writes the rows of batch into t as one INSERT of one Native block, with
// insert_deduplication_token set to token: the server stores a batch sent twice with the same
// token once (for MergeTree tables with a deduplication window), so a retried or replayed batch
// never counts twice. One block however the batch is chunked in memory keeps the deduplication
// identity of a batch replayed after a restart equal to the original's. The block is encoded as
// it is sent, a few megabytes at a time, so it is never held encoded whole.
func (s *Store) Insert(ctx context.Context, t *schema.Table, batch sink.Batch, token string) error {
	rows := batch.Rows()
	if rows == 0 {
		return nil
	}
	cols := make([]native.Column, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = native.Column{Name: c.Name, Type: c.Type}
	}
	if d := batch.Deferred; d != nil {
		if d.Column < 0 || d.Column >= len(cols) {
			return fmt.Errorf("insert into %s: deferred column %d of %d", t.Name, d.Column, len(cols))
		}
		cols[d.Column].Values = d.Value
	}
	for _, rec := range batch.Chunks {
		if int(rec.NumCols()) != len(cols) {
			return fmt.Errorf("insert into %s: record has %d columns, table %d", t.Name, rec.NumCols(), len(cols))
		}
	}
	params := url.Values{}
	for k, v := range s.opts.Settings {
		params.Set(k, v)
	}
	params.Set("query", "INSERT INTO "+quoteIdent(s.opts.Database)+"."+quoteIdent(t.Name)+" ("+t.ColumnNames()+") FORMAT Native")
	if token != "" {
		params.Set("insert_deduplication_token", token)
	}
	pr, pw := io.Pipe()
	encoded := make(chan error, 1)
	go func() { encoded <- s.encode(pw, batch, cols) }()
	err := s.do(ctx, params, pr, s.compress, io.Discard)
	// Unblocks the encoder if the request ended before reading the whole block.
	pr.CloseWithError(errRequestEnded)
	encErr := <-encoded
	if encErr != nil && !errors.Is(encErr, errRequestEnded) {
		// The block was cut short, so the server stored nothing of it.
		return fmt.Errorf("insert %d rows into %s: encode: %w", rows, t.Name, encErr)
	}
	if err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", rows, t.Name, err)
	}
	return nil
}

var errRequestEnded = errors.New("insert request ended")

// nativeChunkBytes is about how much of an encoded block is handed to the connection at a time;
// it only bounds the encoder's buffer.
const nativeChunkBytes = 1 << 20

// encode writes batch as one Native block to pw, compressed as configured, and closes pw.
func (s *Store) encode(pw *io.PipeWriter, batch sink.Batch, cols []native.Column) (err error) {
	defer func() { pw.CloseWithError(err) }()
	var w io.Writer = pw
	var zc io.Closer
	switch s.compress {
	case "lz4":
		zw := lz4.NewWriter(pw)
		w, zc = zw, zw
	case "zstd":
		zw, zerr := zstd.NewWriter(pw, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if zerr != nil {
			return zerr
		}
		w, zc = zw, zw
	}
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	*bp, err = native.WriteBlock(*bp, batch.Chunks, cols, nativeChunkBytes, func(b []byte) error {
		_, werr := w.Write(b)
		return werr
	})
	// A buffer grown by an unusually large value is not kept for every later insert.
	if cap(*bp) <= 4*nativeChunkBytes {
		s.bufs.Put(bp)
	}
	if err != nil {
		return err
	}
	if zc != nil {
		return zc.Close()
	}
	return nil
}

// Exec runs one statement in the Store's database and discards its output.
func (s *Store) Exec(ctx context.Context, query string) error {
	if err := s.statement(ctx, query, true, io.Discard); err != nil {
		return fmt.Errorf("exec in %s: %w", s.opts.Database, err)
	}
	return nil
}

// Query runs one statement in the Store's database and writes its result to w as the server
// formats it: TabSeparated without a header, unless the statement has a FORMAT clause. If the
// server fails after it started sending rows, w has received part of the result and the error
// says so.
func (s *Store) Query(ctx context.Context, query string, w io.Writer) error {
	if err := s.statement(ctx, query, true, w); err != nil {
		return fmt.Errorf("query in %s: %w", s.opts.Database, err)
	}
	return nil
}

// CreateDatabase creates the Store's database if it does not exist.
func (s *Store) CreateDatabase(ctx context.Context) error {
	if err := s.statement(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(s.opts.Database), false, io.Discard); err != nil {
		return fmt.Errorf("create database %s: %w", s.opts.Database, err)
	}
	return nil
}

// Ping checks the server answers a query as the Store's user.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.statement(ctx, "SELECT 1", false, io.Discard); err != nil {
		return fmt.Errorf("ping clickhouse: %w", err)
	}
	return nil
}

// Close releases the Store's idle connections.
func (s *Store) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// statement sends query as a request body, in the Store's database unless inDatabase is false
// (the database may not exist yet).
func (s *Store) statement(ctx context.Context, query string, inDatabase bool, w io.Writer) error {
	params := url.Values{}
	if inDatabase {
		params.Set("database", s.opts.Database)
	}
	return s.do(ctx, params, strings.NewReader(query), "none", w)
}

// do sends one request and copies a successful answer's body to w. A request whose body can be
// sent again (a statement, not an insert's stream) moves on to the next address when one cannot
// be reached; an insert reports the failure, and its retry goes to the next address.
func (s *Store) do(ctx context.Context, params url.Values, body io.Reader, encoding string, w io.Writer) error {
	_, replayable := body.(*strings.Reader)
	start := s.current.Load()
	var err error
	for i := range len(s.bases) {
		k := (int(start) + i) % len(s.bases)
		if i > 0 {
			body.(*strings.Reader).Seek(0, io.SeekStart)
		}
		err = s.send(ctx, s.bases[k], params, body, encoding, w)
		if err == nil || !unreachable(err) || ctx.Err() != nil {
			return err
		}
		// The next call starts from the next address, whether this one retries or not.
		s.current.CompareAndSwap(start, int32((k+1)%len(s.bases)))
		if !replayable {
			return err
		}
	}
	return err
}

func (s *Store) send(ctx context.Context, base *url.URL, params url.Values, body io.Reader, encoding string, w io.Writer) error {
	u := *base
	u.RawQuery = params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("X-ClickHouse-User", s.opts.Username)
	if s.opts.Password != "" {
		req.Header.Set("X-ClickHouse-Key", s.opts.Password)
	}
	if encoding != "none" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return responseError(resp)
	}
	return copyResult(w, resp.Body, resp.Header.Get("X-ClickHouse-Exception-Tag"))
}

// unreachable reports an error of connecting to a server, as opposed to one it answered with.
func unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// quoteIdent quotes a ClickHouse identifier with backquotes.
func quoteIdent(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}
