package chdb

import (
	"context"
	"runtime"
	"strings"
)

// insert feeds data through chDB's streaming INSERT API. The alternative,
// one chdb_query_n with the data after "FORMAT ArrowStream\n", is no faster
// for small batches (BenchmarkInsertArrow) and in chDB 26.7 reads only the
// first few KB of binary inline data, failing with CANNOT_READ_ALL_DATA.
func (c *core) insert(ctx context.Context, query, format string, data []byte) (uint64, error) {
	if err := c.acquire(ctx); err != nil {
		return 0, err
	}
	defer c.release()
	s := c.api.streamInsertN(*c.conn, stringPtr(query), uintptr(len(query)), stringPtr(format), uintptr(len(format)))
	runtime.KeepAlive(query)
	runtime.KeepAlive(format)
	if s == 0 {
		return 0, newQueryError(query, "engine returned no insert stream")
	}
	defer c.api.destroyInsertStream(s)
	if msg := c.api.streamInsertError(s); msg != nil {
		return 0, newQueryError(query, strings.TrimSpace(goString(msg)))
	}
	if len(data) > 0 {
		// chdb_stream_append copies the chunk, so Go memory is only borrowed
		// for the duration of the call.
		st := c.api.streamAppend(s, bytesPtr(data), uintptr(len(data)))
		runtime.KeepAlive(data)
		if st != 0 {
			msg := strings.TrimSpace(goString(c.api.streamInsertError(s)))
			if msg == "" {
				msg = "append to insert stream failed"
			}
			return 0, newQueryError(query, msg)
		}
	}
	r := c.api.streamDone(s)
	if r == 0 {
		return 0, newQueryError(query, "engine returned no result")
	}
	defer c.api.destroyQueryResult(r)
	if msg := c.api.resultError(r); msg != nil {
		return 0, newQueryError(query, strings.TrimSpace(goString(msg)))
	}
	return c.api.resultRowsWritten(r), nil
}
