package clickhouse

import (
	"bufio"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// The native protocol only carries Native blocks, so Query turns the driver's scanned Go values
// back into ClickHouse's TabSeparated text itself. The rules below are ClickHouse's own
// (checked against the embedded engine in text_test.go): top-level values are escaped, values
// inside arrays, maps and tuples are quoted where ClickHouse quotes them, NULL is \N at the top
// level and NULL inside.

// textKind is how a ClickHouse type's values are written as text.
type textKind uint8

const (
	textNothing textKind = iota + 1
	textInt
	textUInt
	textFloat32
	textFloat64
	textBool
	textString
	textDate
	textDateTime
	textDateTime64
	textUUID
	textIPv4
	textIPv6
	textDecimal
	textArray
	textMap
	textTuple
	textNullable
)

// textType is a parsed ClickHouse type, as much of it as writing its values needs.
type textType struct {
	name      string // as the server spells it, for errors
	kind      textKind
	precision int         // DateTime64 digits after the point
	elems     []*textType // Array, Nullable: 1; Map: key, value; Tuple: its elements
	names     []string    // Tuple element names, empty for an unnamed tuple
}

// UnsupportedTypeError reports a result column whose type Query cannot write as text.
type UnsupportedTypeError struct {
	Column string
	Type   string
	Err    error
}

func (e *UnsupportedTypeError) Error() string {
	return fmt.Sprintf("column %s: %v; convert it with toString()", e.Column, e.Err)
}

func (e *UnsupportedTypeError) Unwrap() error { return e.Err }

// parseTextType parses a type name as the server reports it, e.g. "Array(Nullable(String))".
func parseTextType(s string) (*textType, error) {
	s = strings.TrimSpace(s)
	t, err := parseTypeParts(s)
	if err != nil {
		return nil, err
	}
	if t.name == "" {
		t.name = s
	}
	return t, nil
}

func parseTypeParts(s string) (*textType, error) {
	name, args, err := splitType(s)
	if err != nil {
		return nil, err
	}
	arity := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("type %s: want %d parameters, have %d", s, n, len(args))
		}
		return nil
	}
	switch name {
	case "Nothing":
		return &textType{kind: textNothing}, nil
	case "Int8", "Int16", "Int32", "Int64", "Int128", "Int256":
		return &textType{kind: textInt}, nil
	case "UInt8", "UInt16", "UInt32", "UInt64", "UInt128", "UInt256":
		return &textType{kind: textUInt}, nil
	case "Float32":
		return &textType{kind: textFloat32}, nil
	case "Float64":
		return &textType{kind: textFloat64}, nil
	case "Bool", "Boolean":
		return &textType{kind: textBool}, nil
	case "String", "FixedString", "Enum8", "Enum16", "Enum":
		return &textType{kind: textString}, nil
	case "Date", "Date32":
		return &textType{kind: textDate}, nil
	case "DateTime":
		return &textType{kind: textDateTime}, nil
	case "DateTime64":
		if len(args) < 1 {
			return nil, fmt.Errorf("type %s: missing precision", s)
		}
		p, err := strconv.Atoi(strings.TrimSpace(args[0]))
		if err != nil || p < 0 || p > 9 {
			return nil, fmt.Errorf("type %s: bad precision", s)
		}
		return &textType{kind: textDateTime64, precision: p}, nil
	case "UUID":
		return &textType{kind: textUUID}, nil
	case "IPv4":
		return &textType{kind: textIPv4}, nil
	case "IPv6":
		return &textType{kind: textIPv6}, nil
	case "Decimal", "Decimal32", "Decimal64", "Decimal128", "Decimal256":
		return &textType{kind: textDecimal}, nil
	case "LowCardinality":
		if err := arity(1); err != nil {
			return nil, err
		}
		return parseTextType(args[0])
	case "SimpleAggregateFunction":
		if err := arity(2); err != nil {
			return nil, err
		}
		return parseTextType(args[1])
	case "Nullable", "Array":
		if err := arity(1); err != nil {
			return nil, err
		}
		elem, err := parseTextType(args[0])
		if err != nil {
			return nil, err
		}
		kind := textArray
		if name == "Nullable" {
			kind = textNullable
		}
		return &textType{kind: kind, elems: []*textType{elem}}, nil
	case "Map":
		if err := arity(2); err != nil {
			return nil, err
		}
		k, err := parseTextType(args[0])
		if err != nil {
			return nil, err
		}
		v, err := parseTextType(args[1])
		if err != nil {
			return nil, err
		}
		return &textType{kind: textMap, elems: []*textType{k, v}}, nil
	case "Tuple":
		t := &textType{kind: textTuple}
		named := true
		names := make([]string, len(args))
		for i, a := range args {
			elemName, elemType := splitTupleElement(a)
			if elemName == "" {
				named = false
			}
			names[i] = elemName
			elem, err := parseTextType(elemType)
			if err != nil {
				return nil, err
			}
			t.elems = append(t.elems, elem)
		}
		if named {
			t.names = names
		}
		return t, nil
	}
	return nil, fmt.Errorf("type %s cannot be written as text", s)
}

