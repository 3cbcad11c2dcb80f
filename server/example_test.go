package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/leadhouse/leadhouse/server"
	"github.com/leadhouse/leadhouse/sink"
)

// printPipeline stands in for *sink.Pipeline: it prints what the server hands it.
type printPipeline struct{}

func (printPipeline) Submit(_ context.Context, in sink.Input, dec sink.Decoded) (sink.Ack, error) {
	if dec.Rows != nil {
		fmt.Println("rows of lead", dec.Rows.Lead.LeadID)
	} else {
		fmt.Printf("dead letter %s: %q\n", dec.Reason, in.Body)
	}
	return sink.Ack{}, nil
}
func (printPipeline) Ready() error      { return nil }
func (printPipeline) Stats() sink.Stats { return sink.Stats{} }

func Example() {
	// In leadhouse serve the Metrics come first, so that the pipeline's hook can feed them:
	//
	//	m := server.NewMetrics()
	//	p, _ := sink.New(store, log, tracker, sink.Options{OnFlush: m.OnFlush, Reason: server.Reason, ...})
	//	srv, _ := server.New(server.Options{Pipeline: p, Metrics: m, Tokens: tokens})
	//	err := srv.ListenAndServe(ctx) // returns after a graceful shutdown once ctx is cancelled
	srv, err := server.New(server.Options{
		Pipeline: printPipeline{},
		Tokens:   []string{"old-token-being-retired", "new-token"},
	})
	if err != nil {
		panic(err)
	}
	for _, body := range []string{`{"lead_id": 42}`, `{"lead_id": 42`} {
		r := httptest.NewRequest("POST", "/v1/callbacks?token=new-token", strings.NewReader(body))
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// rows of lead 42
	// 202 {"callback_id":"bf381b45515d9f07c17286e77772d837","lead_id":42}
	// dead letter not_json: "{\"lead_id\": 42"
	// 400 {"error":"not JSON at byte 14: unexpected end of input","offset":14}
}

// A CRM that signs per Standard Webhooks: the server checks the signature and the timestamp,
// and answers a re-delivered webhook-id as before without storing it twice.
func Example_signedWebhooks() {
	key := []byte("an example key of 32 random byte") // the CRM shows it as whsec_ + base64
	srv, err := server.New(server.Options{
		Pipeline:       printPipeline{},
		WebhookSecrets: []string{"whsec_" + base64.StdEncoding.EncodeToString(key)},
	})
	if err != nil {
		panic(err)
	}
	body := `{"lead_id": 42}`
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("msg_1." + ts + "." + body))
	signature := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))

	for _, sig := range []string{signature, signature, "v1,bm90IHRoZSBzaWduYXR1cmUgb2YgdGhpcyBib2R5ISE="} {
		r := httptest.NewRequest("POST", "/v1/callbacks", strings.NewReader(body))
		r.Header.Set("webhook-id", "msg_1")
		r.Header.Set("webhook-timestamp", ts)
		r.Header.Set("webhook-signature", sig)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// rows of lead 42
	// 202 {"callback_id":"bf381b45515d9f07c17286e77772d837","lead_id":42}
	// 202 {"callback_id":"bf381b45515d9f07c17286e77772d837","lead_id":42}
	// 401 {"error":"invalid signature"}
}

func ExampleParseWebhookSecret() {
	key, err := server.ParseWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	fmt.Println(len(key), err)
	_, err = server.ParseWebhookSecret("whsec_c2hvcnQ=")
	fmt.Println(err)
	// Output:
	// 24 <nil>
	// webhook secret holds 5 bytes, the specification asks for 24 to 64
}

// A CRM that signs the body alone, GitHub-style: X-Hub-Signature-256: sha256=<hex>.
func ExampleHMACOptions() {
	srv, err := server.New(server.Options{
		Pipeline: printPipeline{},
		HMAC: server.HMACOptions{
			Secrets: []string{"crm-shared-secret"},
			Header:  "X-Hub-Signature-256",
			Prefix:  "sha256=",
		},
	})
	if err != nil {
		panic(err)
	}
	body := `{"lead_id": 42}`
	mac := hmac.New(sha256.New, []byte("crm-shared-secret"))
	mac.Write([]byte(body))
	for _, sig := range []string{"sha256=" + hex.EncodeToString(mac.Sum(nil)), ""} {
		r := httptest.NewRequest("POST", "/v1/callbacks", strings.NewReader(body))
		if sig != "" {
			r.Header.Set("X-Hub-Signature-256", sig)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// rows of lead 42
	// 202 {"callback_id":"bf381b45515d9f07c17286e77772d837","lead_id":42}
	// 401 {"error":"missing signature: send X-Hub-Signature-256"}
}
