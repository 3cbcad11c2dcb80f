package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func postFrom(addr, auth, body string) *http.Request {
	r := postCallback(body)
	r.RemoteAddr = addr
	if auth == "" {
		r.Header.Del("Authorization")
	} else {
		r.Header.Set("Authorization", "Bearer "+auth)
	}
	return r
}

func TestCredentialRateLimitAnswers429WithRetryAfter(t *testing.T) {
	p := &fakePipeline{}
	clk := newTestClock()
	s := newTestServer(t, p, func(o *Options) { o.now, o.RateLimit, o.RateBurst = clk.now, 2, 3 })
	for i := range 3 {
		if w := serve(s, postCallback(`{"lead_id":1}`)); w.Code != http.StatusAccepted {
			t.Fatalf("request %d of the burst: %d", i+1, w.Code)
		}
	}
	w := serve(s, postCallback(`{"lead_id":1}`))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("over the burst: %d, Retry-After %q; want 429 after 1 (500ms rounded up)", w.Code, w.Header().Get("Retry-After"))
	}
	answer(t, w)
	// The limit is per credential: the rotated token has its own bucket.
	r := postCallback(`{"lead_id":1}`)
	r.Header.Set("Authorization", "Bearer "+rotatedToken)
	if w := serve(s, r); w.Code != http.StatusAccepted {
		t.Errorf("another token: %d, want 202", w.Code)
	}
	clk.advance(500 * time.Millisecond)
	if w := serve(s, postCallback(`{"lead_id":1}`)); w.Code != http.StatusAccepted {
		t.Errorf("after Retry-After: %d, want 202", w.Code)
	}
	if n := len(p.recorded()); n != 5 {
		t.Errorf("%d submits, want 5 (the refused one is not stored)", n)
	}
	reg := s.Metrics().Registry()
	if got := sample(t, reg, "leadhouse_rate_limited_total", "key_kind", "credential"); got != 1 {
		t.Errorf("rate limited by credential %v, want 1", got)
	}
	if got := sample(t, reg, "leadhouse_callbacks_total", "outcome", "rate_limited"); got != 1 {
		t.Errorf("rate_limited outcome %v, want 1", got)
	}
}

func TestSignedRequestsAreRateLimitedPerSecret(t *testing.T) {
	clk := newTestClock()
	s := newSignedServer(t, &fakePipeline{}, clk, func(o *Options) { o.RateLimit, o.RateBurst = 1, 1 })
	body := []byte(`{"lead_id":1}`)
	if w := serve(s, signed(webhookKey, "a", t0, body)); w.Code != http.StatusAccepted {
		t.Fatalf("first: %d", w.Code)
	}
	if w := serve(s, signed(webhookKey, "b", t0, body)); w.Code != http.StatusTooManyRequests {
		t.Errorf("second with the same secret: %d, want 429", w.Code)
	}
	if w := serve(s, signed(rotatedKey, "c", t0, body)); w.Code != http.StatusAccepted {
		t.Errorf("another secret: %d, want 202", w.Code)
	}
}

// TestFailedAuthenticationBlocksTheAddress proves that guessing slows to one attempt per
// AuthFailureInterval, and that a blocked address cannot tell a right guess from a wrong one.
func TestFailedAuthenticationBlocksTheAddress(t *testing.T) {
	p := &fakePipeline{}
	clk := newTestClock()
	s := newTestServer(t, p, func(o *Options) { o.now, o.AuthFailureBurst, o.AuthFailureInterval = clk.now, 3, time.Minute })
	const guesser, other = "198.51.100.7:5000", "198.51.100.8:5000"
	for i := range 3 {
		if w := serve(s, postFrom(guesser, "guess-number-"+string(rune('a'+i)), `{"lead_id":1}`)); w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, w.Code)
		}
	}
	for _, auth := range []string{"another-guess", testToken} {
		w := serve(s, postFrom(guesser, auth, `{"lead_id":1}`))
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" {
			t.Errorf("blocked address with %s token: %d, Retry-After %q; want 429 after 60", map[bool]string{true: "the right", false: "a wrong"}[auth == testToken], w.Code, w.Header().Get("Retry-After"))
		}
		answer(t, w)
	}
	if w := serve(s, postFrom(guesser, "", `{"lead_id":1}`)); w.Code != http.StatusTooManyRequests {
		t.Errorf("blocked address without a token: %d, want 429", w.Code)
	}
	if w := serve(s, postFrom(other, testToken, `{"lead_id":1}`)); w.Code != http.StatusAccepted {
		t.Errorf("another address: %d, want 202", w.Code)
	}
	clk.advance(time.Minute)
	if w := serve(s, postFrom(guesser, testToken, `{"lead_id":1}`)); w.Code != http.StatusAccepted {
		t.Errorf("after the interval, the right token: %d, want 202", w.Code)
	}
	// Valid requests cost nothing: the address is still allowed its one attempt.
	if w := serve(s, postFrom(guesser, "one-more-guess", `{"lead_id":1}`)); w.Code != http.StatusUnauthorized {
		t.Errorf("the interval's attempt: %d, want 401", w.Code)
	}
	if w := serve(s, postFrom(guesser, testToken, `{"lead_id":1}`)); w.Code != http.StatusTooManyRequests {
		t.Errorf("after it: %d, want 429", w.Code)
	}
	if n := len(p.recorded()); n != 2 {
		t.Errorf("%d submits, want 2", n)
	}
	reg := s.Metrics().Registry()
	if got := sample(t, reg, "leadhouse_rate_limited_total", "key_kind", "address"); got != 4 {
		t.Errorf("rate limited by address %v, want 4", got)
	}
	if got := sample(t, reg, "leadhouse_auth_failures_total", "reason", "invalid_token"); got != 4 {
		t.Errorf("invalid_token failures %v, want 4 (blocked requests are not checked)", got)
	}
	if got := sample(t, reg, "leadhouse_auth_failure_addresses"); got != 1 {
		t.Errorf("%v addresses tracked, want 1", got)
	}
}

