package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/wal"
)

const (
	testToken    = "s3cret-token-one"
	rotatedToken = "s3cret-token-two"
)

// submission is what fakePipeline saw of one Submit, copied because the server reuses its buffers.
type submission struct {
	body       string
	remote     string
	receivedAt time.Time
	leadID     uint64
	callbackID string
	rejected   bool
	reason     string
	err        error
}

// fakePipeline records every Submit. It stands in for the sink pipeline, not for a store: what is
// under test is what the server hands over and how it answers.
type fakePipeline struct {
	mu        sync.Mutex
	submits   []submission
	submitErr error // returned by every Submit
	ready     error
	stats     sink.Stats
	// When gate is not nil, Submit sends on entered and then waits for gate to be closed.
	gate    chan struct{}
	entered chan struct{}
}

func (p *fakePipeline) Submit(ctx context.Context, in sink.Input, dec sink.Decoded) (sink.Ack, error) {
	s := submission{body: string(in.Body), remote: in.Remote, receivedAt: in.ReceivedAt}
	if dec.Rows != nil {
		s.leadID, s.callbackID = dec.Rows.Lead.LeadID, strings.Clone(dec.Rows.Lead.CallbackID)
	} else {
		s.rejected, s.reason, s.err = true, dec.Reason, dec.Err
	}
	if p.gate != nil {
		p.entered <- struct{}{}
		<-p.gate
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.submitErr != nil {
		return sink.Ack{}, p.submitErr
	}
	p.submits = append(p.submits, s)
	return sink.Ack{Position: wal.Position{Segment: 1, Offset: int64(len(p.submits))}}, nil
}

func (p *fakePipeline) Ready() error { p.mu.Lock(); defer p.mu.Unlock(); return p.ready }

func (p *fakePipeline) Stats() sink.Stats { p.mu.Lock(); defer p.mu.Unlock(); return p.stats }

func (p *fakePipeline) recorded() []submission {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]submission(nil), p.submits...)
}