// splitType splits "Name(a, b(c), 'd,e')" into its name and top-level parameters.
func splitType(s string) (name string, args []string, err error) {
	open := strings.IndexByte(s, '(')
	if open < 0 {
		return s, nil, nil
	}
	if !strings.HasSuffix(s, ")") {
		return "", nil, fmt.Errorf("type %s: unbalanced parentheses", s)
	}
	name, body := s[:open], s[open+1:len(s)-1]
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '`' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return "", nil, fmt.Errorf("type %s: unbalanced parentheses", s)
			}
		case c == ',' && depth == 0:
			args = append(args, strings.TrimSpace(body[start:i]))
			start = i + 1
		}
	}
	if depth != 0 || quote != 0 {
		return "", nil, fmt.Errorf("type %s: unbalanced parentheses or quotes", s)
	}
	if rest := strings.TrimSpace(body[start:]); rest != "" || len(args) > 0 {
		args = append(args, rest)
	}
	return name, args, nil
}

// splitTupleElement splits a named tuple element "name Type" (the name possibly backquoted); an
// unnamed element is all type, which has no top-level space before its first parenthesis.
func splitTupleElement(s string) (name, typ string) {
	if strings.HasPrefix(s, "`") {
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '`':
				return strings.ReplaceAll(s[1:i], "\\`", "`"), strings.TrimSpace(s[i+1:])
			}
		}
		return "", s
	}
	sp := strings.IndexByte(s, ' ')
	if sp < 0 {
		return "", s
	}
	if p := strings.IndexByte(s, '('); p >= 0 && p < sp {
		return "", s
	}
	return s[:sp], strings.TrimSpace(s[sp+1:])
}

// appendText appends v, a value of type t as clickhouse-go scans it, in ClickHouse's text form.
// nested is true inside arrays, maps and tuples, where strings, dates and the like are quoted.
func appendText(b []byte, t *textType, v any, nested bool) ([]byte, error) {
	if m, ok := v.(*orderedMap[any, any]); ok && t.kind == textMap {
		return appendOrderedMap(b, t, m)
	}
	v, isNull := deref(v)
	if isNull || t.kind == textNothing {
		if nested {
			return append(b, "NULL"...), nil
		}
		return append(b, `\N`...), nil
	}
	mismatch := func() ([]byte, error) {
		return b, fmt.Errorf("cannot write %T as ClickHouse %s", v, t.name)
	}
	switch t.kind {
	case textNullable:
		return appendText(b, t.elems[0], v, nested)
	case textInt, textUInt:
		switch x := v.(type) {
		case big.Int:
			return x.Append(b, 10), nil
		case int8, int16, int32, int64, int:
			return strconv.AppendInt(b, reflect.ValueOf(x).Int(), 10), nil
		case uint8, uint16, uint32, uint64, uint:
			return strconv.AppendUint(b, reflect.ValueOf(x).Uint(), 10), nil
		}
	case textFloat32:
		if x, ok := v.(float32); ok {
			return appendFloat(b, float64(x), 32), nil
		}
	case textFloat64:
		if x, ok := v.(float64); ok {
			return appendFloat(b, x, 64), nil
		}
	case textBool:
		if x, ok := v.(bool); ok {
			return strconv.AppendBool(b, x), nil
		}
	case textString:
		switch x := v.(type) {
		case string:
			return appendString(b, x, nested), nil
		case []byte:
			return appendString(b, string(x), nested), nil
		}
	case textDate, textDateTime, textDateTime64:
		if x, ok := v.(time.Time); ok {
			return appendQuotedIf(b, nested, func(b []byte) []byte { return appendTime(b, t, x) }), nil
		}
	case textUUID:
		if x, ok := v.(fmt.Stringer); ok {
			return appendQuotedIf(b, nested, func(b []byte) []byte { return append(b, x.String()...) }), nil
		}
	case textIPv4, textIPv6:
		if x, ok := v.(net.IP); ok {
			return appendQuotedIf(b, nested, func(b []byte) []byte { return appendIP(b, t.kind, x) }), nil
		}
	case textDecimal:
		if x, ok := v.(decimal.Decimal); ok {
			return append(b, x.String()...), nil
		}
	case textArray:
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return mismatch()
		}
		b = append(b, '[')
		for i := range rv.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendText(b, t.elems[0], rv.Index(i).Interface(), true); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case textMap:
		return appendGoMap(b, t, v)
	case textTuple:
		return appendTuple(b, t, v)
	}
	return mismatch()
}

