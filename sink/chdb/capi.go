package chdb

import (
	"fmt"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Handles below are opaque C pointers. They are kept as uintptr because Go
// never dereferences them; only the connection slot returned by chdb_connect
// is read from Go, so it alone is a typed pointer.
type (
	cConn         = uintptr // chdb_connection
	cResult       = uintptr // chdb_result *
	cInsertStream = uintptr // chdb_insert_stream
)

// capi is the subset of the chDB C API (chdb.h, 26.7) the engine uses.
type capi struct {
	version                  func() *byte
	setSignalHandlersEnabled func(enabled int32)
	connect                  func(argc int32, argv *uintptr) *cConn
	closeConn                func(conn *cConn)

	queryN              func(conn cConn, query *byte, queryLen uintptr, format *byte, formatLen uintptr) cResult
	resultBuffer        func(r cResult) *byte
	resultLength        func(r cResult) uintptr
	resultRowsWritten   func(r cResult) uint64
	resultError         func(r cResult) *byte
	destroyQueryResult  func(r cResult)
	streamInsertN       func(conn cConn, query *byte, queryLen uintptr, format *byte, formatLen uintptr) cInsertStream
	streamAppend        func(s cInsertStream, data *byte, n uintptr) int32
	streamDone          func(s cInsertStream) cResult
	streamInsertError   func(s cInsertStream) *byte
	destroyInsertStream func(s cInsertStream)
}

// loadAPI dlopens the library at path and binds every symbol capi needs.
// A missing symbol is an error rather than purego's panic, because it means
// the file is some other libchdb build, which is a setup problem, not a bug.
func loadAPI(path string) (*capi, error) {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	a := &capi{}
	syms := []struct {
		fptr any
		name string
	}{
		{&a.version, "chdb_version"},
		{&a.setSignalHandlersEnabled, "chdb_set_signal_handlers_enabled"},
		{&a.connect, "chdb_connect"},
		{&a.closeConn, "chdb_close_conn"},
		{&a.queryN, "chdb_query_n"},
		{&a.resultBuffer, "chdb_result_buffer"},
		{&a.resultLength, "chdb_result_length"},
		{&a.resultRowsWritten, "chdb_result_rows_written"},
		{&a.resultError, "chdb_result_error"},
		{&a.destroyQueryResult, "chdb_destroy_query_result"},
		{&a.streamInsertN, "chdb_stream_insert_n"},
		{&a.streamAppend, "chdb_stream_append"},
		{&a.streamDone, "chdb_stream_done"},
		{&a.streamInsertError, "chdb_stream_insert_error"},
		{&a.destroyInsertStream, "chdb_destroy_insert_stream"},
	}
	for _, s := range syms {
		sym, err := purego.Dlsym(h, s.name)
		if err != nil {
			return nil, fmt.Errorf("load %s: symbol %s: %w", path, s.name, err)
		}
		purego.RegisterFunc(s.fptr, sym)
	}
	return a, nil
}

// goString copies a NUL-terminated C string into Go memory; nil yields "".
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// stringPtr returns a pointer to s's bytes for a length-delimited C argument,
// or nil for an empty string. The caller keeps s alive across the call.
func stringPtr(s string) *byte {
	if s == "" {
		return nil
	}
	return unsafe.StringData(s)
}

// bytesPtr is stringPtr for byte slices.
func bytesPtr(b []byte) *byte {
	if len(b) == 0 {
		return nil
	}
	return &b[0]
}
