// Package chdb runs the embedded ClickHouse engine (chDB's libchdb.so, loaded lazily with purego).
package chdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Options configure Open.
type Options struct {
	// LibPath is the path of libchdb.so. Default: FindLibrary().
	LibPath string
	// DataDir is where the engine keeps its databases. Required; created if
	// missing. One process can have only one DataDir open at a time.
	DataDir string
}

func (o *Options) setDefaults() error {
	if o.DataDir == "" {
		return errors.New("chdb options: DataDir is required")
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return fmt.Errorf("chdb options: data dir %s: %w", o.DataDir, err)
	}
	o.DataDir = dir
	if o.LibPath == "" {
		p, err := FindLibrary()
		if err != nil {
			return err
		}
		o.LibPath = p
	}
	if !isFile(o.LibPath) {
		return fmt.Errorf("%w: %s does not exist; run `make deps` or set LEADHOUSE_CHDB_LIB to its path", ErrLibraryMissing, o.LibPath)
	}
	return nil
}

// process is the state of the one chDB library in this process. It has to be
// package-global because the C library is: it keeps a single engine per
// process, and a second chdb_connect with another --path silently reuses the
// first engine's data. mu guards every field and serializes Open and Close.
var process struct {
	mu      sync.Mutex
	api     *capi  // loaded library; never unloaded (dlclose of a running ClickHouse is unsafe)
	libPath string // where api came from
	core    *core  // the open engine, nil when none
}

// core is the open engine shared by every Engine handle.
type core struct {
	api     *capi
	conn    *cConn // slot returned by chdb_connect, owned by C
	dataDir string
	version string
	refs    int    // open Engine handles, guarded by process.mu
	argv    []byte // backing store of the connect arguments, kept in case C holds on to them

	// sem serializes statements: a chDB connection runs one at a time. It is
	// a channel rather than a mutex so that waiting for it honours ctx.
	sem chan struct{}
	// shut is set, with sem held, once the connection is closed; a statement
	// that raced with the last Close finds it and fails with ErrClosed.
	shut bool
}

// Engine is a handle to the process's embedded ClickHouse engine. Handles
// opened on the same DataDir share one engine; it shuts down when the last
// handle is closed. Methods are safe for concurrent use, but statements run
// one at a time. A statement that has started cannot be interrupted (it runs
// inside a C call), so ctx is only checked before it starts.
type Engine struct {
	core   *core
	closed atomic.Bool
}

// Open returns a handle to the embedded engine running on opts.DataDir,
// booting it on first use. It fails with an error wrapping ErrLibraryMissing
// when libchdb.so cannot be found, ErrLocked when another process runs an
// engine on DataDir, and a plain error when this process already runs one on
// a different directory.
func Open(opts Options) (*Engine, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("open chdb engine: %w", err)
	}
	process.mu.Lock()
	defer process.mu.Unlock()

	if c := process.core; c != nil {
		if c.dataDir != opts.DataDir {
			return nil, fmt.Errorf("open chdb engine at %s: this process already runs the engine on %s, and chDB allows one data directory per process",
				opts.DataDir, c.dataDir)
		}
		c.refs++
		return &Engine{core: c}, nil
	}
	api, err := loadLibrary(opts.LibPath)
	if err != nil {
		return nil, fmt.Errorf("open chdb engine: %w", err)
	}
	c, err := boot(api, opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open chdb engine at %s: %w", opts.DataDir, err)
	}
	process.core = c
	return &Engine{core: c}, nil
}

// loadLibrary dlopens path once per process. Called with process.mu held.
func loadLibrary(path string) (*capi, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if process.api != nil {
		if process.libPath != abs {
			return nil, fmt.Errorf("load %s: this process already loaded chDB from %s", abs, process.libPath)
		}
		return process.api, nil
	}
	saved := saveSignals()
	api, err := loadAPI(abs)
	saved.restore()
	if err != nil {
		return nil, err
	}
	// chDB's own handlers for SIGSEGV and friends swallow the Go runtime's
	// faults: a nil dereference would hang instead of panicking. The flag is
	// process-wide and sticky, so it is set once, before the first connect.
	api.setSignalHandlersEnabled(0)
	saved.restore()
	process.api, process.libPath = api, abs
	return api, nil
}

// boot starts the engine on dataDir. Called with process.mu held.
func boot(api *capi, dataDir string) (*core, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, err
	}
	// Checked first so the common mistake gets a clear error instead of the
	// engine's stderr noise.
	if dataDirLocked(dataDir) {
		return nil, ErrLocked
	}
	argv, buf := cArgv("clickhouse", "--path="+dataDir)
	saved := saveSignals()
	conn := api.connect(int32(len(argv)), &argv[0])
	runtime.KeepAlive(buf)
	saved.restore()
	if conn == nil || *conn == 0 {
		if dataDirLocked(dataDir) {
			return nil, ErrLocked
		}
		return nil, errors.New("chdb_connect failed (the engine printed the reason to stderr)")
	}
	c := &core{api: api, conn: conn, dataDir: dataDir, refs: 1, argv: buf, sem: make(chan struct{}, 1)}
	out, err := c.query(context.Background(), "SELECT version()", "TabSeparated")
	if err != nil {
		api.closeConn(conn)
		return nil, err
	}
	c.version = strings.TrimSpace(string(out))
	return c, nil
}

