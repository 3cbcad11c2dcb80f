package chdb

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrLocked reports that another process runs an engine on the data
// directory. ClickHouse allows one server per directory.
var ErrLocked = errors.New("data directory is in use by another leadhouse process (is `leadhouse serve` running?)")

// ErrClosed is returned by methods of an Engine handle after its Close.
var ErrClosed = errors.New("chdb engine is closed")

// maxQueryInError bounds QueryError.Query so an INSERT's inline data or a
// generated statement does not flood logs.
const maxQueryInError = 256

// QueryError is an error reported by the engine for one statement.
type QueryError struct {
	// Query is the statement, truncated to a few hundred bytes.
	Query string
	// Message is the engine's text, e.g.
	// "Code: 60. DB::Exception: Unknown table expression identifier 'x' ... (UNKNOWN_TABLE)".
	Message string
}

// Error returns the statement and the engine's message.
func (e *QueryError) Error() string {
	return fmt.Sprintf("chdb query %q: %s", e.Query, e.Message)
}

func newQueryError(query, msg string) *QueryError {
	if len(query) > maxQueryInError {
		cut := maxQueryInError
		for cut > 0 && !utf8.RuneStart(query[cut]) {
			cut--
		}
		query = query[:cut] + "..."
	}
	return &QueryError{Query: query, Message: msg}
}
