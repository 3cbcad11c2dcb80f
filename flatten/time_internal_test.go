package flatten

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/schema"
)

// FuzzParseTime round-trips instants through the ISO 8601 forms the CRM writes: whatever the
// zone and precision, parsing what time.Format wrote gives the same millisecond back.
func FuzzParseTime(f *testing.F) {
	f.Add(int64(1558439127), int64(628e6), int16(330), uint8(0))
	f.Add(int64(-2208988800), int64(0), int16(0), uint8(1))
	f.Add(int64(10413791999), int64(999999999), int16(-720), uint8(2))
	f.Add(int64(951782400), int64(5e8), int16(-59), uint8(3))
	layouts := []string{
		"2006-01-02T15:04:05.000Z07:00",
		"2006-01-02T15:04:05Z07:00",
		"2006-01-02 15:04:05.999999-0700",
		"2006-01-02T15:04:05.000000000 -07:00",
	}
	f.Fuzz(func(t *testing.T, sec, nsec int64, offsetMin int16, layout uint8) {
		zone := time.FixedZone("", int(offsetMin%(24*60))*60)
		in := time.Unix(sec, nsec%1e9).In(zone)
		s := in.Format(layouts[int(layout)%len(layouts)])
		got := parseTime(s)
		ms := in.UnixMilli()
		if int(layout)%len(layouts) == 1 { // no fraction written
			ms = in.Unix() * 1000
		}
		var want schema.Opt[schema.Millis]
		if in.Year() >= 1900 && in.Year() <= 2299 && ms >= minMillis && ms <= maxMillis {
			want = schema.Some(schema.Millis(ms))
		}
		if got != want {
			t.Fatalf("parseTime(%q) = %+v, want %+v", s, got, want)
		}
	})
}

func TestEpochMillisThreshold(t *testing.T) {
	null := schema.Opt[schema.Millis]{}
	tests := []struct {
		in   string
		want schema.Opt[schema.Millis]
	}{
		{"1558089973", schema.Some[schema.Millis](1558089973000)},    // seconds
		{"1558089973628", schema.Some[schema.Millis](1558089973628)}, // milliseconds
		{"100000000001", schema.Some[schema.Millis](100000000001)},   // just above 1e11: milliseconds, March 1973
		{"100000000000", null}, // 1e11 itself is seconds: year 5138, beyond 2299
		{"10413791999", schema.Some[schema.Millis](10413791999000)}, // seconds, the last of 2299
		{"10413792000", null},                                          // seconds, 2300
		{"-1", schema.Some[schema.Millis](-1000)},                      // a second before the epoch
		{"1558089973.0005", schema.Some[schema.Millis](1558089973001)}, // rounded to the nearest millisecond
		{"1558089973628.4", schema.Some[schema.Millis](1558089973628)}, // fractional milliseconds
		{"1e10", schema.Some[schema.Millis](1e13)},                     // exponent form, seconds
		{"9223372036854775807", null},                                  // out of range, no overflow
		{"-9223372036854775808", null},
		{"1e400", null},
	}
	for _, tt := range tests {
		if got := epochMillis(tt.in, hasFraction(tt.in)); got != tt.want {
			t.Errorf("epochMillis(%s) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// TestCompactIsValidJSON checks that whitespace removal never touches string content.
func TestCompactIsValidJSON(t *testing.T) {
	for _, in := range []string{
		`{ "a" : [ 1 , 2 ] , "b" : "x  y\" z" }`,
		`[ "\\", " ", { } , [ ] ]`,
		"{\n\t\"k\":\r\n \"v \\\\\" }",
	} {
		var s scanner
		if err := s.scan([]byte(in)); err != nil {
			t.Fatal(err)
		}
		d := doc{b: []byte(in), tape: s.tape}
		got := d.compact(0)
		var a, b any
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(got), &b); err != nil {
			t.Fatalf("compact(%q) = %q: %v", in, got, err)
		}
		if ja, jb := mustJSON(t, a), mustJSON(t, b); ja != jb {
			t.Errorf("compact(%q) = %q changed the value", in, got)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIntegerParsingBoundaries(t *testing.T) {
	uints := map[string]schema.Opt[uint64]{
		"0": schema.Some[uint64](0), "9999999999999999999": schema.Some[uint64](9999999999999999999),
		"18446744073709551615": schema.Some[uint64](18446744073709551615), "18446744073709551616": {},
		"-1": {}, "-0": {},
	}
	for s, want := range uints {
		if got := parseUint(s, false); got != want {
			t.Errorf("parseUint(%s) = %+v, want %+v", s, got, want)
		}
	}
	ints := map[string]schema.Opt[int64]{
		"-1": schema.Some[int64](-1), "999999999999999999": schema.Some[int64](999999999999999999),
		"9223372036854775807": schema.Some[int64](9223372036854775807), "-9223372036854775808": schema.Some[int64](-9223372036854775808),
		"9223372036854775808": {},
	}
	for s, want := range ints {
		v, ok := parseInt(s)
		if got := (schema.Opt[int64]{V: v, Valid: ok}); ok != want.Valid || ok && got != want {
			t.Errorf("parseInt(%s) = %d, %v; want %+v", s, v, ok, want)
		}
	}
}

// FuzzStringsDecodeAsEncodingJSON checks the scanner's string handling against encoding/json:
// any string encoding/json writes, with or without escaping HTML and non-ASCII, reads back the
// same.
func FuzzStringsDecodeAsEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "plain", `q\`, `"\"`, "é😀\u2028<&>", "\x00\x1f\x7f", "\xff\xfe", "\\u0022"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		body, err := json.Marshal(s)
		if err != nil {
			t.Skip()
		}
		var want string
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatal(err)
		}
		var sc scanner
		if err := sc.scan(body); err != nil {
			t.Fatalf("scan %s: %v", body, err)
		}
		d := doc{b: body, tape: sc.tape}
		if got := d.str(0); got != want {
			t.Fatalf("str(%s) = %q, want %q", body, got, want)
		}
	})
}
