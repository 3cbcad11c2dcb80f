package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// tokens holds the SHA-256 digests of the accepted tokens. Comparing digests of fixed length
// keeps the comparison's time independent of the presented token's length and content, which a
// plain constant-time compare of unequal-length strings does not.
type tokens [][sha256.Size]byte

func newTokens(ts []string) (tokens, error) {
	if len(ts) == 0 {
		return nil, errors.New("server needs at least one token, or InsecureNoAuth")
	}
	out := make(tokens, len(ts))
	for i, t := range ts {
		if t == "" {
			return nil, fmt.Errorf("token %d is empty", i)
		}
		out[i] = sha256.Sum256([]byte(t))
	}
	return out, nil
}

// match reports whether presented is one of the tokens. It compares against every token without
// stopping at a match, so the time taken does not tell which one matched.
func (ts tokens) match(presented string) bool {
	d := sha256.Sum256([]byte(presented))
	ok := 0
	for i := range ts {
		ok |= subtle.ConstantTimeCompare(d[:], ts[i][:])
	}
	return ok == 1
}

// requestToken returns the token r presents: the Authorization header's bearer token or else the
// `token` query parameter, which exists because many CRMs only let one register a URL.
// An Authorization header in another scheme presents no token.
func requestToken(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		tok = strings.TrimLeft(tok, " ")
		return tok, tok != ""
	}
	return queryToken(r.URL.RawQuery)
}

// queryToken returns the first `token` parameter of the raw query string, decoded as
// url.ParseQuery would, without building the map ParseQuery allocates for every parameter.
func queryToken(raw string) (string, bool) {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		// url.ParseQuery skips these two, so the first token it reports is the one returned here.
		if part == "" || strings.Contains(part, ";") {
			continue
		}
		key, val, _ := strings.Cut(part, "=")
		if key != "token" {
			if !strings.ContainsAny(key, "%+") {
				continue
			}
			k, err := url.QueryUnescape(key)
			if err != nil || k != "token" {
				continue
			}
		}
		if strings.ContainsAny(val, "%+") {
			v, err := url.QueryUnescape(val)
			if err != nil {
				continue
			}
			val = v
		}
		return val, true
	}
	return "", false
}
