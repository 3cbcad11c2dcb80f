package flatten

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/leadhouse/leadhouse/schema"
)

// WriteRowsJSON writes rows to w as JSON lines, one per row, tables in flush order
// (schema.RowTables): {"table":"notes", then every column in table order}. NULL is null,
// timestamps are RFC 3339 in UTC with milliseconds, maps are objects with sorted keys. It is
// for people and golden files (`leadhouse flatten`), not the hot path.
func WriteRowsJSON(w io.Writer, rows *schema.Rows) error {
	buf := appendRow(nil, schema.LeadUpdates, &rows.Lead)
	buf = appendRows(buf, schema.Events, rows.Events)
	buf = appendRows(buf, schema.Notes, rows.Notes)
	buf = appendRows(buf, schema.Calls, rows.Calls)
	buf = appendRows(buf, schema.Dispositions, rows.Dispositions)
	buf = appendRows(buf, schema.Transitions, rows.Transitions)
	buf = appendRows(buf, schema.BookingDocs, rows.BookingDocs)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write rows of lead %d: %w", rows.Lead.LeadID, err)
	}
	return nil
}

func appendRows[R any](buf []byte, t *schema.Table, rows []R) []byte {
	for i := range rows {
		buf = appendRow(buf, t, &rows[i])
	}
	return buf
}

func appendRow[R any](buf []byte, t *schema.Table, row *R) []byte {
	buf = append(buf, `{"table":`...)
	buf = appendJSONString(buf, t.Name)
	for i, v := range schema.Values(t, row) {
		buf = append(buf, ',')
		buf = appendJSONString(buf, t.Columns[i].Name)
		buf = append(buf, ':')
		buf = appendJSONValue(buf, v)
	}
	return append(buf, "}\n"...)
}

func appendJSONValue(buf []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(buf, "null"...)
	case string:
		return appendJSONString(buf, v)
	case bool:
		return strconv.AppendBool(buf, v)
	case uint64:
		return strconv.AppendUint(buf, v, 10)
	case uint32:
		return strconv.AppendUint(buf, uint64(v), 10)
	case uint16:
		return strconv.AppendUint(buf, uint64(v), 10)
	case int64:
		return strconv.AppendInt(buf, v, 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return appendJSONString(buf, strconv.FormatFloat(v, 'g', -1, 64))
		}
		// As encoding/json writes floats: plain digits unless the exponent is extreme.
		if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
			return strconv.AppendFloat(buf, v, 'e', -1, 64)
		}
		return strconv.AppendFloat(buf, v, 'f', -1, 64)
	case time.Time:
		buf = append(buf, '"')
		buf = v.UTC().AppendFormat(buf, "2006-01-02T15:04:05.000Z07:00")
		return append(buf, '"')
	case map[string]string:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, k)
			buf = append(buf, ':')
			buf = appendJSONString(buf, v[k])
		}
		return append(buf, '}')
	case []string:
		buf = append(buf, '[')
		for i, s := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, s)
		}
		return append(buf, ']')
	}
	// A column kind schema.Values gained after this was written: a bug here, shown not hidden.
	return appendJSONString(buf, fmt.Sprintf("unsupported %T", v))
}

// appendJSONString quotes s as a JSON string; invalid UTF-8 becomes U+FFFD, as encoding/json
// writes it.
func appendJSONString(buf []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, `\ufffd`...)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
