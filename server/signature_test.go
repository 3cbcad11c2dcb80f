package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Signing keys of the tests: 32 and 24 bytes, the sizes Standard Webhooks senders use most and
// the least the specification allows.
var (
	webhookKey     = []byte("leadhouse-webhook-key-one-32byte")
	rotatedKey     = []byte("leadhouse-rotated-key-24")
	webhookSecret  = "whsec_" + base64.StdEncoding.EncodeToString(webhookKey)
	rotatedSecret  = "whsec_" + base64.StdEncoding.EncodeToString(rotatedKey)
	t0             = time.Unix(1767225600, 0) // 2026-01-01T00:00:00Z, the tests' "now"
	t0s            = strconv.FormatInt(t0.Unix(), 10)
	hmacTestSecret = "crm-shared-secret-0123"
)

// testClock is the injected clock of the limit and signature tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: t0} }

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// newSignedServer serves with the two webhook secrets, no tokens, and the clock clk.
func newSignedServer(t testing.TB, p Pipeline, clk *testClock, edit func(*Options)) *Server {
	t.Helper()
	return newTestServer(t, p, func(o *Options) {
		o.Tokens = nil
		o.WebhookSecrets = []string{webhookSecret, rotatedSecret}
		o.now = clk.now
		if edit != nil {
			edit(o)
		}
	})
}

// signV1 is the test's own signer: "v1," and the base64 of HMAC-SHA256(key, id.ts.body).
// TestStandardWebhooksVectorsMatchOpenSSL checks it against openssl.
func signV1(key []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func newWebhookRequest(body []byte, id, ts, signature string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/callbacks", bytes.NewReader(body))
	if id != "" {
		r.Header.Set("webhook-id", id)
	}
	if ts != "" {
		r.Header.Set("webhook-timestamp", ts)
	}
	if signature != "" {
		r.Header.Set("webhook-signature", signature)
	}
	return r
}

// signed returns a request signed with key at ts.
func signed(key []byte, id string, ts time.Time, body []byte) *http.Request {
	s := strconv.FormatInt(ts.Unix(), 10)
	return newWebhookRequest(body, id, s, signV1(key, id, s, body))
}

// openssl runs openssl with stdin and returns its output.
func openssl(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	cmd := exec.Command("openssl", args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// TestStandardWebhooksVectorsMatchOpenSSL signs vectors written from the specification's
// description (HMAC-SHA256 with the key under whsec_, over id "." timestamp "." body, base64
// after "v1,") with openssl, and requires the server to accept exactly those signatures.
func TestStandardWebhooksVectorsMatchOpenSSL(t *testing.T) {
	vectors := []struct {
		name     string
		key      []byte
		id       string
		body     []byte
		expected string // what `openssl dgst -sha256 -mac HMAC -macopt hexkey:… -binary | openssl base64` gave when the vector was written
	}{
		{"minimal callback", webhookKey, "msg_2b6FQJfnWq0d2xXcYb9m1K7pZ3a", []byte(`{"lead_id":42}`),
			"v1,e84LMxHz3oxc2oPHoZv4tOooqd4MA/aFIH1f9I+wxxs="},
		{"rotated 24-byte key", rotatedKey, "4b9f1c2e-7d3a-4e5b-9c8d-1a2b3c4d5e6f", []byte(`{"lead_id":7,"note":"a.b.c"}`),
			"v1,APUCZtK567QHU8F5IafyViOAEAU4FIVun1WJ0YUEzBE="},
		{"body with spaces and a newline", webhookKey, "evt_1", []byte("{ \"lead_id\" : 1 }\n"),
			"v1,SQb/rMe3uYh4SXquh5IY1d1EtROpT5WAQoZHNS3w58Y="},
		{"seed callback", webhookKey, "msg_seed", fixture(t, "seed_callback.json"), ""},
	}
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			content := append([]byte(v.id+"."+t0s+"."), v.body...)
			mac := openssl(t, content, "dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:"+hex.EncodeToString(v.key), "-binary")
			want := "v1," + base64.StdEncoding.EncodeToString(mac)
			if v.expected != "" && want != v.expected {
				t.Fatalf("openssl gives %s, the vector says %s", want, v.expected)
			}
			if got := signV1(v.key, v.id, t0s, v.body); got != want {
				t.Fatalf("test signer %s, openssl %s", got, want)
			}
			p := &fakePipeline{}
			s := newSignedServer(t, p, newTestClock(), nil)
			w := serve(s, newWebhookRequest(v.body, v.id, t0s, want))
			if w.Code != http.StatusAccepted {
				t.Fatalf("status %d, want 202; %s", w.Code, w.Body)
			}
			if subs := p.recorded(); len(subs) != 1 || subs[0].body != string(v.body) {
				t.Fatalf("submits %+v, want the body once", subs)
			}
		})
	}
}

