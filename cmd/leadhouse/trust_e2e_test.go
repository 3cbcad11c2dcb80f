package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServeVerifiesSignedWebhooks runs the binary with a Standard Webhooks secret and no token:
// a signed callback is stored once however often it is delivered, an unsigned one is refused,
// and an address that keeps failing is made to wait, with the right signature too. The log holds
// neither the secret nor a signature.
func TestServeVerifiesSignedWebhooks(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	key := []byte("e2e-webhook-signing-key-32-bytes")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	inst := start(t, bin, serveEnv(dataDir, "LEADHOUSE_TOKEN=", "LEADHOUSE_WEBHOOK_SECRETS="+secret,
		"LEADHOUSE_AUTH_FAILURE_BURST=2", "LEADHOUSE_LOG_LEVEL=debug"))
	client := &http.Client{Timeout: 30 * time.Second}
	cb := inst.url + "/v1/callbacks"
	seed := fixture(t, "seed_callback.json")
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sign := func(id string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + ts + "."))
		m.Write(seed)
		return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	postSigned := func(id, sig string) answer {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, cb, bytes.NewReader(seed))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", ts)
		req.Header.Set("webhook-signature", sig)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return answer{status: resp.StatusCode, header: resp.Header, body: map[string]any{"raw": string(raw)}}
	}

	first := postSigned("msg_e2e_1", sign("msg_e2e_1"))
	again := postSigned("msg_e2e_1", sign("msg_e2e_1"))
	if first.status != http.StatusAccepted || again.status != http.StatusAccepted || first.body["raw"] != again.body["raw"] {
		t.Fatalf("signed twice: %d %v, then %d %v; want the same 202", first.status, first.body, again.status, again.body)
	}
	if a := post(t, client, cb, "Bearer "+testToken, seed); a.status != http.StatusUnauthorized {
		t.Errorf("a token without a signature: %d, want 401", a.status)
	}
	if a := postSigned("msg_e2e_2", sign("msg_e2e_other")); a.status != http.StatusUnauthorized {
		t.Errorf("a wrong signature: %d, want 401", a.status)
	}
	// Two failures from this address used its allowance: now even a right signature waits.
	blocked := postSigned("msg_e2e_3", sign("msg_e2e_3"))
	if blocked.status != http.StatusTooManyRequests || blocked.header.Get("Retry-After") == "" {
		t.Errorf("after two failures: %d, Retry-After %q; want 429 with Retry-After", blocked.status, blocked.header.Get("Retry-After"))
	}
	resp, err := client.Get(inst.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`leadhouse_callbacks_total{outcome="accepted"} 1`,
		`leadhouse_callbacks_total{outcome="replayed"} 1`,
		`leadhouse_auth_failures_total{reason="missing_signature"} 1`,
		`leadhouse_auth_failures_total{reason="invalid_signature"} 1`,
		`leadhouse_rate_limited_total{key_kind="address"} 1`,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
	inst.stop(t)

	// lead_updates keeps every delivery it is given: one row means the replay was not stored.
	if got := query(t, bin, dataDir, "SELECT count() FROM lead_updates"); got != "1" {
		t.Errorf("lead_updates holds %s rows, want 1", got)
	}
	logs := inst.stderr.String()
	for _, s := range []string{secret, strings.TrimPrefix(sign("msg_e2e_1"), "v1,"), testToken} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %q", s)
		}
	}
	if !strings.Contains(logs, `"reason":"invalid_signature"`) {
		t.Errorf("the debug log does not name the refusal:\n%s", logs)
	}
}
