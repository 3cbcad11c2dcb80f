package sql

import (
	"fmt"
	"strings"
)

// Statement is one SQL statement of a migration file.
type Statement struct {
	// SQL is the statement without its terminating ';', starting at its first token: comments
	// before it are dropped, comments inside it are kept.
	SQL string
	// Line is the 1-based line of the file the statement starts on.
	Line int
}

// SplitError reports a file that cannot be split into statements.
type SplitError struct {
	Line int // 1-based line where the problem starts
	Msg  string
}

func (e *SplitError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Split cuts a file into statements. A statement ends at a ';' that is the last token of its line
// (only blanks or a -- comment may follow); ';' inside a string, a quoted identifier or a comment
// is text. ClickHouse's native protocol runs one statement per query, and a ';' in the middle of a
// line is almost always two statements glued together by mistake, so it is an error rather than a
// silent split. A last statement without ';' counts; files made only of comments have none.
func Split(src string) ([]Statement, error) {
	var (
		out   []Statement
		line  = 1
		start = -1 // offset of the current statement's first token, -1 before it
		first int  // its line
	)
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '-' && strings.HasPrefix(src[i:], "--"):
			i = skipLine(src, i)
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, &SplitError{Line: line, Msg: "unterminated /* comment"}
			}
			line += strings.Count(src[i:i+2+end], "\n")
			i += 2 + end + 2
		case c == ';':
			if !restIsBlank(src, i+1) {
				return nil, &SplitError{Line: line, Msg: "';' must end its line: put one statement per line group"}
			}
			if start >= 0 {
				out = append(out, Statement{SQL: strings.TrimRight(src[start:i], " \t\r\n"), Line: first})
				start = -1
			}
			i = skipLine(src, i)
		default:
			if start < 0 {
				start, first = i, line
			}
			if c == '\'' || c == '"' || c == '`' {
				end, ok := skipQuoted(src, i)
				if !ok {
					return nil, &SplitError{Line: line, Msg: "unterminated " + string(c) + " quote"}
				}
				line += strings.Count(src[i:end], "\n")
				i = end
			} else {
				i++
			}
		}
	}
	if start >= 0 {
		out = append(out, Statement{SQL: strings.TrimRight(src[start:], " \t\r\n"), Line: first})
	}
	return out, nil
}

// skipLine returns the offset of the '\n' ending the line containing i, or len(s).
func skipLine(s string, i int) int {
	if n := strings.IndexByte(s[i:], '\n'); n >= 0 {
		return i + n
	}
	return len(s)
}

// restIsBlank reports whether only blanks or a -- comment follow i on its line.
func restIsBlank(s string, i int) bool {
	for ; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r':
		case '\n':
			return true
		case '-':
			return strings.HasPrefix(s[i:], "--")
		default:
			return false
		}
	}
	return true
}

// skipQuoted returns the offset just past the quoted text starting at s[i]. Inside, a backslash
// escapes the next byte and a doubled quote stands for itself, as in ClickHouse.
func skipQuoted(s string, i int) (int, bool) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1, true
		}
	}
	return 0, false
}
