package flatten

import (
	"encoding/json"
	"testing"

	"github.com/leadhouse/leadhouse/schema"
)

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