// TestGenericHMACMatchesOpenSSL signs the body with openssl for every algorithm and encoding
// of the generic header, and requires the server to accept the result.
func TestGenericHMACMatchesOpenSSL(t *testing.T) {
	body := fixture(t, "seed_callback.json")
	for _, alg := range []string{"sha1", "sha256", "sha384", "sha512"} {
		mac := openssl(t, body, "dgst", "-"+alg, "-hmac", hmacTestSecret, "-binary")
		for _, enc := range []string{"hex", "base64"} {
			for _, prefix := range []string{"", alg + "="} {
				t.Run(alg+"/"+enc+"/"+prefix, func(t *testing.T) {
					value := hex.EncodeToString(mac)
					if enc == "base64" {
						value = base64.StdEncoding.EncodeToString(mac)
					}
					p := &fakePipeline{}
					s := newTestServer(t, p, func(o *Options) {
						o.Tokens = nil
						o.HMAC = HMACOptions{Secrets: []string{"old-secret-being-retired", hmacTestSecret}, Header: "X-Hub-Signature", Algorithm: alg, Encoding: enc, Prefix: prefix}
					})
					r := httptest.NewRequest(http.MethodPost, "/v1/callbacks", bytes.NewReader(body))
					r.Header.Set("X-Hub-Signature", prefix+value)
					if w := serve(s, r); w.Code != http.StatusAccepted {
						t.Fatalf("status %d, want 202; %s", w.Code, w.Body)
					}
					if n := len(p.recorded()); n != 1 {
						t.Errorf("%d submits, want 1", n)
					}
				})
			}
		}
	}
}

