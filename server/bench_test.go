package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/sink"
)

// nopPipeline acknowledges everything at once, so a benchmark measures the server alone.
type nopPipeline struct{}

func (nopPipeline) Submit(context.Context, sink.Input, sink.Decoded) (sink.Ack, error) {
	return sink.Ack{}, nil
}
func (nopPipeline) Ready() error      { return nil }
func (nopPipeline) Stats() sink.Stats { return sink.Stats{} }

// discardWriter is a ResponseWriter that keeps its header map between requests, unlike
// httptest.ResponseRecorder, whose own allocations would swamp the handler's.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// reusableRequest is one POST whose body can be rewound for the next iteration.
type reusableRequest struct {
	r    *http.Request
	body *bytes.Reader
	w    discardWriter
}

func newReusableRequest(body []byte) *reusableRequest {
	rr := &reusableRequest{body: bytes.NewReader(body), w: discardWriter{h: make(http.Header)}}
	rr.r = httptest.NewRequest(http.MethodPost, "/v1/callbacks", nil)
	rr.r.Body = io.NopCloser(rr.body)
	rr.r.ContentLength = int64(len(body))
	rr.r.Header.Set("Authorization", "Bearer "+testToken)
	rr.r.Header.Set("Content-Type", "application/json")
	return rr
}

func (rr *reusableRequest) serve(b *testing.B, s *Server, body []byte) {
	rr.body.Reset(body)
	clear(rr.w.h)
	s.ServeHTTP(&rr.w, rr.r)
	if rr.w.code != http.StatusAccepted {
		b.Fatalf("status %d", rr.w.code)
	}
}

// reportCPU adds cpu-ns/op and req/cpu-s (requests one core answers per second) to b; since is
// processCPU() at the start of the timed loop.
func reportCPU(b *testing.B, since time.Duration) {
	cpu := processCPU() - since
	if cpu <= 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "req/cpu-s")
}

// benchLimits keeps the limits on, at a rate no benchmark reaches, so that their cost is in
// every figure.
func benchLimits(o *Options) { o.RateLimit = 1e12 }

func BenchmarkCallback(b *testing.B) {
	body := fixture(b, "seed_callback.json")
	s := newTestServer(b, nopPipeline{}, benchLimits)
	rr := newReusableRequest(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		rr.serve(b, s, body)
	}
	reportCPU(b, cpu)
}

func BenchmarkCallbackParallel(b *testing.B) {
	body := fixture(b, "seed_callback.json")
	s := newTestServer(b, nopPipeline{}, func(o *Options) { benchLimits(o); o.MaxConcurrent = 1 << 20 })
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		rr := newReusableRequest(body)
		for pb.Next() {
			rr.serve(b, s, body)
		}
	})
	reportCPU(b, cpu)
}

// BenchmarkCallbackSigned is BenchmarkCallback with a Standard Webhooks signature instead of a
// token: the headers' parse, the HMAC of the body, and a new webhook-id remembered every time
// (the ids cycle, and WebhookMaxIDs of 1 forgets each before it comes round again).
func BenchmarkCallbackSigned(b *testing.B) {
	body := fixture(b, "seed_callback.json")
	clk := newTestClock()
	s := newSignedServer(b, nopPipeline{}, clk, func(o *Options) { benchLimits(o); o.WebhookMaxIDs = 1 })
	const n = 1024
	ids, sigs := make([][]string, n), make([][]string, n)
	for i := range n {
		id := "msg_bench_" + strconv.Itoa(i)
		ids[i], sigs[i] = []string{id}, []string{signV1(webhookKey, id, t0s, body)}
	}
	rr := newReusableRequest(body)
	rr.r.Header.Del("Authorization")
	rr.r.Header["Webhook-Timestamp"] = []string{t0s}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := processCPU()
	i := 0
	for b.Loop() {
		rr.r.Header["Webhook-Id"], rr.r.Header["Webhook-Signature"] = ids[i%n], sigs[i%n]
		i++
		clk.advance(time.Microsecond) // the rate limit's buckets refill with the clock
		rr.serve(b, s, body)
	}
	reportCPU(b, cpu)
}

// BenchmarkCallbackHTTP goes through net/http's server over loopback: each goroutine keeps one
// connection and writes a prepared request on it, so the client costs little, but its CPU time
// is still counted in cpu-ns/op.
func BenchmarkCallbackHTTP(b *testing.B) {
	body := fixture(b, "seed_callback.json")
	s := newTestServer(b, nopPipeline{}, func(o *Options) { benchLimits(o); o.MaxConcurrent = 1 << 20 })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			b.Error(err)
		}
	}()
	req := []byte("POST /v1/callbacks HTTP/1.1\r\nHost: leadhouse\r\nAuthorization: Bearer " + testToken +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	req = append(req, body...)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := processCPU()
	defer reportCPU(b, cpu)
	b.RunParallel(func(pb *testing.PB) {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		for pb.Next() {
			if _, err := conn.Write(req); err != nil {
				b.Error(err)
				return
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

var _ Pipeline = nopPipeline{}
