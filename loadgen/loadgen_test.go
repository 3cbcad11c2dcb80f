package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/gen"
)

// recorder is a test server that counts what it receives and acknowledges every
// callback with a unique id.
type recorder struct {
	mu     sync.Mutex
	bodies map[string]int
	issued []string
	n      atomic.Int64
	// respond overrides the status for the n-th request (1-based); nil means 202.
	respond func(n int64) int
	delay   time.Duration
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n := rc.n.Add(1)
	if rc.delay > 0 {
		time.Sleep(rc.delay) // simulated processing time, not synchronisation
	}
	code := http.StatusAccepted
	if rc.respond != nil {
		code = rc.respond(n)
	}
	id := "cb-" + strconv.FormatInt(n, 10)
	rc.mu.Lock()
	if rc.bodies == nil {
		rc.bodies = map[string]int{}
	}
	rc.bodies[string(body)]++
	if code == http.StatusAccepted {
		rc.issued = append(rc.issued, id)
	}
	rc.mu.Unlock()
	w.WriteHeader(code)
	if code == http.StatusAccepted {
		fmt.Fprintf(w, `{"callback_id":%q,"lead_id":1402361}`, id)
	}
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/callbacks"
}

func smallPool(t *testing.T, n int) [][]byte {
	t.Helper()
	g := gen.New(gen.Options{Seed: 3, Leads: 10})
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.Next(nil)
	}
	return out
}

func TestClosedLoopSendsExactCount(t *testing.T) {
	rc := &recorder{}
	bodies := smallPool(t, 7)
	res, err := Run(context.Background(), Options{URL: serve(t, rc), Conns: 4, Count: 300, Bodies: bodies})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 300 || res.Completed != 300 || res.OK != 300 || res.Status[202] != 300 || rc.n.Load() != 300 {
		t.Fatalf("sent %d completed %d ok %d status %v, server saw %d; want 300 each",
			res.Sent, res.Completed, res.OK, res.Status, rc.n.Load())
	}
	var wantBytes int64
	for i := range 300 {
		wantBytes += int64(len(bodies[i%len(bodies)]))
	}
	if res.BodyBytes != wantBytes {
		t.Errorf("body bytes %d, want %d", res.BodyBytes, wantBytes)
	}
	for i, b := range bodies {
		want := 300 / len(bodies)
		if i < 300%len(bodies) {
			want++
		}
		if rc.bodies[string(b)] != want {
			t.Errorf("body %d received %d times, want %d", i, rc.bodies[string(b)], want)
		}
	}
	if res.Latency.Count() != 300 || res.Mode != "closed" || res.Scheduled != 300 {
		t.Errorf("latency count %d, mode %s, scheduled %d", res.Latency.Count(), res.Mode, res.Scheduled)
	}
}

