package flatten

import (
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
		{"9223372036", schema.Some[schema.Millis](9223372036000)}, // seconds, just before the 2262 limit
		{"10413791999", null},                                          // seconds, 2299: past what clickhouse-go can send
		{"10413792000", null},                                          // seconds, 2300
		{"-1", schema.Some[schema.Millis](-1000)},                      // a second before the epoch
		{"1558089973.0005", schema.Some[schema.Millis](1558089973001)}, // rounded to the nearest millisecond
		{"1558089973628.4", schema.Some[schema.Millis](1558089973628)}, // fractional milliseconds
		{"1e9", schema.Some[schema.Millis](1e12)},                      // exponent form, seconds
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
