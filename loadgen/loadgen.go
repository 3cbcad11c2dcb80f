// Package loadgen drives POST /v1/callbacks with closed- or open-loop HTTP load and reports throughput, latency and errors.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/leadhouse/leadhouse/gen"
)

// Options configures a run. Zero fields take the defaults stated next to them.
type Options struct {
	// URL is the callback endpoint (default http://127.0.0.1:8080/v1/callbacks).
	URL string
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// Conns is both the number of workers and the most connections the client
	// opens (default 64). Connections are kept alive between requests.
	Conns int
	// Rate is the total requests per second of open-loop mode: request i is due at
	// start + i/Rate whatever happened to earlier ones, and its latency is measured
	// from that due time, so time spent waiting for a free worker counts
	// (no coordinated omission). Zero selects closed loop, where each worker sends
	// its next request as soon as the previous one is answered.
	Rate float64
	// Duration ends the run: no request is started (closed loop) or scheduled (open
	// loop) after it. Default 10s when Count is 0; no limit when Count is set.
	Duration time.Duration
	// Count is the number of requests (0: limited by Duration only). With both
	// set, the run ends at whichever is reached first.
	Count int
	// Bodies are sent in turn (request i sends Bodies[i%len(Bodies)]). When empty,
	// BodyFile is read; when that is empty too, a pool of Pool payloads is made by
	// package gen from Gen.
	Bodies [][]byte
	// BodyFile is a file sent as one body, or, if named *.ndjson or *.jsonl (the
	// output of `leadhouse gen`), one body per non-empty line.
	BodyFile string
	// Pool is the number of payloads generated when neither Bodies nor BodyFile is
	// set (default 1000).
	Pool int
	// Gen configures the generated pool (see gen.Options for its defaults).
	Gen gen.Options
	// Timeout bounds each request, connection and response included (default 10s).
	Timeout time.Duration
	// RecordIDs keeps the callback_id of every 202 response in Result.Acked.
	RecordIDs bool
	// OnAck, when set, is called with the callback_id of every 202 response. Workers
	// call it concurrently, right after the response arrives.
	OnAck func(callbackID string)
	// Ceiling starts an in-process server that answers every callback with 202 at
	// once (CeilingHandler) and targets it instead of URL: the same bodies and
	// client against a server doing nothing measure what the harness can reach.
	Ceiling bool
	// Unique makes every request a distinct callback by adding a "loadgen_seq" key with the
	// request's number to its body, so a benchmark can check that every acknowledged callback
	// reached the store even when the pool repeats bodies.
	Unique bool
}

const (
	defaultURL      = "http://127.0.0.1:8080/v1/callbacks"
	defaultConns    = 64
	defaultDuration = 10 * time.Second
	defaultPool     = 1000
	defaultTimeout  = 10 * time.Second
	maxAckBody      = 64 << 10
)

func (o *Options) setDefaults() {
	if o.URL == "" {
		o.URL = defaultURL
	}
	if o.Conns <= 0 {
		o.Conns = defaultConns
	}
	if o.Duration <= 0 && o.Count <= 0 {
		o.Duration = defaultDuration
	}
	if o.Pool <= 0 {
		o.Pool = defaultPool
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
}

// RegisterFlags binds o's fields to flags on fs. The subcommand is then:
//
//	var o loadgen.Options
//	fs := flag.NewFlagSet("loadgen", flag.ExitOnError)
//	o.RegisterFlags(fs)
//	_ = fs.Parse(args)
//	res, err := loadgen.Run(ctx, o)
//	if res != nil {
//		fmt.Println(res)
//	}
//	return err
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.URL, "url", defaultURL, "callback endpoint")
	fs.StringVar(&o.Token, "token", "", "bearer token for the Authorization header")
	fs.IntVar(&o.Conns, "conns", defaultConns, "workers and keep-alive connections")
	fs.Float64Var(&o.Rate, "rate", 0, "open loop: total requests per second on a fixed timetable (0: closed loop)")
	fs.DurationVar(&o.Duration, "duration", 0, "run length (default 10s unless -n is set)")
	fs.IntVar(&o.Count, "n", 0, "number of requests (0: until -duration)")
	fs.StringVar(&o.BodyFile, "body", "", "request body file; *.ndjson or *.jsonl: one body per line (default: generated pool)")
	fs.IntVar(&o.Pool, "pool", defaultPool, "generated payloads in the body pool")
	fs.Int64Var(&o.Gen.Seed, "seed", 0, "seed of the generated pool")
	fs.IntVar(&o.Gen.Leads, "leads", 1000, "distinct leads in the generated pool")
	fs.DurationVar(&o.Timeout, "timeout", defaultTimeout, "per-request timeout")
	fs.BoolVar(&o.Unique, "unique", false, "add a sequence number to every body so each request is a distinct callback")
	fs.BoolVar(&o.Ceiling, "ceiling", false, "target an in-process server that answers 202 at once, to measure the harness ceiling")
}

