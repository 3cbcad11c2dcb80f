package flatten

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/leadhouse/leadhouse/schema"
)

// doc reads values off a scanned body. Strings it returns alias the body unless they had to be
// rebuilt (escapes, whitespace removal).
type doc struct {
	b    []byte
	tape []node
}

// alias returns b[start:end] as a string sharing b's memory.
func (d *doc) alias(start, end uint32) string {
	if end <= start {
		return ""
	}
	return unsafe.String(&d.b[start], int(end-start))
}

func (d *doc) kind(i int) kind { return d.tape[i].kind }

// end is the tape index just past the value at i. An object's members are walked as
// for k := obj + 1; k < d.end(obj); k = d.step(k), with k the key and k+1 the value; an array's
// elements as for e := arr + 1; e < d.end(arr); e = d.end(e).
func (d *doc) end(i int) int { return int(d.tape[i].next) }

// step is the index of the key after the member whose key is at k.
func (d *doc) step(k int) int { return int(d.tape[k+1].next) }

// str returns a string node's content, unescaped.
func (d *doc) str(i int) string {
	n := &d.tape[i]
	if !n.flag {
		return d.alias(n.start, n.end)
	}
	return unescape(d.b[n.start:n.end])
}

// text is how a value fills a String column: strings unescaped, numbers and booleans as their
// JSON text (a phone sent as a number keeps its digits), null as "", containers as compact JSON.
func (d *doc) text(i int) string {
	n := &d.tape[i]
	switch n.kind {
	case kString:
		return d.str(i)
	case kNumber:
		return d.alias(n.start, n.end)
	case kTrue:
		return "true"
	case kFalse:
		return "false"
	case kObject, kArray:
		return d.compact(i)
	}
	return ""
}

// jsonText is how a value fills a column documented as JSON text: compact JSON, "" for null.
func (d *doc) jsonText(i int) string {
	n := &d.tape[i]
	switch n.kind {
	case kNull:
		return ""
	case kString:
		return d.alias(n.start-1, n.end+1)
	case kObject, kArray:
		return d.compact(i)
	}
	return d.alias(n.start, n.end)
}

// mapText is how a value fills a Map(String, String) entry: strings as-is, anything else as its
// compact JSON text, so a value's type can still be told apart.
func (d *doc) mapText(i int) string {
	n := &d.tape[i]
	switch n.kind {
	case kString:
		return d.str(i)
	case kNull:
		return "null"
	}
	return d.jsonText(i)
}