func TestBlockedAddressCannotTestSignatures(t *testing.T) {
	p := &fakePipeline{}
	s := newSignedServer(t, p, newTestClock(), func(o *Options) { o.AuthFailureBurst = 1 })
	body := []byte(`{"lead_id":1}`)
	bad := newWebhookRequest(body, "x", t0s, signV1(rotatedKey, "x", t0s, []byte("other body")))
	if w := serve(s, bad); w.Code != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d, want 401", w.Code)
	}
	if w := serve(s, signed(webhookKey, "y", t0, body)); w.Code != http.StatusTooManyRequests {
		t.Errorf("good signature from the blocked address: %d, want 429", w.Code)
	}
	if n := len(p.recorded()); n != 0 {
		t.Errorf("%d submits, want 0", n)
	}
}

func TestFailuresBehindTrustedProxyAreCountedPerClient(t *testing.T) {
	const lb = "10.0.0.2:34567"
	from := func(client, auth string) *http.Request {
		r := postFrom(lb, auth, `{"lead_id":1}`)
		r.Header.Set("X-Forwarded-For", "203.0.113.99, "+client) // the left entry is the client's own claim
		return r
	}
	t.Run("trusted", func(t *testing.T) {
		p := &fakePipeline{}
		s := newTestServer(t, p, func(o *Options) {
			o.AuthFailureBurst = 1
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}
		})
		serve(s, from("198.51.100.1", "wrong-token"))
		if w := serve(s, from("198.51.100.1", testToken)); w.Code != http.StatusTooManyRequests {
			t.Errorf("the failing client: %d, want 429", w.Code)
		}
		if w := serve(s, from("198.51.100.2", testToken)); w.Code != http.StatusAccepted {
			t.Errorf("the CRM behind the same proxy: %d, want 202", w.Code)
		}
		if subs := p.recorded(); len(subs) != 1 || subs[0].remote != "198.51.100.2" {
			t.Errorf("submits %+v, want one from 198.51.100.2", subs)
		}
	})
	t.Run("not trusted", func(t *testing.T) {
		// Without TrustedProxies everyone behind the proxy is the proxy: the hazard the
		// setting exists for.
		p := &fakePipeline{}
		s := newTestServer(t, p, func(o *Options) { o.AuthFailureBurst = 1 })
		serve(s, from("198.51.100.1", "wrong-token"))
		if w := serve(s, from("198.51.100.2", testToken)); w.Code != http.StatusTooManyRequests {
			t.Errorf("the CRM behind the same proxy: %d, want 429", w.Code)
		}
	})
}

func TestLimitsCanBeTurnedOff(t *testing.T) {
	p := &fakePipeline{}
	s := newTestServer(t, p, func(o *Options) { o.RateLimit, o.RateBurst, o.AuthFailureBurst = -1, 1, -1 })
	for range 50 {
		serve(s, postCallback(`{"lead_id":1}`))
		if w := serve(s, postFrom("192.0.2.1:1", "wrong-token", `{}`)); w.Code != http.StatusUnauthorized {
			t.Fatalf("with the failure limit off: %d, want 401", w.Code)
		}
	}
	if n := len(p.recorded()); n != 50 {
		t.Errorf("%d submits, want 50", n)
	}
}

// TestCredentialsAreNeverLogged posts right and wrong tokens and signatures with debug logging
// on: the log may name reasons and addresses, never a credential.
func TestCredentialsAreNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newTestServer(t, &fakePipeline{}, func(o *Options) {
		o.Logger = logger
		o.now = newTestClock().now
		o.WebhookSecrets = []string{webhookSecret}
		o.AnyCredential = true
	})
	body := []byte(`{"lead_id":1}`)
	sig := signV1(webhookKey, "m", t0s, body)
	badSig := signV1(rotatedKey, "m", t0s, body)
	reqs := []*http.Request{
		postCallback(string(body)),
		postFrom("192.0.2.50:1", "guessed-token-value", string(body)),
		newWebhookRequest(body, "m", t0s, sig),
		newWebhookRequest(body, "m", t0s, badSig),
		newWebhookRequest([]byte(`{"lead_id":`), "n", t0s, signV1(webhookKey, "n", t0s, []byte(`{"lead_id":`))),
	}
	q := postFrom("192.0.2.51:1", "", string(body))
	q.URL.RawQuery = "token=query-token-guess"
	reqs = append(reqs, q)
	for _, r := range reqs {
		serve(s, r)
	}
	if !strings.Contains(logs.String(), "invalid_token") {
		t.Fatalf("the debug log does not name the failures:\n%s", logs.String())
	}
	for _, secret := range []string{testToken, "guessed-token-value", "query-token-guess", webhookSecret,
		strings.TrimPrefix(sig, "v1,"), strings.TrimPrefix(badSig, "v1,")} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs.String())
		}
	}
}
