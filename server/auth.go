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
	out := make(tokens, len(ts))
	for i, t := range ts {
		if t == "" {
			return nil, fmt.Errorf("token %d is empty", i)
		}
		out[i] = sha256.Sum256([]byte(t))
	}
	return out, nil
}

// match reports whether presented is one of the tokens.
func (ts tokens) match(presented string) bool {
	_, ok := ts.index(presented)
	return ok
}

// index returns which of the tokens presented is. It compares against every token without
// stopping at a match, so the time taken does not tell which one matched.
func (ts tokens) index(presented string) (int, bool) {
	d := sha256.Sum256([]byte(presented))
	match := -1
	for i := range ts {
		eq := subtle.ConstantTimeCompare(d[:], ts[i][:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	return match, match >= 0
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

// authReason is why a request was refused as unauthenticated; it is the `reason` label of
// leadhouse_auth_failures_total.
type authReason uint8

const (
	reasonMissingToken authReason = iota
	reasonInvalidToken
	reasonMissingSignature
	reasonMalformedSignature
	reasonTimestampOutOfTolerance
	reasonInvalidSignature
	reasonMissingCredentials
	numAuthReasons
)

func (r authReason) String() string {
	switch r {
	case reasonMissingToken:
		return "missing_token"
	case reasonInvalidToken:
		return "invalid_token"
	case reasonMissingSignature:
		return "missing_signature"
	case reasonMalformedSignature:
		return "malformed_signature"
	case reasonTimestampOutOfTolerance:
		return "timestamp_out_of_tolerance"
	case reasonInvalidSignature:
		return "invalid_signature"
	case reasonMissingCredentials:
		return "missing_credentials"
	}
	panic("server: unknown auth reason") // a broken invariant of this package, never input
}

// scheme is the signature scheme a request is checked by once its body is read.
type scheme uint8

const (
	schemeNone scheme = iota
	schemeWebhook
	schemeHMAC
)

// authenticator decides whether a request comes from the CRM. Credentials are numbered for the
// per-credential rate limit: the tokens first, then the Standard Webhooks secrets, then the
// generic HMAC secrets.
//
// By default every kind of credential configured is required: a token when there are tokens,
// and a valid signature (of either scheme) when there are signing secrets. With any set, one
// valid credential of either kind is enough, which lets a CRM move from tokens to signatures
// without downtime.
type authenticator struct {
	tokens  tokens           // nil when no tokens are configured
	webhook *webhookVerifier // nil when no Standard Webhooks secrets are configured
	hmac    *hmacVerifier    // nil when no generic HMAC secrets are configured
	any     bool

	webhookBase, hmacBase int        // the number of the first credential of each scheme
	credentials           int        // how many credentials there are
	noSignature           *authError // the refusal of a request without a signature
}

func newAuthenticator(o *Options) (authenticator, error) {
	var a authenticator
	a.any = o.AnyCredential
	if len(o.Tokens) > 0 {
		t, err := newTokens(o.Tokens)
		if err != nil {
			return a, err
		}
		a.tokens = t
	}
	var schemes []string
	if len(o.WebhookSecrets) > 0 {
		v, err := newWebhookVerifier(o.WebhookSecrets, o.WebhookTolerance)
		if err != nil {
			return a, err
		}
		a.webhook = v
		schemes = append(schemes, "webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks)")
	}
	if len(o.HMAC.Secrets) > 0 {
		v, err := newHMACVerifier(o.HMAC)
		if err != nil {
			return a, err
		}
		a.hmac = v
		schemes = append(schemes, v.header)
	}
	a.webhookBase = len(a.tokens)
	a.hmacBase = a.webhookBase
	if a.webhook != nil {
		a.hmacBase += len(a.webhook.keys)
	}
	a.credentials = a.hmacBase
	if a.hmac != nil {
		a.credentials += len(a.hmac.keys)
	}
	if a.credentials == 0 {
		return a, errors.New("server needs at least one token or signing secret, or InsecureNoAuth")
	}
	want := "missing signature: send " + strings.Join(schemes, ", or ")
	a.noSignature = newAuthError(reasonMissingSignature, want)
	if a.any && a.tokens != nil && len(schemes) > 0 {
		a.noSignature = newAuthError(reasonMissingCredentials,
			"missing credentials: send Authorization: Bearer <token>, ?token=<token>, or "+strings.Join(schemes, ", or "))
	}
	return a, nil
}

func (a *authenticator) signed() bool { return a.webhook != nil || a.hmac != nil }

// authState is one request's authentication while it is in progress.
type authState struct {
	cred   int    // the credential that authenticated the request so far, -1 for none
	scheme scheme // the signature to check once the body is read
	wh     webhookRequest
}

// checkHeaders checks what the request's headers can prove before its body is read. It leaves
// in st either the credential that settles it or the signature to check in checkBody.
func (a *authenticator) checkHeaders(r *http.Request, nowUnix int64, wk *work, st *authState) *authError {
	st.cred, st.scheme = -1, schemeNone
	var tokenErr *authError
	if a.tokens != nil {
		tok, ok := requestToken(r)
		switch i, valid := a.tokens.index(tok); {
		case !ok:
			tokenErr = errNoToken
		case !valid:
			tokenErr = errBadToken
		default:
			st.cred = i
		}
		switch {
		case a.any && st.cred >= 0:
			return nil
		case !a.any && tokenErr != nil:
			return tokenErr
		case !a.signed():
			return tokenErr
		}
	}
	switch {
	case a.webhook != nil && a.webhook.present(r.Header):
		sigs, err := a.webhook.parse(r.Header, nowUnix, &st.wh, wk.sigs[:0])
		wk.sigs = sigs
		if err != nil {
			return err
		}
		st.scheme = schemeWebhook
	case a.hmac != nil && a.hmac.present(r.Header):
		sig, err := a.hmac.parse(r.Header, wk.sig[:])
		wk.hmacSig = sig
		if err != nil {
			return err
		}
		st.scheme = schemeHMAC
	case tokenErr == errBadToken:
		// A wrong token says more than the signature it lacks.
		return tokenErr
	default:
		return a.noSignature
	}
	return nil
}

// checkBody checks the signature checkHeaders left in st against the body.
func (a *authenticator) checkBody(body []byte, wk *work, st *authState) *authError {
	switch st.scheme {
	case schemeWebhook:
		i, ok := a.webhook.verify(&st.wh, wk.sigs, body, wk.head)
		if !ok {
			return errBadSignature
		}
		st.cred = a.webhookBase + i
	case schemeHMAC:
		i, ok := a.hmac.verify(wk.hmacSig, body)
		if !ok {
			return errBadSignature
		}
		st.cred = a.hmacBase + i
	}
	return nil
}