func newTestServer(t testing.TB, p Pipeline, edit func(*Options)) *Server {
	t.Helper()
	opts := Options{Pipeline: p, Tokens: []string{testToken, rotatedToken}, Logger: slog.New(slog.DiscardHandler)}
	if edit != nil {
		edit(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func postCallback(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/callbacks", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+testToken)
	r.Header.Set("Content-Type", "application/json")
	return r
}

func serve(s *Server, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// answer decodes a JSON answer, failing the test when it is not a JSON object.
func answer(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer %q is not a JSON object: %v", w.Body.String(), err)
	}
	return m
}

func TestAcceptedCallbackIsSubmittedAndAcknowledged(t *testing.T) {
	p := &fakePipeline{}
	s := newTestServer(t, p, nil)
	body := fixture(t, "seed_callback.json")
	r := postCallback(string(body))
	r.RemoteAddr = "192.0.2.7:4711"
	before := time.Now()
	w := serve(s, r)

	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d, want 202; body %s", w.Code, w.Body)
	}
	got := answer(t, w)
	subs := p.recorded()
	if len(subs) != 1 {
		t.Fatalf("%d submits, want 1", len(subs))
	}
	sub := subs[0]
	if sub.rejected || sub.leadID != 1402361 || sub.body != string(body) || sub.remote != "192.0.2.7:4711" {
		t.Errorf("submitted %+v", sub)
	}
	if sub.receivedAt.Before(before) || sub.receivedAt.After(time.Now()) {
		t.Errorf("received at %v, not during the request", sub.receivedAt)
	}
	want := map[string]any{"callback_id": sub.callbackID, "lead_id": float64(1402361)}
	if len(got) != len(want) || got["callback_id"] != want["callback_id"] || got["lead_id"] != want["lead_id"] {
		t.Errorf("answer %v, want %v", got, want)
	}
	if sub.callbackID == "" {
		t.Error("empty callback id")
	}
}

func TestAnyContentTypeIsParsedAsJSON(t *testing.T) {
	p := &fakePipeline{}
	s := newTestServer(t, p, nil)
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-8"} {
		r := postCallback(`{"lead_id":7}`)
		r.Header.Set("Content-Type", ct)
		if w := serve(s, r); w.Code != http.StatusAccepted {
			t.Errorf("Content-Type %q: status %d, want 202", ct, w.Code)
		}
	}
}

func TestAuthentication(t *testing.T) {
	tests := []struct {
		name    string
		header  string // Authorization
		query   string
		want    int
		invalid bool // WWW-Authenticate names invalid_token
	}{
		{"bearer token", "Bearer " + testToken, "", http.StatusAccepted, false},
		{"rotated second token", "Bearer " + rotatedToken, "", http.StatusAccepted, false},
		{"scheme is case-insensitive", "bearer " + testToken, "", http.StatusAccepted, false},
		{"token in query", "", "token=" + testToken, http.StatusAccepted, false},
		{"escaped token in query", "", "a=1&token=" + strings.ReplaceAll(testToken, "-", "%2D"), http.StatusAccepted, false},
		{"rotated token in query", "", "token=" + rotatedToken, http.StatusAccepted, false},
		{"missing token", "", "", http.StatusUnauthorized, false},
		{"wrong token", "Bearer wrong", "", http.StatusUnauthorized, true},
		{"token prefix", "Bearer " + testToken[:len(testToken)-1], "", http.StatusUnauthorized, true},
		{"token with suffix", "Bearer " + testToken + "x", "", http.StatusUnauthorized, true},
		{"wrong token in query", "", "token=wrong", http.StatusUnauthorized, true},
		{"empty token in query", "", "token=", http.StatusUnauthorized, true},
		{"empty bearer", "Bearer", "", http.StatusUnauthorized, false},
		{"basic scheme", "Basic " + testToken, "", http.StatusUnauthorized, false},
		// The header wins: a wrong header is not rescued by a right query parameter.
		{"wrong header beats right query", "Bearer wrong", "token=" + testToken, http.StatusUnauthorized, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePipeline{}
			s := newTestServer(t, p, nil)
			r := httptest.NewRequest(http.MethodPost, "/v1/callbacks?"+tt.query, strings.NewReader(`{"lead_id":1}`))
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			w := serve(s, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.want, w.Body)
			}
			answer(t, w)
			if tt.want != http.StatusUnauthorized {
				return
			}
			challenge := w.Header().Get("WWW-Authenticate")
			if !strings.HasPrefix(challenge, "Bearer ") || strings.Contains(challenge, "invalid_token") != tt.invalid {
				t.Errorf("WWW-Authenticate %q", challenge)
			}
			if n := len(p.recorded()); n != 0 {
				t.Errorf("%d submits of an unauthenticated request", n)
			}
		})
	}
}

func TestInsecureNoAuthAcceptsWithoutToken(t *testing.T) {
	s := newTestServer(t, &fakePipeline{}, func(o *Options) { o.Tokens, o.InsecureNoAuth = nil, true })
	r := httptest.NewRequest(http.MethodPost, "/v1/callbacks", strings.NewReader(`{"lead_id":1}`))
	if w := serve(s, r); w.Code != http.StatusAccepted {
		t.Fatalf("status %d, want 202", w.Code)
	}
}

func TestNewRefusesMissingTokensAndPipeline(t *testing.T) {
	for name, opts := range map[string]Options{
		"no tokens":   {Pipeline: &fakePipeline{}},
		"empty token": {Pipeline: &fakePipeline{}, Tokens: []string{testToken, ""}},
		"no pipeline": {Tokens: []string{testToken}},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	s := newTestServer(t, &fakePipeline{}, nil)
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions} {
		r := httptest.NewRequest(m, "/v1/callbacks", nil)
		w := serve(s, r)
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
			t.Errorf("%s: status %d, Allow %q; want 405, POST", m, w.Code, w.Header().Get("Allow"))
		}
		answer(t, w)
	}
}