// Result is the outcome of a run. Counters are exact; latencies are histograms.
type Result struct {
	Mode   string  `json:"mode"` // "closed" or "open"
	Rate   float64 `json:"rate,omitempty"`
	Conns  int     `json:"conns"`
	Target string  `json:"target"`
	Bodies int     `json:"bodies"` // distinct request bodies
	// Scheduled is the number of requests the open-loop timetable held; in closed
	// loop it equals Sent.
	Scheduled int64 `json:"scheduled"`
	// Sent counts requests handed to the client; Sent = Completed + transport errors.
	Sent int64 `json:"sent"`
	// Completed counts requests answered with any HTTP status.
	Completed int64 `json:"completed"`
	// OK counts 2xx responses: callbacks the server accepted.
	OK int64 `json:"ok"`
	// Status counts responses by HTTP status code.
	Status map[int]int64 `json:"status"`
	// TransportErrors counts requests that got no response, by kind: timeout,
	// conn_refused, conn_reset, broken_pipe, eof, closed_idle, dns, canceled, other.
	TransportErrors map[string]int64 `json:"transport_errors"`
	// BadAcks counts 202 responses whose body had no callback_id (only checked when
	// RecordIDs or OnAck is set).
	BadAcks int64 `json:"bad_acks"`
	// BodyBytes is the total size of the request bodies that got a response.
	BodyBytes int64         `json:"body_bytes"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	// Latency runs from when a request was due (open loop: its slot on the
	// timetable; closed loop: when it was sent) to its response, for every
	// completed request.
	Latency *Histogram `json:"latency"`
	// Service runs from when a request was actually sent to its response; it differs
	// from Latency only in open loop, by the time spent waiting for a worker.
	Service *Histogram `json:"service"`
	// Acked holds the callback_id of every 202 response when RecordIDs is set, in
	// no particular order.
	Acked []string `json:"acked,omitempty"`
}

// CallbacksPerSec is the rate of accepted (2xx) callbacks.
func (r *Result) CallbacksPerSec() float64 { return perSec(float64(r.OK), r.Elapsed) }

// RequestsPerSec is the rate of answered requests, whatever their status.
func (r *Result) RequestsPerSec() float64 { return perSec(float64(r.Completed), r.Elapsed) }

// MBPerSec is the rate of request body bytes answered, in megabytes (10^6) per second.
func (r *Result) MBPerSec() float64 { return perSec(float64(r.BodyBytes)/1e6, r.Elapsed) }

// Errors is the number of requests that got no response or a non-2xx status.
func (r *Result) Errors() int64 { return r.Sent - r.OK }

func perSec(v float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return v / d.Seconds()
}

// String is a compact human-readable report.
func (r *Result) String() string {
	var b strings.Builder
	if r.Mode == "open" {
		fmt.Fprintf(&b, "open loop at %.0f/s (%d scheduled, %d sent)", r.Rate, r.Scheduled, r.Sent)
	} else {
		fmt.Fprintf(&b, "closed loop (%d sent)", r.Sent)
	}
	fmt.Fprintf(&b, ", %d conns, %d bodies, %s -> %s\n", r.Conns, r.Bodies, r.Elapsed.Round(time.Millisecond), r.Target)
	fmt.Fprintf(&b, "throughput: %.1f callbacks/s accepted, %.1f requests/s, %.1f MB/s of bodies\n",
		r.CallbacksPerSec(), r.RequestsPerSec(), r.MBPerSec())
	b.WriteString("status:")
	for _, code := range sortedKeys(r.Status) {
		fmt.Fprintf(&b, " %d=%d", code, r.Status[code])
	}
	if len(r.TransportErrors) > 0 {
		b.WriteString("; transport errors:")
		for _, k := range sortedKeys(r.TransportErrors) {
			fmt.Fprintf(&b, " %s=%d", k, r.TransportErrors[k])
		}
	}
	if r.BadAcks > 0 {
		fmt.Fprintf(&b, "; acks without callback_id: %d", r.BadAcks)
	}
	b.WriteByte('\n')
	writeLatency(&b, "latency", r.Latency)
	if r.Mode == "open" {
		b.WriteString(" (from scheduled send)\n")
		writeLatency(&b, "service", r.Service)
	}
	b.WriteByte('\n')
	return b.String()
}

func sortedKeys[K int | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func writeLatency(b *strings.Builder, name string, h *Histogram) {
	if h == nil || h.Count() == 0 {
		fmt.Fprintf(b, "%s: no responses", name)
		return
	}
	fmt.Fprintf(b, "%s: p50=%s p90=%s p99=%s p99.9=%s max=%s mean=%s", name,
		short(h.Quantile(0.5)), short(h.Quantile(0.9)), short(h.Quantile(0.99)),
		short(h.Quantile(0.999)), short(h.Max()), short(h.Mean()))
}

// short prints three significant digits: 1.23ms, 45.6ms, 850µs.
func short(d time.Duration) string {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "µs"}} {
		if d >= u.unit {
			v := float64(d) / float64(u.unit)
			switch {
			case v >= 100:
				return fmt.Sprintf("%.0f%s", v, u.name)
			case v >= 10:
				return fmt.Sprintf("%.1f%s", v, u.name)
			}
			return fmt.Sprintf("%.2f%s", v, u.name)
		}
	}
	return d.String()
}

// Run sends load as opts describe and reports what happened. If ctx is cancelled
// Run stops early and returns the partial Result with ctx's error.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.setDefaults()
	bodies, err := opts.bodies()
	if err != nil {
		return nil, err
	}
	target := opts.URL
	if opts.Ceiling {
		srv, err := startCeiling()
		if err != nil {
			return nil, err
		}
		defer srv.close()
		target = srv.url
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        opts.Conns,
		MaxIdleConnsPerHost: opts.Conns,
		MaxConnsPerHost:     opts.Conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     32 << 10,
	}
	defer tr.CloseIdleConnections()
	r := &runner{
		opts:   opts,
		bodies: bodies,
		url:    target,
		client: &http.Client{Transport: tr, Timeout: opts.Timeout},
		header: http.Header{"Content-Type": {"application/json"}},
		limit:  math.MaxInt64,
		runID:  time.Now().UnixNano(),
	}
	if opts.Token != "" {
		r.header.Set("Authorization", "Bearer "+opts.Token)
	}
	if opts.Count > 0 {
		r.limit = int64(opts.Count)
	}
	if opts.Rate > 0 {
		r.interval = float64(time.Second) / opts.Rate
		if opts.Duration > 0 {
			// Due times 0, 1/R, 2/R ... that fall before Duration.
			r.limit = min(r.limit, int64(math.Ceil(opts.Duration.Seconds()*opts.Rate-1e-9)))
		}
	}
	return r.run(ctx)
}

type runner struct {
	opts     Options
	bodies   [][]byte
	url      string
	client   *http.Client
	header   http.Header
	limit    int64   // tickets to hand out
	interval float64 // open loop: nanoseconds between due times
	next     atomic.Int64
	start    time.Time
	deadline time.Time // closed loop with Duration
	runID    int64     // Options.Unique: tells this run's bodies from every other run's
}

// worker is one sender's private tally, merged into the Result at the end so the
// hot path takes no locks.
type worker struct {
	sent, completed, ok, badAcks, bytes int64
	status                              map[int]int64
	errs                                map[string]int64
	latency, service                    Histogram
	acked                               []string
	scratch                             []byte
	unique                              []byte
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	workers := make([]*worker, r.opts.Conns)
	var wg sync.WaitGroup
	r.start = time.Now()
	if r.opts.Duration > 0 {
		r.deadline = r.start.Add(r.opts.Duration)
	}
	for i := range workers {
		w := &worker{status: map[int]int64{}, errs: map[string]int64{}}
		workers[i] = w
		wg.Go(func() { r.work(ctx, w) })
	}
	wg.Wait()
	res := &Result{
		Mode:            "closed",
		Conns:           r.opts.Conns,
		Target:          r.url,
		Bodies:          len(r.bodies),
		Status:          map[int]int64{},
		TransportErrors: map[string]int64{},
		Elapsed:         time.Since(r.start),
		Latency:         &Histogram{},
		Service:         &Histogram{},
	}
	for _, w := range workers {
		res.Sent += w.sent
		res.Completed += w.completed
		res.OK += w.ok
		res.BadAcks += w.badAcks
		res.BodyBytes += w.bytes
		for k, v := range w.status {
			res.Status[k] += v
		}
		for k, v := range w.errs {
			res.TransportErrors[k] += v
		}
		res.Latency.Merge(&w.latency)
		res.Service.Merge(&w.service)
		res.Acked = append(res.Acked, w.acked...)
	}
	res.Scheduled = res.Sent
	if r.interval > 0 {
		res.Mode, res.Rate = "open", r.opts.Rate
		if r.limit != math.MaxInt64 {
			res.Scheduled = r.limit
		}
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("load run interrupted: %w", err)
	}
	return res, nil
}

func (r *runner) work(ctx context.Context, w *worker) {
	var timer *time.Timer
	if r.interval > 0 {
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
	}
	for ctx.Err() == nil {
		i := r.next.Add(1) - 1
		if i >= r.limit {
			return
		}
		var due time.Time
		if r.interval > 0 {
			due = r.start.Add(time.Duration(float64(i) * r.interval))
			if wait := time.Until(due); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
			}
		} else {
			due = time.Now()
			if !r.deadline.IsZero() && due.After(r.deadline) {
				return
			}
		}
		body := r.bodies[i%int64(len(r.bodies))]
		if r.opts.Unique {
			w.unique = uniqueBody(w.unique[:0], body, r.runID, i)
			body = w.unique
		}
		r.send(ctx, w, body, due)
	}
}

func (r *runner) send(ctx context.Context, w *worker, body []byte, due time.Time) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		w.sent++
		w.errs["other"]++
		return
	}
	req.Header = r.header // read-only and shared; the transport never writes it
	sent := time.Now()
	w.sent++
	resp, err := r.client.Do(req)
	if err != nil {
		w.errs[errorKind(err)]++
		return
	}
	wantAck := resp.StatusCode == http.StatusAccepted && (r.opts.RecordIDs || r.opts.OnAck != nil)
	if wantAck {
		w.scratch, err = readLimited(w.scratch[:0], resp.Body, maxAckBody)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	done := time.Now()
	if err != nil {
		w.errs[errorKind(err)]++
		return
	}
	w.completed++
	w.bytes += int64(len(body))
	w.status[resp.StatusCode]++
	w.latency.Record(done.Sub(due))
	w.service.Record(done.Sub(sent))
	if resp.StatusCode/100 == 2 {
		w.ok++
	}
	if !wantAck {
		return
	}
	var ack struct {
		CallbackID string `json:"callback_id"`
	}
	if json.Unmarshal(w.scratch, &ack) != nil || ack.CallbackID == "" {
		w.badAcks++
		return
	}
	if r.opts.RecordIDs {
		w.acked = append(w.acked, ack.CallbackID)
	}
	if r.opts.OnAck != nil {
		r.opts.OnAck(ack.CallbackID)
	}
}

func readLimited(dst []byte, r io.Reader, limit int64) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	_, err := buf.ReadFrom(io.LimitReader(r, limit))
	return buf.Bytes(), err
}

// bodies returns the request bodies: given, read from a file, or generated.
func (o *Options) bodies() ([][]byte, error) {
	if len(o.Bodies) > 0 {
		return o.Bodies, nil
	}
	if o.BodyFile != "" {
		return readBodies(o.BodyFile)
	}
	g := gen.New(o.Gen)
	var all []byte
	ends := make([]int, o.Pool)
	for i := range ends {
		all = g.Next(all)
		ends[i] = len(all)
	}
	out := make([][]byte, o.Pool)
	start := 0
	for i, end := range ends {
		out[i] = all[start:end:end]
		start = end
	}
	return out, nil
}

func readBodies(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read body file: %w", err)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ndjson", ".jsonl":
	default:
		if len(data) == 0 {
			return nil, fmt.Errorf("body file %s is empty", path)
		}
		return [][]byte{data}, nil
	}
	var out [][]byte
	for line := range bytes.Lines(data) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("body file %s has no bodies", path)
	}
	return out, nil
}

// errorKind names why a request got no response, for the report.
func errorKind(err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "conn_refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "conn_reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken_pipe"
	case errors.As(err, &dnsErr):
		return "dns"
	case strings.Contains(err.Error(), "server closed idle connection"):
		// net/http does not export this error; the server closed a kept-alive
		// connection just as a request was about to use it.
		return "closed_idle"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "other"
}

// uniqueBody appends body with `,"loadgen_seq":"run-i"` inserted before its closing brace, run
// telling runs apart so that two runs never send the same callback. A body that is not an object
// is copied unchanged.
func uniqueBody(dst, body []byte, run, i int64) []byte {
	end := bytes.LastIndexByte(body, '}')
	if end < 0 {
		return append(dst, body...)
	}
	dst = append(dst, body[:end]...)
	if t := bytes.TrimSpace(body[:end]); len(t) > 0 && t[len(t)-1] != '{' {
		dst = append(dst, ',')
	}
	dst = append(dst, `"loadgen_seq":"`...)
	dst = strconv.AppendInt(dst, run, 36)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, i, 10)
	dst = append(dst, '"')
	return append(dst, body[end:]...)
}