func TestStandardWebhooksVerification(t *testing.T) {
	body := []byte(`{"lead_id":1402361}`)
	const id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
	good := signV1(webhookKey, id, t0s, body)
	ts := func(d time.Duration) string { return strconv.FormatInt(t0.Add(d).Unix(), 10) }
	tests := []struct {
		name   string
		req    *http.Request
		want   int
		reason authReason
	}{
		{"signed", newWebhookRequest(body, id, t0s, good), http.StatusAccepted, 0},
		{"signed by the rotated secret", newWebhookRequest(body, id, t0s, signV1(rotatedKey, id, t0s, body)), http.StatusAccepted, 0},
		{"one good signature among others", newWebhookRequest(body, id, t0s,
			"v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))+" v1a,aGVsbG8= v2,xyz "+good), http.StatusAccepted, 0},
		{"unpadded base64", newWebhookRequest(body, id, t0s, strings.TrimRight(good, "=")), http.StatusAccepted, 0},
		{"at the edge of the tolerance, past", newWebhookRequest(body, id, ts(-5*time.Minute), signV1(webhookKey, id, ts(-5*time.Minute), body)), http.StatusAccepted, 0},
		{"at the edge of the tolerance, ahead", newWebhookRequest(body, id, ts(5*time.Minute), signV1(webhookKey, id, ts(5*time.Minute), body)), http.StatusAccepted, 0},
		{"another secret", newWebhookRequest(body, id, t0s, signV1([]byte("someone-else-s-key-of-32-bytes!!"), id, t0s, body)), http.StatusUnauthorized, reasonInvalidSignature},
		{"body changed", newWebhookRequest([]byte(`{"lead_id":1402362}`), id, t0s, good), http.StatusUnauthorized, reasonInvalidSignature},
		{"id changed", newWebhookRequest(body, id+"x", t0s, good), http.StatusUnauthorized, reasonInvalidSignature},
		{"timestamp changed", newWebhookRequest(body, id, ts(time.Second), good), http.StatusUnauthorized, reasonInvalidSignature},
		{"signature of the body alone", newWebhookRequest(body, id, t0s, "v1,"+macBase64(webhookKey, body)), http.StatusUnauthorized, reasonInvalidSignature},
		{"no headers", newWebhookRequest(body, "", "", ""), http.StatusUnauthorized, reasonMissingSignature},
		{"no signature", newWebhookRequest(body, id, t0s, ""), http.StatusUnauthorized, reasonMissingSignature},
		{"no id", newWebhookRequest(body, "", t0s, good), http.StatusUnauthorized, reasonMalformedSignature},
		{"no timestamp", newWebhookRequest(body, id, "", good), http.StatusUnauthorized, reasonMalformedSignature},
		{"id too long", newWebhookRequest(body, strings.Repeat("i", 257), t0s, good), http.StatusUnauthorized, reasonMalformedSignature},
		{"timestamp with a fraction", newWebhookRequest(body, id, t0s+".5", good), http.StatusUnauthorized, reasonMalformedSignature},
		{"timestamp with a sign", newWebhookRequest(body, id, "+"+t0s, good), http.StatusUnauthorized, reasonMalformedSignature},
		{"timestamp in milliseconds", newWebhookRequest(body, id, t0s+"000", good), http.StatusUnauthorized, reasonTimestampOutOfTolerance},
		{"too old", newWebhookRequest(body, id, ts(-5*time.Minute-time.Second), signV1(webhookKey, id, ts(-5*time.Minute-time.Second), body)), http.StatusUnauthorized, reasonTimestampOutOfTolerance},
		{"too far ahead", newWebhookRequest(body, id, ts(5*time.Minute+time.Second), signV1(webhookKey, id, ts(5*time.Minute+time.Second), body)), http.StatusUnauthorized, reasonTimestampOutOfTolerance},
		{"only an ed25519 signature", newWebhookRequest(body, id, t0s, "v1a,"+base64.StdEncoding.EncodeToString(make([]byte, 64))), http.StatusUnauthorized, reasonMalformedSignature},
		{"v1 not base64", newWebhookRequest(body, id, t0s, "v1,not-base64!"), http.StatusUnauthorized, reasonMalformedSignature},
		{"v1 of the wrong length", newWebhookRequest(body, id, t0s, "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 20))), http.StatusUnauthorized, reasonMalformedSignature},
		{"bearer token instead", postCallback(string(body)), http.StatusUnauthorized, reasonMissingSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePipeline{}
			s := newSignedServer(t, p, newTestClock(), nil)
			w := serve(s, tt.req)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d; %s", w.Code, tt.want, w.Body)
			}
			got := answer(t, w)
			n := len(p.recorded())
			if tt.want == http.StatusAccepted {
				if n != 1 {
					t.Errorf("%d submits, want 1", n)
				}
				return
			}
			if msg, _ := got["error"].(string); msg == "" || len(got) != 1 {
				t.Errorf("401 answer %v, want {\"error\": reason}", got)
			}
			if n != 0 {
				t.Errorf("%d submits of an unauthenticated request", n)
			}
			if c := w.Header().Get("WWW-Authenticate"); c == "" {
				t.Error("401 without WWW-Authenticate")
			}
			for r := range numAuthReasons {
				want := 0.0
				if r == tt.reason {
					want = 1
				}
				if got := sample(t, s.Metrics().Registry(), "leadhouse_auth_failures_total", "reason", r.String()); got != want {
					t.Errorf("auth failures %s = %v, want %v", r, got, want)
				}
			}
		})
	}
}

func macBase64(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestTimestampToleranceIsConfigurable(t *testing.T) {
	body := []byte(`{"lead_id":5}`)
	s := newSignedServer(t, &fakePipeline{}, newTestClock(), func(o *Options) { o.WebhookTolerance = 30 * time.Second })
	if w := serve(s, signed(webhookKey, "a", t0.Add(-30*time.Second), body)); w.Code != http.StatusAccepted {
		t.Errorf("30s old: status %d, want 202", w.Code)
	}
	if w := serve(s, signed(webhookKey, "b", t0.Add(-31*time.Second), body)); w.Code != http.StatusUnauthorized {
		t.Errorf("31s old: status %d, want 401", w.Code)
	}
}

func TestReplayedWebhookIDIsAnsweredWithoutStoring(t *testing.T) {
	p := &fakePipeline{}
	clk := newTestClock()
	s := newSignedServer(t, p, clk, nil)
	body := fixture(t, "seed_callback.json")
	first := serve(s, signed(webhookKey, "msg_1", t0, body))
	if first.Code != http.StatusAccepted {
		t.Fatalf("first delivery: %d %s", first.Code, first.Body)
	}
	// The same request again (a replay), then the sender's retry: same id, a later timestamp
	// and a fresh signature.
	again := serve(s, signed(webhookKey, "msg_1", t0, body))
	clk.advance(2 * time.Minute)
	retry := serve(s, signed(webhookKey, "msg_1", clk.now(), body))
	for name, w := range map[string]*httptest.ResponseRecorder{"replay": again, "retry": retry} {
		if w.Code != http.StatusAccepted || w.Body.String() != first.Body.String() {
			t.Errorf("%s: %d %s, want the first answer %s", name, w.Code, w.Body, first.Body)
		}
		answer(t, w)
	}
	if n := len(p.recorded()); n != 1 {
		t.Errorf("%d submits, want 1: a webhook-id is stored once", n)
	}
	// Another id is another delivery, even of the same body.
	if w := serve(s, signed(webhookKey, "msg_2", clk.now(), body)); w.Code != http.StatusAccepted {
		t.Fatalf("another id: %d", w.Code)
	}
	if n := len(p.recorded()); n != 2 {
		t.Errorf("%d submits, want 2", n)
	}
	reg := s.Metrics().Registry()
	if a, r := sample(t, reg, "leadhouse_callbacks_total", "outcome", "accepted"), sample(t, reg, "leadhouse_callbacks_total", "outcome", "replayed"); a != 2 || r != 2 {
		t.Errorf("accepted %v, replayed %v; want 2 and 2", a, r)
	}
}

func TestReplayOfDeadLetterRepeatsItsAnswer(t *testing.T) {
	p := &fakePipeline{}
	s := newSignedServer(t, p, newTestClock(), nil)
	body := []byte(`{"lead_id":`)
	first := serve(s, signed(webhookKey, "msg_bad", t0, body))
	again := serve(s, signed(webhookKey, "msg_bad", t0, body))
	if first.Code != http.StatusBadRequest || again.Code != first.Code || again.Body.String() != first.Body.String() {
		t.Errorf("answers %d %s and %d %s, want the same 400 twice", first.Code, first.Body, again.Code, again.Body)
	}
	if n := len(p.recorded()); n != 1 {
		t.Errorf("%d submits, want one dead letter", n)
	}
}

func TestReplayOfRefusedDeliveryIsStored(t *testing.T) {
	p := &fakePipeline{submitErr: errors.New("disk on fire")}
	s := newSignedServer(t, p, newTestClock(), nil)
	body := []byte(`{"lead_id":9}`)
	if w := serve(s, signed(webhookKey, "msg_9", t0, body)); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("store refused: status %d, want 503", w.Code)
	}
	p.mu.Lock()
	p.submitErr = nil
	p.mu.Unlock()
	// Nothing was stored the first time, so the re-delivery is handled afresh.
	if w := serve(s, signed(webhookKey, "msg_9", t0, body)); w.Code != http.StatusAccepted {
		t.Fatalf("re-delivery: status %d, want 202", w.Code)
	}
	if n := len(p.recorded()); n != 1 {
		t.Errorf("%d submits, want 1", n)
	}
}

func TestConcurrentDeliveriesOfOneWebhookIDAreStoredOnce(t *testing.T) {
	p := &fakePipeline{gate: make(chan struct{}), entered: make(chan struct{})}
	s := newSignedServer(t, p, newTestClock(), nil)
	body := []byte(`{"lead_id":3}`)
	done := make(chan int)
	go func() { done <- serve(s, signed(webhookKey, "msg_3", t0, body)).Code }()
	<-p.entered
	w := serve(s, signed(webhookKey, "msg_3", t0, body))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("while the first is in flight: %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	close(p.gate)
	if code := <-done; code != http.StatusAccepted {
		t.Fatalf("first delivery: %d", code)
	}
	p.gate = nil
	if w := serve(s, signed(webhookKey, "msg_3", t0, body)); w.Code != http.StatusAccepted {
		t.Errorf("after it: %d, want 202", w.Code)
	}
	if n := len(p.recorded()); n != 1 {
		t.Errorf("%d submits, want 1", n)
	}
}

func TestWebhookIDsAreScopedBySecret(t *testing.T) {
	p := &fakePipeline{}
	s := newSignedServer(t, p, newTestClock(), nil)
	serve(s, signed(webhookKey, "msg_same", t0, []byte(`{"lead_id":1}`)))
	serve(s, signed(rotatedKey, "msg_same", t0, []byte(`{"lead_id":2}`)))
	if n := len(p.recorded()); n != 2 {
		t.Errorf("%d submits, want 2: one sender's id does not answer for another's", n)
	}
}

func TestWebhookIDsAreForgottenAndBounded(t *testing.T) {
	p := &fakePipeline{}
	clk := newTestClock()
	s := newSignedServer(t, p, clk, func(o *Options) { o.WebhookMaxIDs = 3 })
	reg := s.Metrics().Registry()
	for i := range 5 {
		serve(s, signed(webhookKey, "msg_"+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Second), []byte(`{"lead_id":1}`)))
		if n := sample(t, reg, "leadhouse_webhook_ids"); n > 3 {
			t.Fatalf("%v ids remembered, bound 3", n)
		}
	}
	// The ids closest to leaving the tolerance went first: the newest is still answered.
	serve(s, signed(webhookKey, "msg_4", t0.Add(4*time.Second), []byte(`{"lead_id":1}`)))
	if n := len(p.recorded()); n != 5 {
		t.Errorf("%d submits, want 5 (the newest id's re-delivery answered from memory)", n)
	}
	// Once their timestamps leave the tolerance no id is needed any more.
	clk.advance(5*time.Minute + 5*time.Second)
	if n := sample(t, reg, "leadhouse_webhook_ids"); n != 0 {
		t.Errorf("%v ids remembered after the tolerance, want 0", n)
	}
}

func TestGenericHMACVerification(t *testing.T) {
	body := []byte(`{"lead_id":11}`)
	mac := func(key string) []byte { m := hmac.New(sha256.New, []byte(key)); m.Write(body); return m.Sum(nil) }
	good := mac(hmacTestSecret)
	tests := []struct {
		name, value string
		want        int
		reason      authReason
	}{
		{"hex", "sha256=" + hex.EncodeToString(good), http.StatusAccepted, 0},
		{"upper-case hex and prefix", "SHA256=" + strings.ToUpper(hex.EncodeToString(good)), http.StatusAccepted, 0},
		{"spaces around", "  sha256=" + hex.EncodeToString(good) + " ", http.StatusAccepted, 0},
		{"rotated secret", "sha256=" + hex.EncodeToString(mac("second-secret-abcdef")), http.StatusAccepted, 0},
		{"no prefix", hex.EncodeToString(good), http.StatusUnauthorized, reasonMalformedSignature},
		{"short digest", "sha256=" + hex.EncodeToString(good[:31]), http.StatusUnauthorized, reasonMalformedSignature},
		{"not hex", "sha256=" + strings.Repeat("zz", 32), http.StatusUnauthorized, reasonMalformedSignature},
		{"base64 instead of hex", "sha256=" + base64.StdEncoding.EncodeToString(good), http.StatusUnauthorized, reasonMalformedSignature},
		{"wrong secret", "sha256=" + hex.EncodeToString(mac("not-the-secret")), http.StatusUnauthorized, reasonInvalidSignature},
		{"missing", "", http.StatusUnauthorized, reasonMissingSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePipeline{}
			s := newTestServer(t, p, func(o *Options) {
				o.Tokens = nil
				o.HMAC = HMACOptions{Secrets: []string{hmacTestSecret, "second-secret-abcdef"}, Prefix: "sha256="}
			})
			r := httptest.NewRequest(http.MethodPost, "/v1/callbacks", bytes.NewReader(body))
			if tt.value != "" {
				r.Header.Set("X-Signature", tt.value)
			}
			w := serve(s, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d; %s", w.Code, tt.want, w.Body)
			}
			answer(t, w)
			if tt.want == http.StatusUnauthorized {
				if got := sample(t, s.Metrics().Registry(), "leadhouse_auth_failures_total", "reason", tt.reason.String()); got != 1 {
					t.Errorf("auth failures %s = %v, want 1", tt.reason, got)
				}
			}
		})
	}
	t.Run("base64 encoding", func(t *testing.T) {
		s := newTestServer(t, &fakePipeline{}, func(o *Options) {
			o.Tokens = nil
			o.HMAC = HMACOptions{Secrets: []string{hmacTestSecret}, Encoding: "base64"}
		})
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			r := httptest.NewRequest(http.MethodPost, "/v1/callbacks", bytes.NewReader(body))
			r.Header.Set("X-Signature", enc.EncodeToString(good))
			if w := serve(s, r); w.Code != http.StatusAccepted {
				t.Errorf("%q: status %d, want 202", r.Header.Get("X-Signature"), w.Code)
			}
		}
	})
}