func TestBodyOverLimitIsRefused(t *testing.T) {
	const limit = 1000
	big := `{"lead_id":1,"pad":"` + strings.Repeat("x", limit) + `"}`
	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"by Content-Length", func() *http.Request { return postCallback(big) }},
		{"streamed without length", func() *http.Request {
			r := postCallback(big)
			// Hiding the length makes the server find out while reading.
			r.Body, r.ContentLength = io.NopCloser(struct{ io.Reader }{strings.NewReader(big)}), -1
			return r
		}},
		{"longer than declared", func() *http.Request {
			// A declared length under the limit does not let more through.
			r := postCallback(big)
			r.ContentLength = 10
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePipeline{}
			s := newTestServer(t, p, func(o *Options) { o.MaxBodyBytes = limit })
			w := serve(s, tt.req())
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413; body %s", w.Code, w.Body)
			}
			answer(t, w)
			if n := len(p.recorded()); n != 0 {
				t.Errorf("%d submits of an oversized body", n)
			}
		})
	}
	t.Run("exactly at the limit", func(t *testing.T) {
		s := newTestServer(t, &fakePipeline{}, func(o *Options) { o.MaxBodyBytes = limit })
		body := `{"lead_id":1,"pad":"` + strings.Repeat("x", limit-len(`{"lead_id":1,"pad":""}`)) + `"}`
		r := postCallback(body)
		r.Body, r.ContentLength = io.NopCloser(struct{ io.Reader }{strings.NewReader(body)}), -1
		if w := serve(s, r); w.Code != http.StatusAccepted {
			t.Fatalf("status %d, want 202; body %s", w.Code, w.Body)
		}
	})
}

func TestBodyOverWALRecordLimitIsTooLarge(t *testing.T) {
	p := &fakePipeline{submitErr: fmt.Errorf("append to write-ahead log: %w", wal.ErrTooLarge)}
	s := newTestServer(t, p, nil)
	w := serve(s, postCallback(`{"lead_id":1}`))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413 (retrying cannot help)", w.Code)
	}
	answer(t, w)
}

func TestReasonNamesFlattenErrors(t *testing.T) {
	for body, want := range map[string]string{
		`{"lead_id":`: ReasonNotJSON, ``: ReasonNotJSON, `[]`: ReasonNotCallback, `{}`: ReasonNotCallback, `{"lead_id":0}`: ReasonNotCallback,
	} {
		_, err := flatten.Flatten([]byte(body), time.Now())
		if got := Reason(err); got != want {
			t.Errorf("%q: Reason(%v) = %q, want %q", body, err, got, want)
		}
	}
}

// TestChunkedBodyOverLimitOverTheWire checks the limit with net/http's own server, where a body
// sent in chunks has no length to check up front.
func TestChunkedBodyOverLimitOverTheWire(t *testing.T) {
	p := &fakePipeline{}
	s := newTestServer(t, p, func(o *Options) { o.MaxBodyBytes = 1 << 10 })
	ts := httptest.NewServer(s)
	defer ts.Close()
	body := io.MultiReader(strings.NewReader(`{"lead_id":1,"pad":"`), strings.NewReader(strings.Repeat("x", 4<<10)), strings.NewReader(`"}`))
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/v1/callbacks?token="+testToken, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// A reader of unknown length leaves ContentLength 0, which the client sends chunked.
	if resp.StatusCode != http.StatusRequestEntityTooLarge || req.ContentLength != 0 {
		t.Fatalf("status %d (length %d), want 413 for a chunked body", resp.StatusCode, req.ContentLength)
	}
	if n := len(p.recorded()); n != 0 {
		t.Errorf("%d submits of an oversized body", n)
	}
}

// failingReader returns some bytes and then an error, like a client that goes away mid-body.
type failingReader struct{ sent bool }

func (r *failingReader) Read(b []byte) (int, error) {
	if r.sent {
		return 0, errors.New("connection reset by peer")
	}
	r.sent = true
	return copy(b, `{"lead_id":`), nil
}

func TestBodyCutShortIsNotKept(t *testing.T) {
	p := &fakePipeline{}
	s := newTestServer(t, p, nil)
	r := postCallback("")
	r.Body, r.ContentLength = io.NopCloser(&failingReader{}), -1
	w := serve(s, r)
	// 503 and Retry-After, not a 4xx: webhook senders give up on a 4xx.
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if got := answer(t, w); !strings.Contains(got["error"].(string), "connection reset") {
		t.Errorf("answer %v does not say why", got)
	}
	// The sender got no 202 and sends again; a fragment is not a dead letter.
	if n := len(p.recorded()); n != 0 {
		t.Errorf("%d submits of a body cut short", n)
	}
}