// deref follows pointers, reporting a nil one (or nil itself) as NULL.
func deref(v any) (any, bool) {
	if v == nil {
		return nil, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer {
		return v, false
	}
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, true
		}
		rv = rv.Elem()
	}
	return rv.Interface(), false
}

func appendQuotedIf(b []byte, quoted bool, f func([]byte) []byte) []byte {
	if !quoted {
		return f(b)
	}
	b = append(b, '\'')
	b = f(b)
	return append(b, '\'')
}

// appendString writes s escaped as ClickHouse's TabSeparated and quoted forms do: both escape
// the same characters, including the single quote, and the quoted form adds the quotes.
func appendString(b []byte, s string, quoted bool) []byte {
	if quoted {
		b = append(b, '\'')
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case 0:
			b = append(b, `\0`...)
		case '\\':
			b = append(b, `\\`...)
		case '\'':
			b = append(b, `\'`...)
		default:
			b = append(b, c)
		}
	}
	if quoted {
		b = append(b, '\'')
	}
	return b
}

// appendFloat writes f as ClickHouse does: the shortest digits that read back as f, positional
// for decimal exponents from -6 to 20 and scientific ("1e21", "1.5e-7") outside, "inf", "-inf"
// and "nan" for the special values.
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	case f == 0:
		if math.Signbit(f) {
			return append(b, "-0"...)
		}
		return append(b, '0')
	}
	var scratch [32]byte
	sci := strconv.AppendFloat(scratch[:0], f, 'e', -1, bits) // [-]d[.ddd]e±xx
	if sci[0] == '-' {
		b = append(b, '-')
		sci = sci[1:]
	}
	e := slices.Index(sci, 'e')
	exp, _ := strconv.Atoi(string(sci[e+1:]))
	digits := make([]byte, 0, 20)
	for _, c := range sci[:e] {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	point := exp + 1 // digits before the decimal point
	switch {
	case point > 21 || point < -5:
		b = append(b, digits[0])
		if len(digits) > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		return strconv.AppendInt(b, int64(exp), 10)
	case point <= 0:
		b = append(b, "0."...)
		for range -point {
			b = append(b, '0')
		}
		return append(b, digits...)
	case point >= len(digits):
		b = append(b, digits...)
		for range point - len(digits) {
			b = append(b, '0')
		}
		return b
	default:
		b = append(b, digits[:point]...)
		b = append(b, '.')
		return append(b, digits[point:]...)
	}
}

func appendTime(b []byte, t *textType, x time.Time) []byte {
	switch t.kind {
	case textDate:
		return x.AppendFormat(b, "2006-01-02")
	case textDateTime:
		return x.AppendFormat(b, "2006-01-02 15:04:05")
	}
	b = x.AppendFormat(b, "2006-01-02 15:04:05")
	if t.precision == 0 {
		return b
	}
	frac := x.Nanosecond()
	for range 9 - t.precision {
		frac /= 10
	}
	b = append(b, '.')
	var digits [9]byte
	for i := t.precision - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(b, digits[:t.precision]...)
}

func appendIP(b []byte, kind textKind, ip net.IP) []byte {
	if kind == textIPv4 {
		if v4 := ip.To4(); v4 != nil {
			return append(b, v4.String()...)
		}
	}
	if a, ok := netip.AddrFromSlice(ip.To16()); ok {
		// netip, unlike net.IP, keeps an IPv4-mapped IPv6 address in the "::ffff:1.2.3.4" form
		// ClickHouse shows.
		return a.AppendTo(b)
	}
	return append(b, ip.String()...)
}