// TestCredentialCombinations proves how tokens and signatures combine: every kind configured is
// required, unless AnyCredential accepts one valid credential of either kind.
func TestCredentialCombinations(t *testing.T) {
	body := []byte(`{"lead_id":21}`)
	type req struct{ token, signature bool }
	build := func(rq req, wrongToken, wrongSig bool) *http.Request {
		r := signed(webhookKey, "msg_c", t0, body)
		if !rq.signature {
			r.Header.Del("webhook-id")
			r.Header.Del("webhook-timestamp")
			r.Header.Del("webhook-signature")
		} else if wrongSig {
			r.Header.Set("webhook-signature", signV1(rotatedKey, "msg_c", t0s, []byte("other")))
		}
		if rq.token {
			tok := testToken
			if wrongToken {
				tok = "wrong-token-value"
			}
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		return r
	}
	tests := []struct {
		name                 string
		tokens, secrets, any bool
		req                  req
		wrongToken, wrongSig bool
		want                 int
	}{
		{"tokens only: token", true, false, false, req{true, false}, false, false, 202},
		{"tokens only: signature is not a token", true, false, false, req{false, true}, false, false, 401},
		{"secrets only: signature", false, true, false, req{false, true}, false, false, 202},
		{"secrets only: token is not a signature", false, true, false, req{true, false}, false, false, 401},
		{"both: token and signature", true, true, false, req{true, true}, false, false, 202},
		{"both: token alone", true, true, false, req{true, false}, false, false, 401},
		{"both: signature alone", true, true, false, req{false, true}, false, false, 401},
		{"both: wrong token, good signature", true, true, false, req{true, true}, true, false, 401},
		{"both: good token, wrong signature", true, true, false, req{true, true}, false, true, 401},
		{"any: token alone", true, true, true, req{true, false}, false, false, 202},
		{"any: signature alone", true, true, true, req{false, true}, false, false, 202},
		{"any: wrong token, good signature", true, true, true, req{true, true}, true, false, 202},
		{"any: wrong token alone", true, true, true, req{true, false}, true, false, 401},
		{"any: wrong signature alone", true, true, true, req{false, true}, false, true, 401},
		{"any: nothing", true, true, true, req{false, false}, false, false, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, &fakePipeline{}, func(o *Options) {
				o.now = newTestClock().now
				o.AnyCredential = tt.any
				if !tt.tokens {
					o.Tokens = nil
				}
				if tt.secrets {
					o.WebhookSecrets = []string{webhookSecret}
				}
			})
			w := serve(s, build(tt.req, tt.wrongToken, tt.wrongSig))
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d; %s", w.Code, tt.want, w.Body)
			}
			answer(t, w)
		})
	}
}

