package clickhouse

import (
	"bufio"
	"bytes"
	"errors"
	"math"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/leadhouse/leadhouse/sink/chdb/chdbtest"
)

func ptr[T any](v T) *T { return &v }

// TestTextFormatsValuesAsClickHouse checks each type's values, as clickhouse-go scans them, are
// written as ClickHouse's TabSeparated output writes them. TestTextMatchesEngine checks the
// same rules against the engine itself.
func TestTextFormatsValuesAsClickHouse(t *testing.T) {
	at := time.Date(2019, 5, 17, 8, 35, 7, 123456789, time.UTC)
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		typ  string
		v    any
		want string
	}{
		{"String", "plain", "plain"},
		{"String", "", ""},
		{"String", "tab\tnl\ncr\rbs\\q'dq\"", `tab\tnl\ncr\rbs\\q\'dq"`},
		{"String", "nul\x00 bell\b ff\f", `nul\0 bell\b ff\f`},
		{"String", "ユニコード 🏠", "ユニコード 🏠"},
		{"LowCardinality(String)", ptr("x\ty"), `x\ty`},
		{"Nullable(String)", (*string)(nil), `\N`},
		{"Nullable(String)", ptr(ptr("a")), "a"},
		{"LowCardinality(Nullable(String))", ptr((*string)(nil)), `\N`},
		{"FixedString(4)", "ab\x00\x00", `ab\0\0`},
		{"Enum8('a' = 1, 'b\\'x' = 2)", "b'x", `b\'x`},
		{"UInt8", uint8(255), "255"},
		{"UInt64", uint64(math.MaxUint64), "18446744073709551615"},
		{"Int64", int64(math.MinInt64), "-9223372036854775808"},
		{"Nullable(Int64)", ptr(int64(-42)), "-42"},
		{"Int128", big.NewInt(-5), "-5"},
		{"UInt256", ptr(big.NewInt(7)), "7"},
		{"Float64", 0.1, "0.1"},
		{"Float64", 100.0, "100"},
		{"Float64", 1e20, "100000000000000000000"},
		{"Float64", 1e21, "1e21"},
		{"Float64", 1.5e300, "1.5e300"},
		{"Float64", 1e-5, "0.00001"},
		{"Float64", 1e-7, "1e-7"},
		{"Float64", -2.5e-8, "-2.5e-8"},
		{"Float64", 123456789.123, "123456789.123"},
		{"Float64", math.Copysign(0, -1), "-0"},
		{"Float64", 0.0, "0"},
		{"Float64", math.Inf(1), "inf"},
		{"Float64", math.Inf(-1), "-inf"},
		{"Float64", math.NaN(), "nan"},
		{"Float32", float32(0.1), "0.1"},
		{"Float32", float32(1e20), "100000000000000000000"},
		{"Bool", true, "true"},
		{"Nullable(Bool)", ptr(false), "false"},
		{"Date", time.Date(2019, 5, 17, 0, 0, 0, 0, time.UTC), "2019-05-17"},
		{"Date32", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), "1900-01-01"},
		{"DateTime('UTC')", at, "2019-05-17 08:35:07"},
		{"DateTime('Asia/Kolkata')", at.In(kolkata), "2019-05-17 14:05:07"},
		{"DateTime64(3, 'UTC')", at.Truncate(time.Second), "2019-05-17 08:35:07.000"},
		{"DateTime64(3, 'UTC')", at, "2019-05-17 08:35:07.123"},
		{"DateTime64(0, 'UTC')", at, "2019-05-17 08:35:07"},
		{"DateTime64(6, 'UTC')", at, "2019-05-17 08:35:07.123456"},
		{"DateTime64(9, 'UTC')", at, "2019-05-17 08:35:07.123456789"},
		{"DateTime64(3, 'UTC')", time.UnixMilli(-1).UTC(), "1969-12-31 23:59:59.999"},
		{"Nullable(DateTime64(3, 'UTC'))", (*time.Time)(nil), `\N`},
		{"Nullable(DateTime64(3, 'UTC'))", ptr(at), "2019-05-17 08:35:07.123"},
		{"UUID", uuid.MustParse("61f0c404-5cb3-11e7-907b-a6006ad3dba0"), "61f0c404-5cb3-11e7-907b-a6006ad3dba0"},
		{"IPv4", net.ParseIP("1.2.3.4"), "1.2.3.4"},
		{"IPv6", net.ParseIP("::ffff:1.2.3.4"), "::ffff:1.2.3.4"},
		{"IPv6", net.ParseIP("2001:db8::1"), "2001:db8::1"},
		{"Decimal(9, 3)", decimal.RequireFromString("1.500"), "1.5"},
		{"Decimal(38, 2)", decimal.RequireFromString("12345.00"), "12345"},
		{"Decimal(18, 5)", decimal.RequireFromString("-0.001"), "-0.001"},
		{"Nullable(Nothing)", ptr((*any)(nil)), `\N`},
		{"Array(String)", []string{"a'b", "c\td", ""}, `['a\'b','c\td','']`},
		{"Array(String)", []string{}, "[]"},
		{"Array(LowCardinality(String))", []string{"x"}, "['x']"},
		{"Array(Nullable(UInt8))", []*uint8{ptr(uint8(1)), nil}, "[1,NULL]"},
		{"Array(Array(UInt8))", [][]uint8{{1, 2}, {}}, "[[1,2],[]]"},
		{"Array(Bool)", []bool{true, false}, "[true,false]"},
		{"Array(Date)", []time.Time{time.Date(2019, 5, 17, 0, 0, 0, 0, time.UTC)}, "['2019-05-17']"},
		{"Array(DateTime64(3, 'UTC'))", []time.Time{at}, "['2019-05-17 08:35:07.123']"},
		{"Array(Float64)", []float64{1.5, math.NaN(), math.Inf(1), 1e21}, "[1.5,nan,inf,1e21]"},
		{"Array(UUID)", []uuid.UUID{uuid.MustParse("61f0c404-5cb3-11e7-907b-a6006ad3dba0")}, "['61f0c404-5cb3-11e7-907b-a6006ad3dba0']"},
		{"Array(Decimal(9, 1))", []decimal.Decimal{decimal.RequireFromString("2.0")}, "[2]"},
		{"Map(String, String)", &orderedMap[any, any]{keys: []any{"b", "a'"}, values: []any{"1\t", ""}}, `{'b':'1\t','a\'':''}`},
		{"Map(String, String)", &orderedMap[any, any]{}, "{}"},
		{"Map(String, Nullable(UInt8))", &orderedMap[any, any]{keys: []any{"k"}, values: []any{(*uint8)(nil)}}, "{'k':NULL}"},
		{"Map(String, Array(UInt8))", &orderedMap[any, any]{keys: []any{"a"}, values: []any{[]uint8{1, 2}}}, "{'a':[1,2]}"},
		{"Array(Map(String, UInt8))", []map[string]uint8{{"b": 2, "a": 1}}, "[{'a':1,'b':2}]"},
		{"Tuple(UInt8, String, Nullable(Nothing))", ptr([]any{uint8(1), "a", nil}), "(1,'a',NULL)"},
		{"Tuple(a UInt8, b String)", []any{uint8(1), "x"}, "(1,'x')"},
		{"Array(Tuple(a UInt8, `b c` String))", []map[string]any{{"b c": "x", "a": uint8(1)}}, "[(1,'x')]"},
		{"SimpleAggregateFunction(sum, UInt64)", uint64(3), "3"},
	}
	for _, c := range cases {
		typ, err := parseTextType(c.typ)
		if err != nil {
			t.Errorf("parse %s: %v", c.typ, err)
			continue
		}
		got, err := appendText(nil, typ, c.v, false)
		if err != nil {
			t.Errorf("%s %#v: %v", c.typ, c.v, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%s %#v:\n got  %s\n want %s", c.typ, c.v, got, c.want)
		}
	}
}

