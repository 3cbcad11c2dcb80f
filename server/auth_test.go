package server

import (
	"net/url"
	"strings"
	"testing"
)

func TestTokensMatchOnlyConfiguredTokens(t *testing.T) {
	ts, err := newTokens([]string{"alpha-token", "beta-token"})
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]bool{
		"alpha-token": true, "beta-token": true,
		"": false, "alpha": false, "alpha-token ": false, "ALPHA-TOKEN": false, "gamma-token": false,
	} {
		if got := ts.match(tok); got != want {
			t.Errorf("match(%q) = %v, want %v", tok, got, want)
		}
	}
}

func TestQueryToken(t *testing.T) {
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{"", "", false},
		{"token=abc", "abc", true},
		{"a=1&token=abc&b=2", "abc", true},
		{"token=first&token=second", "first", true},
		{"token=a%2Bb+c", "a+b c", true},
		{"tok%65n=abc", "abc", true},
		{"token=%zz&token=good", "good", true}, // an undecodable value is skipped, as url.ParseQuery does
		{"token=abc;x=1", "", false},           // url.ParseQuery refuses semicolons
		{"tokens=abc", "", false},
		{"token", "", true},
		{"&&token=abc", "abc", true},
	}
	for _, tt := range tests {
		got, ok := queryToken(tt.raw)
		if got != tt.want || ok != tt.ok {
			t.Errorf("queryToken(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzQueryToken checks the hand-written scan against url.ParseQuery, which it replaces to save
// the map ParseQuery builds.
func FuzzQueryToken(f *testing.F) {
	for _, s := range []string{"token=abc", "a=1&token=x%20y", "tok%65n=1", "token=%zz&token=ok", "token=a;b", "token"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if strings.Count(raw, "&") >= 10000 {
			t.Skip("url.ParseQuery refuses this many parameters")
		}
		vals, _ := url.ParseQuery(raw)
		want, wantOK := "", false
		if v, ok := vals["token"]; ok {
			want, wantOK = v[0], true
		}
		got, ok := queryToken(raw)
		if got != want || ok != wantOK {
			t.Fatalf("queryToken(%q) = %q, %v; url.ParseQuery gives %q, %v", raw, got, ok, want, wantOK)
		}
	})
}