func TestParseWebhookSecret(t *testing.T) {
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, n)) }
	tests := []struct {
		secret string
		size   int // 0: refused
	}{
		{"whsec_" + b64(32), 32},
		{"whsec_" + b64(24), 24},
		{"whsec_" + b64(64), 64},
		{b64(32), 32}, // shown without the prefix
		{" whsec_" + b64(32) + " ", 32},
		{"whsec_" + b64(23), 0},
		{"whsec_" + b64(65), 0},
		{"whsec_not base64!", 0},
		{"whsec_", 0},
		{"", 0},
	}
	for _, tt := range tests {
		key, err := ParseWebhookSecret(tt.secret)
		if tt.size == 0 {
			if err == nil {
				t.Errorf("%q accepted", tt.secret)
			}
			continue
		}
		if err != nil || len(key) != tt.size {
			t.Errorf("%q: %d bytes, %v; want %d", tt.secret, len(key), err, tt.size)
		}
	}
}

func TestNewRefusesBadSignatureOptions(t *testing.T) {
	for name, edit := range map[string]func(*Options){
		"short webhook secret": func(o *Options) { o.WebhookSecrets = []string{"whsec_c2hvcnQ="} },
		"hmac algorithm":       func(o *Options) { o.HMAC = HMACOptions{Secrets: []string{"s"}, Algorithm: "md5"} },
		"hmac encoding":        func(o *Options) { o.HMAC = HMACOptions{Secrets: []string{"s"}, Encoding: "base32"} },
		"empty hmac secret":    func(o *Options) { o.HMAC = HMACOptions{Secrets: []string{"s", ""}} },
		"no credential":        func(o *Options) { o.Tokens = nil },
		"bad trusted proxy":    func(o *Options) { o.TrustedProxies = make([]netip.Prefix, 1) },
	} {
		opts := Options{Pipeline: &fakePipeline{}, Tokens: []string{testToken}}
		edit(&opts)
		if _, err := New(opts); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// FuzzParseWebhookSignatures checks that parsing any webhook-signature header returns only
// signatures the header holds as v1 entries.
func FuzzParseWebhookSignatures(f *testing.F) {
	for _, s := range []string{
		"v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
		"v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==",
		"v1,", ",", "v1,,", "v1,a b", "  v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN_H_pI4  ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		sigs := parseWebhookSignatures(header, nil)
		entries := map[[32]byte]bool{}
		for _, e := range strings.Split(header, " ") {
			v, b64, ok := strings.Cut(e, ",")
			if !ok || v != "v1" || strings.ContainsAny(b64, "\r\n") {
				continue
			}
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
				if d, err := enc.Strict().DecodeString(b64); err == nil && len(d) == 32 {
					entries[[32]byte(d)] = true
				}
			}
		}
		for _, s := range sigs {
			if !entries[s] {
				t.Fatalf("%q: parsed %x, which is no v1 entry of it", header, s)
			}
		}
		if len(entries) > 0 && len(sigs) == 0 {
			t.Fatalf("%q: no signature parsed, but it holds %d", header, len(entries))
		}
	})
}

// FuzzDecodeSignature checks the generic header's decoder against encoding/hex and
// encoding/base64: whatever it accepts, re-encoded, is the value it was given.
func FuzzDecodeSignature(f *testing.F) {
	for _, s := range []string{"sha256=00ff", "SHA256=00FF", "00ff", "AP8=", "AP8", "_-8", " sha256=00ff "} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, value string, isHex bool) {
		for _, prefix := range []string{"", "sha256="} {
			dst := make([]byte, 2)
			if !decodeSignature(dst, value, prefix, isHex) {
				continue
			}
			v := strings.TrimSpace(value)[len(prefix):]
			if isHex {
				if !strings.EqualFold(v, hex.EncodeToString(dst)) {
					t.Fatalf("%q decoded to %x", value, dst)
				}
				continue
			}
			ok := false
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
				ok = ok || enc.EncodeToString(dst) == v
			}
			if !ok {
				t.Fatalf("%q decoded to %x, which encodes otherwise", value, dst)
			}
		}
	})
}
