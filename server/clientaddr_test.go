package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientAddress(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		peer    string
		xff     []string
		trusted []netip.Prefix
		key     string
		remote  string
	}{
		{"direct", "192.0.2.7:4711", nil, nil, "192.0.2.7", "192.0.2.7:4711"},
		{"forwarded-for ignored without trusted proxies", "192.0.2.7:4711", []string{"203.0.113.5"}, nil, "192.0.2.7", "192.0.2.7:4711"},
		{"forwarded-for ignored from an untrusted peer", "192.0.2.7:4711", []string{"203.0.113.5"}, proxies, "192.0.2.7", "192.0.2.7:4711"},
		{"trusted proxy", "10.1.2.3:80", []string{"203.0.113.5"}, proxies, "203.0.113.5", "203.0.113.5"},
		{"entries the client wrote are ignored", "10.1.2.3:80", []string{"198.51.100.1, 203.0.113.5"}, proxies, "203.0.113.5", "203.0.113.5"},
		{"chain of trusted proxies", "10.1.2.3:80", []string{"198.51.100.1, 203.0.113.5, 10.9.9.9"}, proxies, "203.0.113.5", "203.0.113.5"},
		{"several header lines", "10.1.2.3:80", []string{"198.51.100.1", "203.0.113.5,10.9.9.9"}, proxies, "203.0.113.5", "203.0.113.5"},
		{"all trusted: the leftmost", "10.1.2.3:80", []string{"10.7.7.7, 10.9.9.9"}, proxies, "10.7.7.7", "10.7.7.7"},
		{"junk stops at the proxy right of it", "10.1.2.3:80", []string{"junk, 10.9.9.9"}, proxies, "10.9.9.9", "10.9.9.9"},
		{"junk right away: the peer", "10.1.2.3:80", []string{"unknown"}, proxies, "10.1.2.3", "10.1.2.3:80"},
		{"no header: the peer", "10.1.2.3:80", nil, proxies, "10.1.2.3", "10.1.2.3:80"},
		{"entry with a port", "10.1.2.3:80", []string{"203.0.113.5:5555"}, proxies, "203.0.113.5", "203.0.113.5"},
		{"empty entries skipped", "10.1.2.3:80", []string{"203.0.113.5,, "}, proxies, "203.0.113.5", "203.0.113.5"},
		{"IPv6 keyed by its /64", "[2001:db8:1:2:3:4:5:6]:443", nil, nil, "2001:db8:1:2::", "[2001:db8:1:2:3:4:5:6]:443"},
		{"IPv6 client behind an IPv6 proxy", "[fd00::1]:80", []string{"2001:db8::abcd"}, proxies, "2001:db8::", "2001:db8::abcd"},
		{"IPv4-mapped peer", "[::ffff:192.0.2.7]:4711", nil, nil, "192.0.2.7", "[::ffff:192.0.2.7]:4711"},
		{"unparsable peer", "pipe", nil, proxies, "invalid IP", "pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/callbacks", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got := clientOf(r, tt.trusted)
			if got.key.String() != tt.key || got.remote != tt.remote {
				t.Errorf("client %s, %q; want %s, %q", got.key, got.remote, tt.key, tt.remote)
			}
		})
	}
}

// FuzzForwardedFor checks that whatever X-Forwarded-For holds, the client is an address the
// header names, and never one left of an untrusted entry.
func FuzzForwardedFor(f *testing.F) {
	for _, s := range []string{"203.0.113.5", "1.1.1.1, 10.0.0.1", "junk,10.0.0.2", ", ,", "[::1]:80, fd00::1", "10.0.0.1:1,10.0.0.2"} {
		f.Add(s)
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	f.Fuzz(func(t *testing.T, header string) {
		got, ok := forwardedFor([]string{header}, trusted)
		if !ok {
			return
		}
		parts := strings.Split(header, ",")
		found := -1
		for i, p := range parts {
			if a := parseForwarded(strings.TrimSpace(p)); a == got {
				found = i
			}
		}
		if found < 0 {
			t.Fatalf("client %s is not in %q", got, header)
		}
		for _, p := range parts[found+1:] {
			a := parseForwarded(strings.TrimSpace(p))
			if strings.TrimSpace(p) != "" && (!a.IsValid() || !contains(trusted, a)) {
				t.Fatalf("client %s is left of the untrusted entry %q in %q", got, p, header)
			}
		}
	})
}
