package flatten

import (
	"math"
	"strconv"
	"strings"

	"github.com/leadhouse/leadhouse/schema"
)

// Instants the CRM sends, and how each becomes UTC milliseconds:
//
//   - a JSON number or a string holding one, integer or fractional: seconds since the Unix epoch
//     (1558089973, 1558089973.0), unless its magnitude exceeds 1e11, which makes it milliseconds
//     (1558089973628). 1e11 seconds lies in the year 5138, beyond anything DateTime64(3) keeps,
//     while 1e11 milliseconds is March 1973, before the CRM existed, so the two never overlap;
//   - ISO 8601 text: "2019-05-21T17:15:27.628+05:30", a space instead of the T, seconds and
//     fraction optional (fraction truncated to milliseconds), zone Z, ±hh:mm, ±hhmm or ±hh,
//     optionally after one space, or a bare date;
//   - ISO 8601 text without a zone ("2019-05-21 17:15:27") is India Standard Time (+05:30): the
//     CRM is Indian and every zoned instant it writes carries +05:30, so its local clock is IST.
//
// Anything else, and any instant outside 1900-01-01..2262-04-11 23:47:16.854 UTC, is NULL; the raw
// body keeps what was sent. DateTime64(3) reaches 2299, but clickhouse-go sends times as int64
// nanoseconds, which end in 2262: a later time would be stored wrapped around on a server.

const (
	istOffsetSec = 5*3600 + 30*60
	msThreshold  = 1e11
	minMillis    = -2208988800000 // 1900-01-01T00:00:00Z
	maxMillis    = 9223372036854  // 2262-04-11T23:47:16.854Z, the last time.Time.UnixNano can hold
)

func inRange(ms int64) schema.Opt[schema.Millis] {
	if ms < minMillis || ms > maxMillis {
		return schema.Opt[schema.Millis]{}
	}
	return schema.Some(schema.Millis(ms))
}

// epochMillis converts a JSON number's text (frac: with a fraction or exponent), seconds or
// milliseconds, to milliseconds.
func epochMillis(s string, frac bool) schema.Opt[schema.Millis] {
	if !frac {
		v, ok := parseInt(s)
		if !ok {
			return schema.Opt[schema.Millis]{}
		}
		if v > msThreshold || v < -msThreshold {
			return inRange(v)
		}
		return inRange(v * 1000)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return schema.Opt[schema.Millis]{}
	}
	if math.Abs(f) <= msThreshold {
		f *= 1000
	}
	if f < minMillis || f > maxMillis {
		return schema.Opt[schema.Millis]{}
	}
	return inRange(int64(math.Round(f)))
}

// parseTime reads an instant sent as a string.
func parseTime(s string) schema.Opt[schema.Millis] {
	s = strings.TrimSpace(s)
	if isNumber(s) {
		return epochMillis(s, hasFraction(s))
	}
	return parseISO(s)
}

func parseISO(s string) schema.Opt[schema.Millis] {
	var none schema.Opt[schema.Millis]
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return none
	}
	year, ok1 := digits(s, 0, 4)
	month, ok2 := digits(s, 5, 2)
	day, ok3 := digits(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || year < 1900 || year > 2299 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return none
	}
	var hour, minute, sec, milli int
	offset := istOffsetSec
	i := 10
	if i < len(s) && (s[i] == 'T' || s[i] == 't' || s[i] == ' ') {
		var ok bool
		if hour, ok = digits(s, i+1, 2); !ok || i+3 >= len(s) || s[i+3] != ':' || hour > 23 {
			return none
		}
		if minute, ok = digits(s, i+4, 2); !ok || minute > 59 {
			return none
		}
		i += 6
		if i < len(s) && s[i] == ':' {
			if sec, ok = digits(s, i+1, 2); !ok || sec > 59 {
				return none
			}
			i += 3
			if i < len(s) && (s[i] == '.' || s[i] == ',') {
				i++
				start := i
				for i < len(s) && isDigit(s[i]) {
					if i-start < 3 {
						milli = milli*10 + int(s[i]-'0')
					}
					i++
				}
				if i == start {
					return none
				}
				for n := i - start; n < 3; n++ {
					milli *= 10
				}
			}
		}
		if i < len(s) && s[i] == ' ' && i+1 < len(s) && (s[i+1] == '+' || s[i+1] == '-') {
			i++
		}
		if i < len(s) {
			if offset, ok = zoneOffset(s[i:]); !ok {
				return none
			}
			i = len(s)
		}
	}
	if i != len(s) {
		return none
	}
	secs := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec) - int64(offset)
	return inRange(secs*1000 + int64(milli))
}

// zoneOffset reads Z, ±hh:mm, ±hhmm or ±hh as seconds east of UTC.
func zoneOffset(z string) (int, bool) {
	if z == "Z" || z == "z" {
		return 0, true
	}
	if len(z) < 3 || z[0] != '+' && z[0] != '-' {
		return 0, false
	}
	h, ok := digits(z, 1, 2)
	if !ok || h > 23 {
		return 0, false
	}
	m := 0
	switch rest := z[3:]; {
	case rest == "":
	case len(rest) == 3 && rest[0] == ':':
		m, ok = digits(rest, 1, 2)
	case len(rest) == 2:
		m, ok = digits(rest, 0, 2)
	default:
		ok = false
	}
	if !ok || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if z[0] == '-' {
		off = -off
	}
	return off, true
}

func digits(s string, at, n int) (int, bool) {
	if at+n > len(s) {
		return 0, false
	}
	v := 0
	for k := at; k < at+n; k++ {
		if !isDigit(s[k]) {
			return 0, false
		}
		v = v*10 + int(s[k]-'0')
	}
	return v, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
// algorithm), so parsing needs neither time.Parse nor its allocations.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y >= 1899: callers keep to DateTime64's years
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}
