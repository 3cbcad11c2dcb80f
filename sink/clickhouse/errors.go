package clickhouse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/ClickHouse/ch-go/proto"

	"github.com/leadhouse/leadhouse/sink"
)

// Exception is an error the server reported for a statement, such as
// "Code: 60. DB::Exception: Unknown table expression identifier 'x' ... (UNKNOWN_TABLE)".
type Exception struct {
	// Code is ClickHouse's error code (60 for UNKNOWN_TABLE), 0 when the server sent none.
	Code int
	// Name is the code's name as the message ends with it, e.g. "UNKNOWN_TABLE"; may be empty.
	Name string
	// Message is the server's text, without the version suffix.
	Message string
	// Status is the HTTP status of the answer; 200 when the error came after part of a result.
	Status int
}

func (e *Exception) Error() string { return e.Message }

// Is makes an Exception match sink.ErrRejected when the server refused an insert's values
// themselves, so that the same rows would be refused again.
func (e *Exception) Is(target error) bool {
	return target == sink.ErrRejected && rejectedCodes[proto.Error(e.Code)]
}

// rejectedCodes are ClickHouse's error codes for data the server refuses row by row: a value it
// cannot parse or convert to the column's type (a table altered under leadhouse), a value out of
// range, a constraint the row violates. Everything else is retried: the server unreachable or
// overloaded (TOO_MANY_PARTS, MEMORY_LIMIT_EXCEEDED, TIMEOUT_EXCEEDED), shutting down, out of
// disk, and errors of the table or the user rather than of the rows (UNKNOWN_TABLE,
// NO_SUCH_COLUMN_IN_TABLE, ACCESS_DENIED), which every row would get alike and which the
// operator mends.
var rejectedCodes = map[proto.Error]bool{
	proto.ErrCannotParseText:                  true,
	proto.ErrCannotParseEscapeSequence:        true,
	proto.ErrCannotParseQuotedString:          true,
	proto.ErrCannotParseInputAssertionFailed:  true,
	proto.ErrCannotParseDate:                  true,
	proto.ErrCannotParseDatetime:              true,
	proto.ErrCannotParseNumber:                true,
	proto.ErrCannotParseUUID:                  true,
	proto.ErrCannotParseDomainValueFromString: true,
	proto.ErrCannotParseBool:                  true,
	proto.ErrCannotParseIpv4:                  true,
	proto.ErrCannotParseIpv6:                  true,
	proto.ErrTypeMismatch:                     true,
	proto.ErrArgumentOutOfBound:               true,
	proto.ErrCannotConvertType:                true,
	proto.ErrIncorrectData:                    true,
	proto.ErrTooLargeArraySize:                true,
	proto.ErrTooLargeStringSize:               true,
	proto.ErrSizesOfArraysDoesntMatch:         true,
	proto.ErrValueIsOutOfRangeOfDataType:      true,
	proto.ErrCannotInsertNullInOrdinaryColumn: true,
	proto.ErrFunctionThrowIfValueIsNonZero:    true, // a throwIf in a DEFAULT or a constraint
	proto.ErrViolatedConstraint:               true,
}

// versionSuffix and codeName match the end of a ClickHouse exception message:
// "... (UNKNOWN_TABLE) (version 26.7.2.1)".
var (
	versionSuffix = regexp.MustCompile(`\s*\(version [^)]*\)\s*$`)
	codeName      = regexp.MustCompile(`\(([A-Z][A-Z0-9_]+)\)\s*$`)
	codePrefix    = regexp.MustCompile(`^Code: (\d+)\.`)
)

func newException(msg string, code, status int) *Exception {
	msg = versionSuffix.ReplaceAllString(strings.TrimSpace(msg), "")
	e := &Exception{Code: code, Message: msg, Status: status}
	if m := codeName.FindStringSubmatch(msg); m != nil {
		e.Name = m[1]
	}
	if e.Code == 0 {
		if m := codePrefix.FindStringSubmatch(msg); m != nil {
			e.Code, _ = strconv.Atoi(m[1])
		}
	}
	return e
}

// responseError turns an answer other than 200 into an error: an *Exception when the server says
// which, and a plain error otherwise (a proxy's page, the native port answering HTTP).
func responseError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := strings.TrimSpace(string(body))
	code, _ := strconv.Atoi(resp.Header.Get("X-ClickHouse-Exception-Code"))
	if code != 0 || strings.HasPrefix(msg, "Code: ") {
		return newException(msg, code, resp.StatusCode)
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	if strings.Contains(msg, "is for clickhouse-client program") {
		return fmt.Errorf("HTTP %d: %s (leadhouse talks to ClickHouse's HTTP interface, port 8123 by default)", resp.StatusCode, msg)
	}
	return fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
}

// holdBytes is how much of the end of a result copyResult holds back: room for the error block
// the server appends when a query fails after it started sending rows.
const holdBytes = 64 << 10

// copyResult copies a query's result from r to w. A server that fails after it started sending
// rows appends "\r\n__exception__\r\n<tag>\r\n<message>\n<length> <tag>\r\n__exception__\r\n"
// to what it sent, with the tag of the answer's X-ClickHouse-Exception-Tag header; copyResult
// holds back the last bytes until the end, so that block is returned as an *Exception and never
// reaches w.
func copyResult(w io.Writer, r io.Reader, tag string) error {
	if tag == "" {
		_, err := io.Copy(w, r)
		return err
	}
	held := make([]byte, 0, 2*holdBytes)
	buf := make([]byte, 32<<10)
	var readErr error
	for {
		n, err := r.Read(buf)
		held = append(held, buf[:n]...)
		if over := len(held) - holdBytes; over > 0 {
			if _, werr := w.Write(held[:over]); werr != nil {
				return werr
			}
			held = append(held[:0], held[over:]...)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
	}
	// After the error block the server closes the connection without ending the chunked body,
	// so the block is looked for however the body ended.
	end := []byte(" " + tag + "\r\n__exception__\r\n")
	if !bytes.HasSuffix(held, end) {
		if readErr != nil {
			return fmt.Errorf("read the result: %w", readErr)
		}
		_, err := w.Write(held)
		return err
	}
	start := []byte("\r\n__exception__\r\n" + tag + "\r\n")
	i := bytes.LastIndex(held, start)
	if i < 0 {
		return newException("the server failed after sending part of the result, with an error too long to show", 0, http.StatusOK)
	}
	if _, err := w.Write(held[:i]); err != nil {
		return err
	}
	msg := held[i+len(start) : len(held)-len(end)]
	// Drop the "\n<length>" that follows the message.
	if j := bytes.LastIndexByte(msg, '\n'); j >= 0 {
		msg = msg[:j]
	}
	return newException(string(msg), 0, http.StatusOK)
}