// FuzzCallbackIsNeverLost proves the handler's promise for any body: it is either accepted as
// rows (202) or kept as a dead letter (400 with an offset, or 422), and the answer is JSON.
func FuzzCallbackIsNeverLost(f *testing.F) {
	f.Add(fixture(f, "seed_callback.json"))
	f.Add(fixture(f, "seed_callback_invalid.json"))
	for _, s := range []string{``, `[]`, `{}`, `{"lead_id":"abc"}`, `{"lead_id":1}`, "\xff", `{"lead_id":1,}`} {
		f.Add([]byte(s))
	}
	p := &fakePipeline{}
	s := newTestServer(f, p, func(o *Options) { o.RateLimit = -1 })
	f.Fuzz(func(t *testing.T, body []byte) {
		p.mu.Lock()
		p.submits = p.submits[:0]
		p.mu.Unlock()
		w := serve(s, postCallback(string(body)))
		got := answer(t, w)
		subs := p.recorded()
		if len(subs) != 1 || subs[0].body != string(body) {
			t.Fatalf("status %d: submits %+v, want exactly the body once", w.Code, subs)
		}
		sub := subs[0]
		switch w.Code {
		case http.StatusAccepted:
			if sub.rejected || got["callback_id"] != sub.callbackID || got["lead_id"] != float64(sub.leadID) {
				t.Fatalf("202 %v for submission %+v", got, sub)
			}
		case http.StatusBadRequest:
			off, ok := got["offset"].(float64)
			if sub.reason != ReasonNotJSON || !ok || off < 0 || int(off) > len(body) {
				t.Fatalf("400 %v for submission %+v", got, sub)
			}
		case http.StatusUnprocessableEntity:
			if sub.reason != ReasonNotCallback {
				t.Fatalf("422 %v for submission %+v", got, sub)
			}
		default:
			t.Fatalf("status %d for a body", w.Code)
		}
	})
}

func TestCompressedBodyIsUnsupported(t *testing.T) {
	p := &fakePipeline{}
	s := newTestServer(t, p, nil)
	r := postCallback(`{"lead_id":1}`)
	r.Header.Set("Content-Encoding", "gzip")
	w := serve(s, r)
	if w.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("status %d, want 415", w.Code)
	}
	answer(t, w)
}

func TestNotJSONIsKeptAsDeadLetterWithOffset(t *testing.T) {
	p := &fakePipeline{}
	s := newTestServer(t, p, nil)
	body := fixture(t, "seed_callback_invalid.json")
	w := serve(s, postCallback(string(body)))
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400; body %s", w.Code, w.Body)
	}
	got := answer(t, w)
	// The fixture's flaw is a missing colon: `"agent_name" "Tanvi Tyagi"`.
	wantOffset := bytes.Index(body, []byte(`"agent_name" "`)) + len(`"agent_name" `)
	if got["offset"] != float64(wantOffset) {
		t.Errorf("offset %v, want %d", got["offset"], wantOffset)
	}
	if msg, _ := got["error"].(string); msg == "" {
		t.Errorf("no error message in %v", got)
	}
	subs := p.recorded()
	if len(subs) != 1 || !subs[0].rejected || subs[0].reason != ReasonNotJSON || subs[0].body != string(body) || subs[0].err == nil {
		t.Fatalf("submits %+v, want one not_json rejection of the body", subs)
	}
}

func TestNotACallbackIsKeptAsDeadLetter(t *testing.T) {
	for _, body := range []string{`[]`, `"x"`, `{}`, `{"lead_id":"abc"}`, `{"lead_id":-1}`, `null`, `42`} {
		t.Run(body, func(t *testing.T) {
			p := &fakePipeline{}
			s := newTestServer(t, p, nil)
			w := serve(s, postCallback(body))
			if w.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422; body %s", w.Code, w.Body)
			}
			got := answer(t, w)
			if _, ok := got["offset"]; ok {
				t.Errorf("422 answer %v has an offset", got)
			}
			subs := p.recorded()
			if len(subs) != 1 || !subs[0].rejected || subs[0].reason != ReasonNotCallback || subs[0].body != body {
				t.Fatalf("submits %+v, want one not_callback rejection of the body", subs)
			}
		})
	}
}