func appendOrderedMap(b []byte, t *textType, m *orderedMap[any, any]) ([]byte, error) {
	b = append(b, '{')
	for i := range m.keys {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendText(b, t.elems[0], m.keys[i], true); err != nil {
			return b, err
		}
		b = append(b, ':')
		if b, err = appendText(b, t.elems[1], m.values[i], true); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendGoMap writes a map the driver scanned into a Go map, which happens for maps inside
// arrays and tuples. Their original order is lost, so entries are written sorted by key text.
func appendGoMap(b []byte, t *textType, v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map {
		return b, fmt.Errorf("cannot write %T as a ClickHouse Map", v)
	}
	type entry struct{ key, value []byte }
	entries := make([]entry, 0, rv.Len())
	it := rv.MapRange()
	for it.Next() {
		k, err := appendText(nil, t.elems[0], it.Key().Interface(), true)
		if err != nil {
			return b, err
		}
		val, err := appendText(nil, t.elems[1], it.Value().Interface(), true)
		if err != nil {
			return b, err
		}
		entries = append(entries, entry{k, val})
	}
	slices.SortFunc(entries, func(x, y entry) int { return strings.Compare(string(x.key), string(y.key)) })
	b = append(b, '{')
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.key...)
		b = append(b, ':')
		b = append(b, e.value...)
	}
	return append(b, '}'), nil
}

func appendTuple(b []byte, t *textType, v any) ([]byte, error) {
	var elems []any
	switch x := v.(type) {
	case []any:
		elems = x
	case map[string]any:
		if len(t.names) != len(t.elems) {
			return b, fmt.Errorf("cannot write a map as an unnamed ClickHouse Tuple")
		}
		elems = make([]any, len(t.names))
		for i, n := range t.names {
			elems[i] = x[n]
		}
	default:
		return b, fmt.Errorf("cannot write %T as a ClickHouse Tuple", v)
	}
	if len(elems) != len(t.elems) {
		return b, fmt.Errorf("tuple has %d elements, its type %d", len(elems), len(t.elems))
	}
	b = append(b, '(')
	for i, e := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendText(b, t.elems[i], e, true); err != nil {
			return b, err
		}
	}
	return append(b, ')'), nil
}

// resultColumn is one column of a query result: its name, type and the driver's scan type.
type resultColumn struct {
	name     string
	chType   string
	scanType reflect.Type
}

// rowSource is the part of clickhouse-go's driver.Rows that writeTSV reads.
type rowSource interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// writeTSV writes every row of rows to w as TabSeparated without a header.
func writeTSV(w *bufio.Writer, cols []resultColumn, rows rowSource) error {
	types := make([]*textType, len(cols))
	dests := make([]any, len(cols))
	maps := make([]*orderedMap[any, any], len(cols))
	for i, c := range cols {
		t, err := parseTextType(c.chType)
		if err != nil {
			return &UnsupportedTypeError{Column: c.name, Type: c.chType, Err: err}
		}
		types[i] = t
		switch {
		case t.kind == textMap:
			// Scanning into an IterableOrderedMap keeps the entries' order; a Go map would not.
			maps[i] = &orderedMap[any, any]{}
			dests[i] = maps[i]
		case t.kind == textTuple:
			// A slice keeps a named tuple's element order too; the default map would not.
			dests[i] = new([]any)
		case c.scanType == nil:
			return &UnsupportedTypeError{Column: c.name, Type: c.chType, Err: fmt.Errorf("driver has no Go type for %s", c.chType)}
		default:
			dests[i] = reflect.New(c.scanType).Interface()
		}
	}
	var line []byte
	for rows.Next() {
		for _, m := range maps {
			if m != nil {
				m.reset()
			}
		}
		if err := rows.Scan(dests...); err != nil {
			return fmt.Errorf("scan row: %w", err)
		}
		line = line[:0]
		for i, d := range dests {
			if i > 0 {
				line = append(line, '\t')
			}
			var err error
			if line, err = appendText(line, types[i], d, false); err != nil {
				return fmt.Errorf("column %s: %w", cols[i].name, err)
			}
		}
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
	}
	return rows.Err()
}