func TestClosedLoopStopsAtDuration(t *testing.T) {
	rc := &recorder{}
	res, err := Run(context.Background(), Options{URL: serve(t, rc), Conns: 2, Duration: 50 * time.Millisecond, Bodies: smallPool(t, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent == 0 || res.Sent != rc.n.Load() || res.OK != res.Sent {
		t.Fatalf("sent %d ok %d, server saw %d", res.Sent, res.OK, rc.n.Load())
	}
}

func TestOpenLoopSendsEveryScheduledRequest(t *testing.T) {
	tests := []struct {
		name     string
		rate     float64
		duration time.Duration
		count    int
		want     int64
	}{
		{"duration", 2000, 100 * time.Millisecond, 0, 200},
		{"fractional slots", 1000, 20*time.Millisecond + 500*time.Microsecond, 0, 21},
		{"count", 1000, 0, 50, 50},
		{"count before duration", 1000, time.Hour, 30, 30},
		{"duration before count", 1000, 25 * time.Millisecond, 1000, 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{}
			res, err := Run(context.Background(), Options{
				URL: serve(t, rc), Conns: 8, Rate: tt.rate, Duration: tt.duration, Count: tt.count, Bodies: smallPool(t, 3),
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Scheduled != tt.want || res.Sent != tt.want || res.OK != tt.want || rc.n.Load() != tt.want {
				t.Fatalf("scheduled %d sent %d ok %d, server saw %d; want %d",
					res.Scheduled, res.Sent, res.OK, rc.n.Load(), tt.want)
			}
			if res.Mode != "open" || res.Latency.Count() != tt.want {
				t.Fatalf("mode %s, %d latencies", res.Mode, res.Latency.Count())
			}
		})
	}
}

// A server slower than the schedule makes requests queue for the single
// connection; their latency must include that wait, which a closed-loop
// measurement would hide.
func TestOpenLoopLatencyIncludesQueueing(t *testing.T) {
	const (
		delay = 20 * time.Millisecond
		n     = 10
		slot  = time.Millisecond // rate 1000/s
	)
	rc := &recorder{delay: delay}
	res, err := Run(context.Background(), Options{URL: serve(t, rc), Conns: 1, Rate: 1000, Count: n, Bodies: smallPool(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != n {
		t.Fatalf("ok %d, want %d", res.OK, n)
	}
	if res.Latency.Min() < delay || res.Service.Min() < delay {
		t.Errorf("min latency %v, service %v; both must be at least the handler delay %v",
			res.Latency.Min(), res.Service.Min(), delay)
	}
	// Request n-1 was due at (n-1) slots but could not finish before n handler
	// delays had passed on the one connection.
	if lower := n*delay - (n-1)*slot; res.Latency.Max() < lower {
		t.Errorf("max latency %v, want at least %v: queueing for the connection was not counted", res.Latency.Max(), lower)
	}
}

func TestStatusesCountedByCode(t *testing.T) {
	rc := &recorder{respond: func(n int64) int {
		if n%2 == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusAccepted
	}}
	res, err := Run(context.Background(), Options{URL: serve(t, rc), Conns: 4, Count: 100, Bodies: smallPool(t, 2)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]int64{202: 50, 503: 50}
	if !mapsEqual(res.Status, want) || res.OK != 50 || res.Errors() != 50 || len(res.TransportErrors) != 0 {
		t.Fatalf("status %v ok %d errors %d transport %v; want %v", res.Status, res.OK, res.Errors(), res.TransportErrors, want)
	}
	if !strings.Contains(res.String(), "202=50 503=50") {
		t.Errorf("report does not show the status counts:\n%s", res)
	}
}

func mapsEqual[K comparable](a, b map[K]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestAckHookGetsEveryCallbackID(t *testing.T) {
	rc := &recorder{respond: func(n int64) int {
		if n%5 == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusAccepted
	}}
	var mu sync.Mutex
	var hooked []string
	res, err := Run(context.Background(), Options{
		URL: serve(t, rc), Conns: 6, Count: 200, Bodies: smallPool(t, 3), RecordIDs: true,
		OnAck: func(id string) {
			mu.Lock()
			hooked = append(hooked, id)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(rc.issued)
	slices.Sort(hooked)
	slices.Sort(res.Acked)
	if len(rc.issued) != 160 || !slices.Equal(hooked, rc.issued) || !slices.Equal(res.Acked, rc.issued) {
		t.Fatalf("server acknowledged %d callbacks; hook got %d, Result.Acked %d, or ids differ",
			len(rc.issued), len(hooked), len(res.Acked))
	}
	if res.BadAcks != 0 {
		t.Errorf("%d acks without callback_id", res.BadAcks)
	}
}

func TestAckWithoutCallbackIDIsCounted(t *testing.T) {
	url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"lead_id":1}`)
	}))
	res, err := Run(context.Background(), Options{URL: url, Conns: 2, Count: 10, Bodies: smallPool(t, 1), RecordIDs: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.BadAcks != 10 || len(res.Acked) != 0 {
		t.Fatalf("bad acks %d, acked %d; want 10 and 0", res.BadAcks, len(res.Acked))
	}
}

func TestBearerTokenSent(t *testing.T) {
	url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	for _, tt := range []struct {
		token string
		code  int
	}{{"s3cret", 202}, {"", 401}} {
		res, err := Run(context.Background(), Options{URL: url, Token: tt.token, Conns: 2, Count: 10, Bodies: smallPool(t, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status[tt.code] != 10 {
			t.Errorf("token %q: status %v, want 10 × %d", tt.token, res.Status, tt.code)
		}
	}
}

func TestRefusedConnectionsCountedAsTransportErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res, err := Run(context.Background(), Options{URL: "http://" + addr + "/v1/callbacks", Conns: 2, Count: 5, Bodies: smallPool(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if res.TransportErrors["conn_refused"] != 5 || res.Sent != 5 || res.Completed != 0 || res.Errors() != 5 {
		t.Fatalf("transport errors %v, sent %d, completed %d", res.TransportErrors, res.Sent, res.Completed)
	}
	if !strings.Contains(res.String(), "conn_refused=5") {
		t.Errorf("report does not show transport errors:\n%s", res)
	}
}

func TestBodiesFromFile(t *testing.T) {
	dir := t.TempDir()
	single := filepath.Join(dir, "seed_callback.json")
	if err := os.WriteFile(single, []byte("{\n \"lead_id\": 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	replay := filepath.Join(dir, "replay.ndjson")
	var c gen.Command
	c.Seed, c.Leads, c.Count, c.Output = 4, 5, 3, replay
	if err := c.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	lines, err := os.ReadFile(replay)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(lines)), "\n")
	tests := []struct {
		file string
		want []string
	}{
		{single, []string{"{\n \"lead_id\": 1\n}\n"}},
		{replay, want},
	}
	for _, tt := range tests {
		rc := &recorder{}
		res, err := Run(context.Background(), Options{URL: serve(t, rc), Conns: 1, Count: 3 * len(tt.want), BodyFile: tt.file})
		if err != nil {
			t.Fatal(err)
		}
		if res.Bodies != len(tt.want) || len(rc.bodies) != len(tt.want) {
			t.Fatalf("%s: %d bodies, server saw %d distinct, want %d", tt.file, res.Bodies, len(rc.bodies), len(tt.want))
		}
		for _, b := range tt.want {
			if rc.bodies[b] != 3 {
				t.Errorf("%s: body %.30q received %d times, want 3", tt.file, b, rc.bodies[b])
			}
		}
	}
}

func TestGeneratedPoolIsDeterministic(t *testing.T) {
	o := Options{Pool: 20, Gen: gen.Options{Seed: 9}}
	a, err := o.bodies()
	if err != nil {
		t.Fatal(err)
	}
	g := gen.New(gen.Options{Seed: 9})
	for i, b := range a {
		if want := g.Next(nil); string(b) != string(want) {
			t.Fatalf("pool body %d differs from the generator's payload %d", i, i)
		}
	}
}

func TestCeilingServerAcknowledgesEverything(t *testing.T) {
	res, err := Run(context.Background(), Options{Ceiling: true, Conns: 4, Count: 100, Pool: 10, RecordIDs: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status[202] != 100 || len(res.Acked) != 100 || res.BadAcks != 0 {
		t.Fatalf("status %v, %d acked, %d bad", res.Status, len(res.Acked), res.BadAcks)
	}
}

func TestCancelStopsRunWithPartialResult(t *testing.T) {
	rc := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var acks atomic.Int64
	res, err := Run(ctx, Options{URL: serve(t, rc), Conns: 2, Duration: time.Hour, Bodies: smallPool(t, 1),
		OnAck: func(string) {
			if acks.Add(1) == 20 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if res == nil || res.OK < 20 {
		t.Fatalf("partial result %v", res)
	}
}

func TestRegisterFlagsFillsOptions(t *testing.T) {
	var o Options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	o.RegisterFlags(fs)
	err := fs.Parse([]string{"-url", "http://h:1/v1/callbacks", "-token", "t", "-conns", "8", "-rate", "500",
		"-duration", "3s", "-n", "9", "-body", "b.json", "-pool", "5", "-seed", "2", "-leads", "7", "-timeout", "1s", "-ceiling"})
	if err != nil {
		t.Fatal(err)
	}
	want := Options{URL: "http://h:1/v1/callbacks", Token: "t", Conns: 8, Rate: 500, Duration: 3 * time.Second, Count: 9,
		BodyFile: "b.json", Pool: 5, Gen: gen.Options{Seed: 2, Leads: 7}, Timeout: time.Second, Ceiling: true}
	if fmt.Sprint(o) != fmt.Sprint(want) {
		t.Fatalf("options %+v, want %+v", o, want)
	}
}

func TestResultMarshalsToJSON(t *testing.T) {
	rc := &recorder{}
	res, err := Run(context.Background(), Options{URL: serve(t, rc), Conns: 2, Count: 10, Bodies: smallPool(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		OK      int64 `json:"ok"`
		Latency struct {
			Count int64   `json:"count"`
			P99   float64 `json:"p99_seconds"`
		} `json:"latency"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.OK != 10 || back.Latency.Count != 10 || back.Latency.P99 <= 0 {
		t.Fatalf("round trip lost data: %s", b)
	}
}

func TestUniqueBodyAddsSequenceKey(t *testing.T) {
	cases := map[string]string{
		`{"lead_id":1}`:  `{"lead_id":1,"loadgen_seq":"z-7"}`,
		"{\"a\":1}\n":    "{\"a\":1,\"loadgen_seq\":\"z-7\"}\n",
		`{}`:             `{"loadgen_seq":"z-7"}`,
		`[1]`:            `[1]`,
		`{"x":{"y":2}} `: `{"x":{"y":2},"loadgen_seq":"z-7"} `,
	}
	for in, want := range cases {
		if got := string(uniqueBody(nil, []byte(in), 35, 7)); got != want {
			t.Errorf("uniqueBody(%q) = %q, want %q", in, got, want)
		}
	}
}