func TestEmptyBodyIsNotJSON(t *testing.T) {
	p := &fakePipeline{}
	s := newTestServer(t, p, nil)
	w := serve(s, postCallback(""))
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", w.Code)
	}
	if got := answer(t, w); got["offset"] != float64(0) {
		t.Errorf("offset %v, want 0", got["offset"])
	}
	if subs := p.recorded(); len(subs) != 1 || subs[0].reason != ReasonNotJSON {
		t.Errorf("submits %+v, want one not_json rejection", subs)
	}
}

func TestPipelineRefusalIsRetryLater(t *testing.T) {
	errs := []error{sink.ErrBacklogFull, sink.ErrUnavailable, sink.ErrClosed, errors.New("disk on fire")}
	bodies := map[string]string{"callback": `{"lead_id":1}`, "rejection": `{"lead_id":`}
	for _, err := range errs {
		for kind, body := range bodies {
			t.Run(err.Error()+"/"+kind, func(t *testing.T) {
				p := &fakePipeline{submitErr: err}
				s := newTestServer(t, p, func(o *Options) { o.RetryAfter = 1500 * time.Millisecond })
				w := serve(s, postCallback(body))
				if w.Code != http.StatusServiceUnavailable {
					t.Fatalf("status %d, want 503; body %s", w.Code, w.Body)
				}
				if ra := w.Header().Get("Retry-After"); ra != "2" {
					t.Errorf("Retry-After %q, want 2 (1.5s rounded up)", ra)
				}
				answer(t, w)
			})
		}
	}
}

func TestOverConcurrencyCapIsRefusedAtOnce(t *testing.T) {
	const limit = 2
	p := &fakePipeline{gate: make(chan struct{}), entered: make(chan struct{})}
	s := newTestServer(t, p, func(o *Options) { o.MaxConcurrent = limit })

	var wg sync.WaitGroup
	codes := make([]int, limit)
	for i := range limit {
		wg.Go(func() { codes[i] = serve(s, postCallback(`{"lead_id":1}`)).Code })
	}
	for range limit {
		<-p.entered
	}
	if got := s.inflight(); got != limit {
		t.Errorf("in flight %d, want %d", got, limit)
	}
	w := serve(s, postCallback(`{"lead_id":2}`))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("over the cap: status %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	close(p.gate)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusAccepted {
			t.Errorf("request %d under the cap: status %d, want 202", i, c)
		}
	}
	// The slots are free again.
	p.gate = nil
	if w := serve(s, postCallback(`{"lead_id":3}`)); w.Code != http.StatusAccepted {
		t.Errorf("after the burst: status %d, want 202", w.Code)
	}
}

