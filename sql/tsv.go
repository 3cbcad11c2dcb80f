package sql

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// queryRows runs q on db and returns its TabSeparated rows, each field unescaped, checking that
// every row has cols fields.
func queryRows(ctx context.Context, db DB, q string, cols int) ([][]string, error) {
	var buf bytes.Buffer
	if err := db.Query(ctx, q, &buf); err != nil {
		return nil, err
	}
	var rows [][]string
	for line := range strings.Lines(buf.String()) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(f) != cols {
			return nil, fmt.Errorf("row %q has %d fields, want %d", line, len(f), cols)
		}
		for i := range f {
			f[i] = unescapeTabSeparated(f[i])
		}
		rows = append(rows, f)
	}
	return rows, nil
}

// unescapeTabSeparated undoes TabSeparated's escaping of one field.
func unescapeTabSeparated(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func parseInt(field, what string) (int64, error) {
	n, err := strconv.ParseInt(field, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a whole number", what, field)
	}
	return n, nil
}

// parseTime reads a DateTime64(3, 'UTC') as TabSeparated prints it.
func parseTime(field, what string) (time.Time, error) {
	t, err := time.Parse("2006-01-02 15:04:05.999999999", field)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not a time", what, field)
	}
	return t, nil
}

// quoteString returns s as a ClickHouse string literal.
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
