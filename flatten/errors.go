package flatten

import (
	"errors"
	"fmt"
	"strconv"
)

// Outcomes a caller branches on (the HTTP handler answers 400 for the first two, 422 for the
// third). Every error Flatten returns matches exactly one of them under errors.Is.
var (
	// ErrNotJSON: the body is not a JSON document. The error is a *SyntaxError.
	ErrNotJSON = errors.New("not JSON")
	// ErrNotObject: the body is JSON but not an object.
	ErrNotObject = errors.New("not a JSON object")
	// ErrNoLeadID: the callback has no lead_id or one that is not a positive integer. The error
	// is a *LeadIDError.
	ErrNoLeadID = errors.New("no valid lead_id")
)

// SyntaxError reports where a body stops being JSON.
type SyntaxError struct {
	// Offset is the 0-based byte offset of the first byte that cannot continue a JSON document,
	// or the body's length when it ends too early.
	Offset int64
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "not JSON at byte " + strconv.FormatInt(e.Offset, 10) + ": " + e.Msg
}

// Is makes a *SyntaxError match ErrNotJSON.
func (e *SyntaxError) Is(target error) bool { return target == ErrNotJSON }

// LeadIDError reports a callback without a usable lead_id.
type LeadIDError struct {
	// Value is the lead_id's JSON text as sent (a copy, cut to 256 bytes), or "" when the key is
	// absent.
	Value string
}

func (e *LeadIDError) Error() string {
	if e.Value == "" {
		return "missing lead_id"
	}
	return "invalid lead_id " + e.Value + ": want a positive integer"
}

// Is makes a *LeadIDError match ErrNoLeadID.
func (e *LeadIDError) Is(target error) bool { return target == ErrNoLeadID }

// maxErrValue bounds what an error copies out of a body.
const maxErrValue = 256

func errAt(off int, format string, args ...any) error {
	return &SyntaxError{Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
}

func errEnd(n int) error { return &SyntaxError{Offset: int64(n), Msg: "unexpected end of input"} }

func quoteByte(c byte) string {
	if c >= 0x80 {
		return fmt.Sprintf(`'\x%02x'`, c)
	}
	return strconv.QuoteRune(rune(c))
}