func TestReadyzReflectsPipeline(t *testing.T) {
	p := &fakePipeline{}
	s := newTestServer(t, p, nil)
	w := serve(s, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if w.Code != http.StatusOK || answer(t, w)["status"] != "ready" {
		t.Errorf("ready pipeline: %d %s", w.Code, w.Body)
	}

	tests := []struct {
		ready      error
		wantCode   int
		wantStatus string
	}{
		{fmt.Errorf("%w: 4096 bytes wait", sink.ErrBacklogFull), http.StatusServiceUnavailable, "not_ready"},
		{sink.ErrClosed, http.StatusServiceUnavailable, "not_ready"},
		{errors.New(`sink: pipeline "x" not started`), http.StatusServiceUnavailable, "not_ready"},
		// Callbacks still reach the write-ahead log while the store is down.
		{fmt.Errorf("%w since noon: store down", sink.ErrDegraded), http.StatusOK, "degraded"},
	}
	for _, tt := range tests {
		p.mu.Lock()
		p.ready = tt.ready
		p.mu.Unlock()
		w = serve(s, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		got := answer(t, w)
		if w.Code != tt.wantCode || got["status"] != tt.wantStatus || got["error"] != tt.ready.Error() {
			t.Errorf("Ready() = %v: %d %s, want %d with status %s and the error", tt.ready, w.Code, w.Body, tt.wantCode, tt.wantStatus)
		}
	}

	// Liveness does not depend on the pipeline.
	w = serve(s, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if w.Code != http.StatusOK {
		t.Errorf("healthz %d, want 200", w.Code)
	}
}

func TestIndexIsTheStatusPage(t *testing.T) {
	s := newTestServer(t, &fakePipeline{}, nil)
	w := serve(s, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "status.json") || !strings.Contains(w.Body.String(), "/v1/callbacks") {
		t.Errorf("index: %d %q", w.Code, w.Body)
	}
	if w := serve(s, httptest.NewRequest(http.MethodGet, "/nope", nil)); w.Code != http.StatusNotFound {
		t.Errorf("unknown path: %d, want 404", w.Code)
	}
}

// TestShutdownWaitsForInFlightCallback proves that cancelling Serve's context lets an accepted
// request finish and get its 202, turns /readyz to 503 meanwhile, and returns nil.
func TestShutdownWaitsForInFlightCallback(t *testing.T) {
	p := &fakePipeline{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	s := newTestServer(t, p, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	url := "http://" + ln.Addr().String() + "/v1/callbacks?token=" + testToken
	status := make(chan int, 1)
	go func() {
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"lead_id":9}`))
		if err != nil {
			status <- -1
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-p.entered
	cancel()
	<-s.draining
	if w := serve(s, httptest.NewRequest(http.MethodGet, "/readyz", nil)); w.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz while draining: %d, want 503", w.Code)
	}
	close(p.gate)
	if got := <-status; got != http.StatusAccepted {
		t.Errorf("in-flight callback: status %d, want 202", got)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if n := len(p.recorded()); n != 1 {
		t.Errorf("%d submits, want 1", n)
	}
}

func TestListenAndServeReportsListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := newTestServer(t, &fakePipeline{}, func(o *Options) { o.Addr = ln.Addr().String() })
	if err := s.ListenAndServe(t.Context()); err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("ListenAndServe on a taken port: %v", err)
	}
}

func TestHTTPServerHasTimeouts(t *testing.T) {
	s := newTestServer(t, &fakePipeline{}, nil)
	hs := s.NewHTTPServer()
	if hs.ReadHeaderTimeout != 5*time.Second || hs.ReadTimeout != 30*time.Second || hs.WriteTimeout != 30*time.Second ||
		hs.IdleTimeout != 120*time.Second || hs.MaxHeaderBytes != 64<<10 {
		t.Errorf("limits %v %v %v %v %v", hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout, hs.MaxHeaderBytes)
	}
}

func TestAnswersAreValidJSON(t *testing.T) {
	for _, msg := range []string{"", "plain", "quote \" backslash \\ newline \n tab \t", "ctl \x00\x1f\x7f", "bad utf8 \xff\xfe", "日本語 ✓", "\u2028"} {
		b := appendError(nil, msg)
		b = appendOffset(b, 12)
		var got struct {
			Error  string
			Offset int64
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%q: %s is not JSON: %v", msg, b, err)
			continue
		}
		want, _ := json.Marshal(msg)
		var wantStr string
		_ = json.Unmarshal(want, &wantStr)
		if got.Error != wantStr || got.Offset != 12 {
			t.Errorf("%q: round trip gave %q, %d", msg, got.Error, got.Offset)
		}
	}
	b := appendAccepted(nil, "0123abcd", 18446744073709551615)
	if string(b) != `{"callback_id":"0123abcd","lead_id":18446744073709551615}` {
		t.Errorf("accepted answer %s", b)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\x00", "é", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q encoded as %s: %v", s, b, err)
		}
		// encoding/json replaces invalid UTF-8 the same way, so its round trip is the reference.
		ref, _ := json.Marshal(s)
		var want string
		_ = json.Unmarshal(ref, &want)
		if got != want {
			t.Fatalf("%q round-tripped to %q, want %q", s, got, want)
		}
	})
}

func TestRetryAfterRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "5", time.Second: "1", 1001 * time.Millisecond: "2", time.Minute: "60"} {
		s := newTestServer(t, &fakePipeline{}, func(o *Options) { o.RetryAfter = d })
		if got := s.retryAfter[0]; got != want {
			t.Errorf("RetryAfter %v: header %q, want %q", d, got, want)
		}
	}
}