func TestTextRejectsUnsupportedTypes(t *testing.T) {
	for _, typ := range []string{"JSON", "Dynamic", "Variant(String, UInt64)", "Time64(3)", "Array(JSON)", "Map(String, Dynamic)", "Array(String", "Nullable(String, String)"} {
		if _, err := parseTextType(typ); err == nil {
			t.Errorf("parse %s: no error", typ)
		}
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	err := writeTSV(w, []resultColumn{{name: "j", chType: "JSON"}}, &blockRows{})
	var unsupported *UnsupportedTypeError
	if !errors.As(err, &unsupported) || unsupported.Column != "j" {
		t.Fatalf("error %v, want an UnsupportedTypeError for column j", err)
	}
}

// TestTextMatchesEngine runs queries on the embedded engine twice, once for its own
// TabSeparated output and once in Native format decoded by clickhouse-go and written by Query's
// writer, and requires the same bytes. The float queries cover tens of thousands of arbitrary
// bit patterns, including subnormals, infinities and NaNs.
//
// Two cases are left to TestTextFormatsValuesAsClickHouse: the engine's Native output drops a
// DateTime's time zone from the type name (a server's result blocks keep it), and a map inside
// an array comes out sorted by key (see Store.Query).
func TestTextMatchesEngine(t *testing.T) {
	eng := chdbtest.Engine(t)
	queries := []string{
		`SELECT 'a''b' AS s, 'tab\there\nnl\\bs' AS t, 'z\0z\b\f\r' AS u, 'ユニコード 🏠' AS v, '' AS e`,
		`SELECT toFixedString('ab', 4) AS f, CAST('b''x' AS Enum8('a' = 1, 'b''x' = 2)) AS e, toLowCardinality('x') AS l, CAST(NULL AS Nullable(String)) AS n, toLowCardinality(toNullable('y')) AS ln`,
		`SELECT toUInt8(255) AS a, toInt8(-128) AS b, toUInt64(18446744073709551615) AS c, toInt64(-9223372036854775808) AS d, toInt128(-5) AS e, toUInt256(7) AS f, toUInt16(65535) AS g, toInt32(-7) AS h`,
		`SELECT 0.1 AS a, 1e20 AS b, 1e21 AS c, 1e-7 AS d, 1e-6 AS e, 1e-5 AS f, -0. AS g, 1/0 AS h, -1/0 AS i, 0/0 AS j, 1.5e300 AS k, toFloat32(0.1) AS l, toFloat32(1e20) AS m, 100. AS n, 5e-324 AS o`,
		`SELECT true AS a, false AS b, toNullable(true) AS c, [true, false] AS d`,
		`SELECT toDecimal32(1.5, 3) AS a, toDecimal64(-0.001, 5) AS b, toDecimal128(12345, 2) AS c, [toDecimal32(2, 1)] AS d, toDecimal256('-123456789012345678901234567890.5', 10) AS e`,
		`SELECT toDate('2019-05-17') AS a, toDate32('1900-01-01') AS b, toDateTime('2019-05-17 08:35:07', 'UTC') AS c, toDateTime64('2019-05-17 08:35:07', 0, 'Asia/Kolkata') AS d, toDateTime64('2019-05-17 08:35:07.5', 3, 'UTC') AS e, toDateTime64('2019-05-17 08:35:07', 0, 'UTC') AS f, toDateTime64('2019-05-17 08:35:07.123456', 6, 'UTC') AS g, toDateTime64('1900-01-01 00:00:00.001', 3, 'UTC') AS h, toDateTime64('1969-12-31 23:59:59.999', 3, 'UTC') AS i, toDateTime64('2019-05-17 08:35:07.5', 3, 'America/New_York') AS j`,
		`SELECT [toDate('2019-05-17')] AS a, [toDateTime64('2019-05-17 08:35:07', 3, 'UTC')] AS b, [toDateTime('2019-05-17 08:35:07', 'UTC')] AS c, toNullable(toDateTime64('2019-05-17 08:35:07', 3, 'UTC')) AS d, CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS e`,
		`SELECT toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0') AS a, [toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0')] AS b, toIPv4('1.2.3.4') AS c, toIPv6('::ffff:1.2.3.4') AS d, toIPv6('2001:db8::1') AS e, [toIPv4('1.2.3.4')] AS f, toIPv6('::') AS g, toIPv6('::1') AS h`,
		`SELECT ['a''b', 'tab\there', 'nl\nx', 'bs\\x', 'z\0z', 'q"q'] AS a, [1, NULL] AS b, [NULL] AS c, NULL AS d, [[1, 2], []] AS e, [1.5, nan, inf, 1e21] AS f, [toLowCardinality('a\tb')] AS g, [] AS h`,
		`SELECT map('k''1', 'v\t1', 'k2', '', 'a', 'z') AS a, map() AS b, map(1, map('a', NULL)) AS c, map('a', [1, 2]) AS d, map('x', toNullable(1), 'y', NULL) AS e, [map('a', 1, 'b', 2)] AS f`,
		`SELECT tuple(1, 'a', NULL) AS a, [(1, 'x')] AS b, CAST((1, 'x') AS Tuple(a UInt8, b String)) AS c, [CAST((1, 'x') AS Tuple(a UInt8, b String))] AS d, tuple(1) AS e`,
		`SELECT number AS n, toString(number) AS s, if(number % 3 = 0, NULL, number) AS o, range(number % 4) AS r, map('k', toString(number)) AS m FROM numbers(1000)`,
		`SELECT reinterpretAsFloat64(reinterpretAsString(sipHash64(number))) AS f64, reinterpretAsFloat32(reinterpretAsString(toUInt32(sipHash64(number) % 4294967296))) AS f32 FROM numbers(30000)`,
		`SELECT number / 1000 AS a, pow(10, toInt64(number) - 330) AS b, pow(2, toInt64(number) - 1080) AS c, toFloat32(number / 7) AS d, 1 / (number + 1) AS e FROM numbers(2200)`,
	}
	for _, q := range queries {
		want, err := eng.Query(t.Context(), q, "TabSeparated")
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		native, err := eng.Query(t.Context(), q, "Native")
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		blocks := decodeNative(t, native)
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		if err := writeTSV(w, resultColumns(blocks), &blockRows{blocks: blocks}); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			g, e := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
			t.Errorf("%s\n%s", q, diffLines(g, e))
		}
	}
}

