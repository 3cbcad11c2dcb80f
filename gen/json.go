package gen

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// tsFormat is one of the ways the CRM writes an instant; one payload can mix several.
type tsFormat uint8

const (
	tsInt    tsFormat = iota // 1558080407
	tsFloat                  // 1558089973.0 (Python float seconds, as in notes)
	tsMillis                 // 1558089973628
	tsISO                    // "2019-05-21T17:15:27.628+05:30" (as in booking_docs)
)

// ist is India Standard Time, the only offset the CRM writes.
const istOffset = 5*3600 + 30*60

const hexDigits = "0123456789abcdef"

// appendEscaped appends s as JSON string content (no quotes). With ascii set every
// non-ASCII rune becomes a \u escape (a surrogate pair above the BMP), the way
// Python's json.dumps writes by default.
func appendEscaped(dst []byte, s string, ascii bool) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf && !ascii {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
			i++
		case c == '\n':
			dst = append(dst, '\\', 'n')
			i++
		case c == '\r':
			dst = append(dst, '\\', 'r')
			i++
		case c == '\t':
			dst = append(dst, '\\', 't')
			i++
		case c < 0x20:
			dst = appendU(dst, rune(c))
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				dst = appendU(appendU(dst, r1), r2)
			} else {
				dst = appendU(dst, r)
			}
			i += size
		}
		start = i
	}
	return append(dst, s[start:]...)
}

func appendU(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// appendTime appends an instant (epoch seconds plus milliseconds) in format f.
func appendTime(dst []byte, sec int64, ms int, f tsFormat) []byte {
	switch f {
	case tsFloat:
		dst = strconv.AppendInt(dst, sec, 10)
		if ms == 0 {
			return append(dst, '.', '0')
		}
		dst = append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
		for dst[len(dst)-1] == '0' {
			dst = dst[:len(dst)-1]
		}
		return dst
	case tsMillis:
		return strconv.AppendInt(dst, sec*1000+int64(ms), 10)
	case tsISO:
		dst = append(dst, '"')
		dst = appendISO(dst, sec, ms, ms != 0)
		return append(dst, '"')
	default:
		return strconv.AppendInt(dst, sec, 10)
	}
}

// appendISO writes sec as ISO 8601 local time at +05:30 without the time package,
// which keeps the hot path free of allocations and location lookups.
func appendISO(dst []byte, sec int64, ms int, frac bool) []byte {
	t := sec + istOffset
	days := t / 86400
	rem := t % 86400
	if rem < 0 {
		rem += 86400
		days--
	}
	y, m, d := civil(days)
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, int(rem/3600))
	dst = append(dst, ':')
	dst = append2(dst, int(rem/60%60))
	dst = append(dst, ':')
	dst = append2(dst, int(rem%60))
	if frac {
		dst = append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	}
	return append(dst, "+05:30"...)
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days_from_civil inverse).
func civil(days int64) (year, month, day int) {
	z := days + 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

func append4(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}
