package engine

import (
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"github.com/ebitengine/purego"
)

// capi is the part of chDB's C API (chdb.h, 26.7) the engine process needs: clickhouse-local's
// command line, and the result it returns when the command ends.
type capi struct {
	setSignalHandlersEnabled func(enabled int32)
	queryCmdline             func(argc int32, argv *uintptr) uintptr
	resultError              func(r uintptr) *byte
	destroyQueryResult       func(r uintptr)
}

// loadAPI dlopens the library at path and binds the symbols capi needs. A missing symbol is an
// error rather than purego's panic: it means the file is some other libchdb build, a setup
// problem. chDB's own handlers for SIGSEGV and friends would swallow the Go runtime's faults (a
// nil dereference would hang instead of panicking), so they are switched off before anything
// else runs, and whatever the library changed while loading is put back.
func loadAPI(path string) (*capi, error) {
	saved := saveSignals()
	defer saved.restore()
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	a := &capi{}
	syms := []struct {
		fptr any
		name string
	}{
		{&a.setSignalHandlersEnabled, "chdb_set_signal_handlers_enabled"},
		{&a.queryCmdline, "chdb_query_cmdline"},
		{&a.resultError, "chdb_result_error"},
		{&a.destroyQueryResult, "chdb_destroy_query_result"},
	}
	for _, s := range syms {
		sym, err := purego.Dlsym(h, s.name)
		if err != nil {
			return nil, fmt.Errorf("load %s: symbol %s: %w", path, s.name, err)
		}
		purego.RegisterFunc(s.fptr, sym)
	}
	a.setSignalHandlersEnabled(0)
	return a, nil
}

// cmdline runs clickhouse-local with args (args[0] is the program name) and returns when the
// command ends, with the engine's error message if it failed.
func (a *capi) cmdline(args ...string) error {
	argv, buf := cArgv(args...)
	saved := saveSignals()
	r := a.queryCmdline(int32(len(argv)), &argv[0])
	runtime.KeepAlive(buf)
	saved.restore()
	if r == 0 {
		return fmt.Errorf("chdb_query_cmdline returned no result")
	}
	defer a.destroyQueryResult(r)
	if msg := a.resultError(r); msg != nil {
		return fmt.Errorf("%s", strings.TrimSpace(goString(msg)))
	}
	return nil
}

// cArgv lays out args as NUL-terminated strings in one buffer and returns a C argv of their
// addresses. The addresses are uintptrs so that the array handed to C holds no Go pointers, as
// the cgo pointer rules require; the caller keeps buf alive instead.
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
