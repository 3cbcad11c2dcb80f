package engine

import (
	"bytes"
	"log/slog"
	"sync"
)

// tail keeps the last bytes written to it: the end of an engine process's output, for the error
// that reports its death.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}

// suffix is ": <output>" when there is output, for appending to an error.
func (t *tail) suffix() string {
	if s := t.String(); s != "" {
		return ": " + s
	}
	return ""
}

// lineLogger logs each line written to it: what the engine process prints (its own log goes to
// files under the engine's ConfigDir; what reaches standard error is worth an operator's eye).
type lineLogger struct {
	mu      sync.Mutex
	log     *slog.Logger
	pending []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, p...)
	for {
		i := bytes.IndexByte(l.pending, '\n')
		if i < 0 {
			break
		}
		if line := bytes.TrimSpace(l.pending[:i]); len(line) > 0 {
			if bytes.HasPrefix(line, []byte("Logging ")) {
				// "Logging errors to <file>": where the engine's own log goes, at every start.
				l.log.Debug("engine: " + string(line))
			} else {
				l.log.Warn("engine: " + string(line))
			}
		}
		l.pending = l.pending[i+1:]
	}
	if len(l.pending) > 64<<10 {
		l.log.Warn("engine: " + string(l.pending))
		l.pending = l.pending[:0]
	}
	return len(p), nil
}
