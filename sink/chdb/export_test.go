package chdb

import (
	"context"
	"runtime"
	"strings"
)

// InsertInline and InsertStream expose both ways of inserting to the
// benchmark that chose between them.
func InsertInline(ctx context.Context, e *Engine, query, format string, data []byte) (uint64, error) {
	return e.core.insertInline(ctx, query, format, data)
}

func InsertStream(ctx context.Context, e *Engine, query, format string, data []byte) (uint64, error) {
	return e.core.insert(ctx, query, format, data)
}

// insertInline appends "FORMAT f\n" and the data to the statement and runs
// it as one query.
func (c *core) insertInline(ctx context.Context, query, format string, data []byte) (uint64, error) {
	if err := c.acquire(ctx); err != nil {
		return 0, err
	}
	defer c.release()
	buf := make([]byte, 0, len(query)+len(format)+9+len(data))
	buf = append(buf, query...)
	buf = append(buf, " FORMAT "...)
	buf = append(buf, format...)
	buf = append(buf, '\n')
	buf = append(buf, data...)
	const out = "Null"
	r := c.api.queryN(*c.conn, bytesPtr(buf), uintptr(len(buf)), stringPtr(out), uintptr(len(out)))
	runtime.KeepAlive(buf)
	if r == 0 {
		return 0, newQueryError(query, "engine returned no result")
	}
	defer c.api.destroyQueryResult(r)
	if msg := c.api.resultError(r); msg != nil {
		return 0, newQueryError(query, strings.TrimSpace(goString(msg)))
	}
	return c.api.resultRowsWritten(r), nil
}