// cArgv lays out args as NUL-terminated strings in one buffer and returns
// a C argv of their addresses. The addresses are uintptrs so that the array
// handed to C holds no Go pointers, as the cgo pointer rules require; the
// caller keeps buf alive instead.
func cArgv(args ...string) (argv []uintptr, buf []byte) {
	n := 0
	for _, a := range args {
		n += len(a) + 1
	}
	buf = make([]byte, 0, n)
	offs := make([]int, len(args))
	for i, a := range args {
		offs[i] = len(buf)
		buf = append(buf, a...)
		buf = append(buf, 0)
	}
	argv = make([]uintptr, len(args))
	for i, off := range offs {
		argv[i] = uintptr(unsafe.Pointer(&buf[off]))
	}
	return argv, buf
}

// Close releases the handle; the engine shuts down with its last handle.
// Closing a handle twice is a no-op.
func (e *Engine) Close() error {
	if !e.closed.CompareAndSwap(false, true) {
		return nil
	}
	process.mu.Lock()
	defer process.mu.Unlock()
	c := e.core
	c.refs--
	if c.refs > 0 {
		return nil
	}
	// Waits for the statement in flight, if any.
	c.sem <- struct{}{}
	c.api.closeConn(c.conn)
	c.shut = true
	<-c.sem
	process.core = nil
	return nil
}

// DataDir returns the absolute directory the engine keeps its data in.
func (e *Engine) DataDir() string { return e.core.dataDir }

// Version returns the ClickHouse version the engine reports, e.g. "26.7.2.1".
func (e *Engine) Version() string { return e.core.version }

// Exec runs a statement whose output, if any, is not needed: DDL, INSERT ...
// SELECT, OPTIMIZE and the like.
func (e *Engine) Exec(ctx context.Context, query string) error {
	if e.closed.Load() {
		return ErrClosed
	}
	_, err := e.core.query(ctx, query, "Null")
	return err
}

// Query runs a statement and returns its output encoded in format, any
// ClickHouse output format name such as "TabSeparated" or "JSONEachRow".
func (e *Engine) Query(ctx context.Context, query, format string) ([]byte, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	return e.core.query(ctx, query, format)
}

// Insert runs an INSERT statement given without FORMAT or data, such as
// "INSERT INTO db.t SETTINGS insert_deduplication_token='x'", feeding it data
// encoded in format (ArrowStream, Native, JSONEachRow, ...). It returns the
// rows the engine reports written: it includes rows written by materialized
// views, and it still counts a block that deduplication dropped.
func (e *Engine) Insert(ctx context.Context, query, format string, data []byte) (rowsWritten uint64, err error) {
	if e.closed.Load() {
		return 0, ErrClosed
	}
	return e.core.insert(ctx, query, format, data)
}

// InsertFunc is Insert with data produced by feed, which passes it to write
// in chunks as it encodes them, so that a large batch need not be held
// encoded in memory whole. An error from feed abandons the insert and is
// returned as is.
func (e *Engine) InsertFunc(ctx context.Context, query, format string, feed func(write func([]byte) error) error) (rowsWritten uint64, err error) {
	if e.closed.Load() {
		return 0, ErrClosed
	}
	return e.core.insertFunc(ctx, query, format, feed)
}

// acquire waits for the connection, giving up when ctx ends first.
func (c *core) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if c.shut {
		<-c.sem
		return ErrClosed
	}
	return nil
}

func (c *core) release() { <-c.sem }

func (c *core) query(ctx context.Context, query, format string) ([]byte, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.release()
	r := c.api.queryN(*c.conn, stringPtr(query), uintptr(len(query)), stringPtr(format), uintptr(len(format)))
	runtime.KeepAlive(query)
	runtime.KeepAlive(format)
	return c.takeResult(r, query)
}

// takeResult copies r's output into Go memory and destroys r.
func (c *core) takeResult(r cResult, query string) ([]byte, error) {
	if r == 0 {
		return nil, newQueryError(query, "engine returned no result")
	}
	defer c.api.destroyQueryResult(r)
	if msg := c.api.resultError(r); msg != nil {
		return nil, newQueryError(query, strings.TrimSpace(goString(msg)))
	}
	n := c.api.resultLength(r)
	if n == 0 {
		return nil, nil
	}
	out := make([]byte, n)
	copy(out, unsafe.Slice(c.api.resultBuffer(r), n))
	return out, nil
}
