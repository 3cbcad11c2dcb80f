package server

import (
	"net/http"
	"net/netip"
	"strings"
)

// client is where a request comes from.
type client struct {
	// key is the address the request's limits are kept under: the client's IPv4 address, or the
	// /64 network of its IPv6 address, since anyone with one IPv6 address usually holds the
	// 2^64 addresses of its network. The zero Addr when the address is unknown.
	key netip.Addr
	// remote is the address recorded with the request's body: the peer's host:port, or the
	// client's address as a trusted proxy forwarded it.
	remote string
}

// clientOf returns where r comes from. The peer is the client unless it is one of the trusted
// proxies, which pass the client's address on in X-Forwarded-For.
func clientOf(r *http.Request, trusted []netip.Prefix) client {
	peer := parseHostPort(r.RemoteAddr)
	if len(trusted) == 0 || !peer.IsValid() || !contains(trusted, peer) {
		return client{key: limitKey(peer), remote: r.RemoteAddr}
	}
	addr, ok := forwardedFor(r.Header.Values("X-Forwarded-For"), trusted)
	if !ok {
		return client{key: limitKey(peer), remote: r.RemoteAddr}
	}
	return client{key: limitKey(addr), remote: addr.String()}
}

// forwardedFor returns the client's address from the X-Forwarded-For header lines of a
// request whose peer is a trusted proxy. Every proxy appends the address it received the
// request from, so the entries are trustworthy only from the right up to the first address that
// is not a trusted proxy: that one is the client, and whatever is left of it is what the client
// claimed. When every entry is a trusted proxy the leftmost is the client; an entry that is no
// address ends the walk at the proxy right of it.
func forwardedFor(lines []string, trusted []netip.Prefix) (netip.Addr, bool) {
	var last netip.Addr
	for i := len(lines) - 1; i >= 0; i-- {
		v := lines[i]
		for v != "" {
			part := v
			v = ""
			if j := strings.LastIndexByte(part, ','); j >= 0 {
				part, v = part[j+1:], part[:j]
			}
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			a := parseForwarded(part)
			if !a.IsValid() {
				return last, last.IsValid()
			}
			if !contains(trusted, a) {
				return a, true
			}
			last = a
		}
	}
	return last, last.IsValid()
}

// parseForwarded parses one X-Forwarded-For entry: an address, or an address with a port, as
// some proxies write it.
func parseForwarded(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	return parseHostPort(s)
}

// parseHostPort parses a host:port with an IP host, such as http.Request.RemoteAddr.
func parseHostPort(s string) netip.Addr {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap().WithZone("")
}

func contains(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// limitKey returns the address limits are kept under: an IPv4 address itself, an IPv6
// address's /64 network.
func limitKey(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
