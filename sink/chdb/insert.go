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
	return c.insertFunc(ctx, query, format, func(write func([]byte) error) error {
		if len(data) == 0 {
			return nil
		}
		return write(data)
	})
}

// insertFunc runs an insert whose data feed passes to write chunk by chunk.
// chdb_stream_append copies each chunk, so feed may reuse one buffer.
func (c *core) insertFunc(ctx context.Context, query, format string, feed func(write func([]byte) error) error) (uint64, error) {
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
	write := func(chunk []byte) error {
		if len(chunk) == 0 {
			return nil
		}
		st := c.api.streamAppend(s, bytesPtr(chunk), uintptr(len(chunk)))
		runtime.KeepAlive(chunk)
		if st != 0 {
			msg := strings.TrimSpace(goString(c.api.streamInsertError(s)))
			if msg == "" {
				msg = "append to insert stream failed"
			}
			return newQueryError(query, msg)
		}
		return nil
	}
	if err := feed(write); err != nil {
		// Destroying the stream without chdb_stream_done abandons the insert.
		return 0, err
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
