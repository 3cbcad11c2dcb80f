package erasure

import (
	"strings"
	"testing"
)

func TestNationalNumber(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"+919999999988", "9999999988"},
		{"+91 99999-99988", "9999999988"},
		{"09999999988", "9999999988"},
		{"9999999988", "9999999988"},
		{"(022) 2345 6789", "2223456789"}, // eleven digits: the last ten
		{"022 234 567", "22234567"},       // nine: the leading zero dropped
		{"+65 9123 4567", "6591234567"},
		{"0012345", "12345"},
		{"n/a", ""},
		{"", ""},
		{"000", ""},
	} {
		if got := NationalNumber(c.in); got != c.want {
			t.Errorf("NationalNumber(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPhoneRunsFindNumbersAsPeopleWriteThem(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"phone":"+919999999988","name":"x"}`, "9999999988"},
		{"call +91 99999-99988 today", "9999999988"},
		{"office (022) 2345 6789.", "2223456789"},
		{"97004 meeting at 5:30 p.m. for 2BHK", ""},        // five digits, a time, a flat type
		{"budget 5000000", "5000000"},                      // seven digits: a number, searched all the same
		{"1558080407,1558080727", "1558080407 1558080727"}, // timestamps look like numbers too
		{"a 9 9 9 9 9 9 9 9 9 9 b", "9999999999"},
		{"9999 -- 999999", ""}, // three separators end a run
	} {
		if got := strings.Join(phoneRuns([]byte(c.in)), " "); got != c.want {
			t.Errorf("phoneRuns(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzPhoneRuns: any text gives national numbers of digits only, each its own national number,
// and never panics.
func FuzzPhoneRuns(f *testing.F) {
	for _, s := range []string{"+91 99999-99988", "(022) 2345 6789", `{"phone":"+919999999988"}`, "1 2 3 4 5 6 7", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		for _, n := range phoneRuns(text) {
			if n == "" || len(n) > 10 || strings.Trim(n, "0123456789") != "" || NationalNumber(n) != n {
				t.Fatalf("phoneRuns(%q) gave %q", text, n)
			}
		}
		if n := NationalNumber(string(text)); NationalNumber(n) != n || len(n) > 10 {
			t.Fatalf("NationalNumber(%q) = %q, not its own national number", text, n)
		}
	})
}