// compact returns a container's JSON text without insignificant whitespace. It allocates only
// when there is whitespace to remove.
func (d *doc) compact(i int) string {
	n := &d.tape[i]
	if n.next == uint32(i)+1 {
		if n.kind == kObject {
			return "{}"
		}
		return "[]"
	}
	src := d.b[n.start:n.end]
	var dst []byte
	inString, done := false, 0
	for k := 0; k < len(src); k++ {
		c := src[k]
		if inString {
			switch c {
			case '\\':
				k++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case ' ', '\n', '\r', '\t':
			if dst == nil {
				dst = make([]byte, 0, len(src))
			}
			dst = append(dst, src[done:k]...)
			done = k + 1
		}
	}
	if dst == nil {
		return d.alias(n.start, n.end)
	}
	dst = append(dst, src[done:]...)
	return unsafe.String(unsafe.SliceData(dst), len(dst))
}

// numText returns the text of a number, or of a string holding one (spaces trimmed), when it is
// a JSON number: "5" and 5 mean the same, " 1e3" does too, "5 lakh" and "0x10" mean nothing. frac
// reports a fraction or exponent.
func (d *doc) numText(i int) (s string, frac, ok bool) {
	n := &d.tape[i]
	switch n.kind {
	case kNumber:
		return d.alias(n.start, n.end), n.flag, true
	case kString:
		s := strings.TrimSpace(d.str(i))
		return s, hasFraction(s), isNumber(s)
	}
	return "", false, false
}

func (d *doc) u64(i int) schema.Opt[uint64] {
	s, frac, ok := d.numText(i)
	if !ok {
		return schema.Opt[uint64]{}
	}
	return parseUint(s, frac)
}

func (d *doc) u32(i int) schema.Opt[uint32] {
	v := d.u64(i)
	if !v.Valid || v.V > math.MaxUint32 {
		return schema.Opt[uint32]{}
	}
	return schema.Some(uint32(v.V))
}

func (d *doc) i64(i int) schema.Opt[int64] {
	s, frac, ok := d.numText(i)
	if !ok {
		return schema.Opt[int64]{}
	}
	if !frac {
		if v, ok := parseInt(s); ok {
			return schema.Some(v)
		}
		return schema.Opt[int64]{}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return schema.Opt[int64]{}
	}
	return schema.Some(int64(f))
}

func (d *doc) f64(i int) schema.Opt[float64] {
	s, _, ok := d.numText(i)
	if !ok {
		return schema.Opt[float64]{}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return schema.Opt[float64]{}
	}
	return schema.Some(f)
}

// boolean accepts JSON booleans, 0 and 1, and those four spelled as strings.
func (d *doc) boolean(i int) schema.Opt[bool] {
	n := &d.tape[i]
	var s string
	switch n.kind {
	case kTrue:
		return schema.Some(true)
	case kFalse:
		return schema.Some(false)
	case kNumber:
		s = d.alias(n.start, n.end)
	case kString:
		s = strings.TrimSpace(d.str(i))
	}
	switch {
	case s == "1" || strings.EqualFold(s, "true"):
		return schema.Some(true)
	case s == "0" || strings.EqualFold(s, "false"):
		return schema.Some(false)
	}
	return schema.Opt[bool]{}
}

// time reads an instant; see parseTime for the accepted forms. Anything else is NULL.
func (d *doc) time(i int) schema.Opt[schema.Millis] {
	n := &d.tape[i]
	switch n.kind {
	case kNumber:
		return epochMillis(d.alias(n.start, n.end), n.flag)
	case kString:
		return parseTime(d.str(i))
	}
	return schema.Opt[schema.Millis]{}
}

// parseUint reads a JSON number (frac: with a fraction or exponent) as a non-negative integer;
// 1046.0 is 1046, 10.5 is nothing.
func parseUint(s string, frac bool) schema.Opt[uint64] {
	if !frac {
		if len(s) > 0 && len(s) <= 19 && s[0] != '-' { // 19 digits cannot overflow
			var v uint64
			for k := 0; k < len(s); k++ {
				v = v*10 + uint64(s[k]-'0')
			}
			return schema.Some(v)
		}
		if v, err := strconv.ParseUint(s, 10, 64); err == nil {
			return schema.Some(v)
		}
		return schema.Opt[uint64]{}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f >= math.MaxUint64 {
		return schema.Opt[uint64]{}
	}
	return schema.Some(uint64(f))
}

// parseInt reads a JSON integer (the caller has checked its syntax: optional '-', digits).
func parseInt(s string) (int64, bool) {
	digits := strings.TrimPrefix(s, "-")
	if len(digits) == 0 || len(digits) > 18 { // 18 digits cannot overflow
		v, err := strconv.ParseInt(s, 10, 64)
		return v, err == nil
	}
	var v int64
	for k := 0; k < len(digits); k++ {
		v = v*10 + int64(digits[k]-'0')
	}
	if len(digits) < len(s) {
		v = -v
	}
	return v, true
}

func hasFraction(s string) bool {
	for k := 0; k < len(s); k++ {
		if c := s[k]; c == '.' || c == 'e' || c == 'E' {
			return true
		}
	}
	return false
}

// isNumber reports whether s is a number by JSON's grammar.
func isNumber(s string) bool {
	if s == "" {
		return false
	}
	end, _, err := scanNumber(unsafe.Slice(unsafe.StringData(s), len(s)), 0)
	return err == nil && end == len(s)
}

// unescape decodes a JSON string's content. The scanner has checked every escape; a lone or
// mismatched UTF-16 surrogate becomes U+FFFD, as in encoding/json.
func unescape(src []byte) string {
	dst := make([]byte, 0, len(src))
	for k := 0; k < len(src); k++ {
		c := src[k]
		if c != '\\' || k+1 >= len(src) {
			dst = append(dst, c)
			continue
		}
		k++
		switch src[k] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(src, k+1)
			if !ok {
				dst = append(dst, '\\', 'u')
				continue
			}
			k += 4
			if utf16.IsSurrogate(r) {
				if k+6 < len(src) && src[k+1] == '\\' && src[k+2] == 'u' {
					if r2, ok := hex4(src, k+3); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							dst = utf8.AppendRune(dst, dec)
							k += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, src[k])
		}
	}
	return unsafe.String(unsafe.SliceData(dst), len(dst))
}

func hex4(b []byte, k int) (rune, bool) {
	if k+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[k : k+4] {
		h := unhex(c)
		if h < 0 {
			return 0, false
		}
		r = r<<4 | rune(h)
	}
	return r, true
}