func TestSplitType(t *testing.T) {
	cases := []struct {
		in   string
		name string
		args []string
	}{
		{"String", "String", nil},
		{"Map(String, Array(UInt8))", "Map", []string{"String", "Array(UInt8)"}},
		{"Enum8('a,b' = 1, 'c)\\'d' = 2)", "Enum8", []string{"'a,b' = 1", "'c)\\'d' = 2"}},
		{"Tuple(`x, y` UInt8, b DateTime64(3, 'UTC'))", "Tuple", []string{"`x, y` UInt8", "b DateTime64(3, 'UTC')"}},
		{"Tuple()", "Tuple", nil},
	}
	for _, c := range cases {
		name, args, err := splitType(c.in)
		if err != nil || name != c.name || !slices.Equal(args, c.args) {
			t.Errorf("splitType(%q) = %q, %q, %v; want %q, %q", c.in, name, args, err, c.name, c.args)
		}
	}
}

// FuzzParseTextType checks the type parser never panics and that whatever it accepts can be
// written: the zero value of every parsed type formats without panicking.
func FuzzParseTextType(f *testing.F) {
	for _, s := range []string{"String", "Nullable(DateTime64(3, 'UTC'))", "Map(String, Array(Nullable(UInt8)))",
		"Tuple(a UInt8, `b c` String)", "Enum8('a' = 1)", "LowCardinality(Nullable(String))", "Array(Array(", "Tuple(a)", "))(("} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, err := parseTextType(s)
		if err != nil {
			return
		}
		_, _ = appendText(nil, typ, nil, false)
		_, _ = appendText(nil, typ, "x", true)
		_, _ = appendText(nil, typ, []any{}, false)
	})
}
