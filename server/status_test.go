package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/sink"
	lhsql "github.com/leadhouse/leadhouse/sql"
)

// countingStats answers StoreStats with st or err and counts the calls.
type countingStats struct {
	calls atomic.Int64
	st    lhsql.Status
	err   error
	// When gate is not nil, each call sends on entered and waits for gate to be closed.
	gate    chan struct{}
	entered chan struct{}
}

func (c *countingStats) StoreStats(ctx context.Context) (lhsql.Status, error) {
	c.calls.Add(1)
	if c.gate != nil {
		c.entered <- struct{}{}
		<-c.gate
	}
	return c.st, c.err
}

func getStatus(t *testing.T, s *Server) Status {
	t.Helper()
	w := serve(s, httptest.NewRequest(http.MethodGet, "/status.json", nil))
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("/status.json: %d %s %q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	var st Status
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatalf("/status.json is not a Status: %v\n%s", err, w.Body)
	}
	return st
}

// TestStatusShowsInProcessNumbersWithTheStoreDown is the page's promise for an outage: the
// store's error is shown, and the numbers the process keeps itself are all there.
func TestStatusShowsInProcessNumbersWithTheStoreDown(t *testing.T) {
	p := &fakePipeline{
		ready: fmt.Errorf("%w since 2031-01-10T09:00:00Z: 4096 bytes wait in the write-ahead log: dial tcp: connection refused", sink.ErrDegraded),
	}
	stats := &countingStats{err: errors.New("dial tcp 127.0.0.1:9000: connection refused")}
	s := newTestServer(t, p, func(o *Options) { o.StoreStats = stats; o.WALMaxBytes = 1 << 20 })
	// The log was empty when the server started: what waits now is this process's.
	p.mu.Lock()
	p.stats = sink.Stats{WALBacklogBytes: 4096, BufferedRows: 12, Submitted: 4, StoreErrors: 3}
	p.mu.Unlock()
	seedBody := string(fixture(t, "seed_callback.json"))
	for range 3 {
		if w := serve(s, postCallback(seedBody)); w.Code != http.StatusAccepted {
			t.Fatalf("callback: %d", w.Code)
		}
	}
	serve(s, postCallback(`{"lead_id" 1`))
	unauth := httptest.NewRequest(http.MethodPost, "/v1/callbacks", strings.NewReader(seedBody))
	serve(s, unauth)

	st := getStatus(t, s)
	if st.State != "degraded" || !strings.Contains(st.StateError, "connection refused") {
		t.Errorf("state %q %q, want degraded with the store's error", st.State, st.StateError)
	}
	want := map[string]uint64{"accepted": 3, "rejected_not_json": 1, "unauthorized": 1}
	for i, o := range st.Outcomes {
		if st.LastHour[i] != want[o] {
			t.Errorf("last hour %s = %d, want %d", o, st.LastHour[i], want[o])
		}
	}
	if len(st.Minutes) != historyMinutes {
		t.Errorf("%d minutes, want %d", len(st.Minutes), historyMinutes)
	}
	now := st.Minutes[len(st.Minutes)-1]
	if now.Counts[outcomeAccepted] != 3 || now.P50 == nil || now.P99 == nil {
		t.Errorf("current minute %+v, want the 3 accepted callbacks with their latency", now)
	}
	if st.Latency.Accepted != 3 || st.Latency.P50 == nil || st.Latency.P99 == nil || *st.Latency.P50 > *st.Latency.P99 {
		t.Errorf("latency %+v", st.Latency)
	}
	if st.WAL.BacklogBytes != 4096 || st.WAL.MaxBytes != 1<<20 || st.WAL.OldestReceivedAt == nil || st.WAL.OldestBeforeStart || st.WAL.Mode != "live" {
		t.Errorf("wal %+v, want the backlog of this process's callbacks", st.WAL)
	}
	if st.Pipeline.BufferedRows != 12 || st.Pipeline.StoreErrors != 3 || st.Pipeline.Acknowledged != 4 {
		t.Errorf("pipeline %+v", st.Pipeline)
	}
	if st.Store.Available || st.Store.Error != "store unavailable: dial tcp 127.0.0.1:9000: connection refused" || st.Store.ReadAt != nil {
		t.Errorf("store %+v, want unavailable with the error", st.Store)
	}
	if len(st.Tables) != len(lhsql.StatusTables()) {
		t.Fatalf("tables %v, want every table", st.Tables)
	}
	for _, tb := range st.Tables {
		if tb.RowsStored != nil {
			t.Errorf("table %s shows %d rows stored with the store down", tb.Table, *tb.RowsStored)
		}
	}
}

func TestStatusShowsTheStoresNumbersAndEachTablesLastWrite(t *testing.T) {
	read := time.Date(2031, 1, 10, 9, 0, 0, 0, time.UTC)
	stats := &countingStats{st: lhsql.Status{
		Rows:              []lhsql.TableRows{{Table: "lead_updates", Rows: 40}, {Table: "dead_letters", Rows: 2}},
		DeadLetters:       []lhsql.ReasonCount{{Reason: "not_json", Count: 2}},
		NewestDeadLetters: []lhsql.DeadLetter{{ReceivedAt: read, Reason: "not_json", BodyBytes: 9}},
		Day:               "2031-01-10",
		Scenarios:         []lhsql.ScenarioCount{{Scenario: "sales_booking_done", Callbacks: 3, Leads: 2}},
	}}
	m := NewMetrics()
	s := newTestServer(t, &fakePipeline{}, func(o *Options) { o.StoreStats = stats; o.Metrics = m })
	m.OnFlush("lead_updates", 30, time.Millisecond, nil)
	m.OnFlush("lead_updates", 10, time.Millisecond, nil)
	m.OnFlush("notes", 5, time.Millisecond, errors.New("refused"))

	st := getStatus(t, s)
	if !st.Store.Available || st.Store.Error != "" || st.Store.ReadAt == nil || st.Store.Day != "2031-01-10" {
		t.Errorf("store %+v", st.Store)
	}
	if fmt.Sprint(st.Store.DeadLetters) != "[{not_json 2}]" || fmt.Sprint(st.Store.Scenarios) != "[{sales_booking_done 3 2}]" ||
		len(st.Store.NewestDeadLetters) != 1 || st.Store.NewestDeadLetters[0] != (StatusDeadLetter{read, "not_json", 9}) {
		t.Errorf("store numbers %+v", st.Store)
	}
	tables := map[string]StatusTable{}
	for _, tb := range st.Tables {
		tables[tb.Table] = tb
	}
	lu, notes, calls := tables["lead_updates"], tables["notes"], tables["calls"]
	if lu.RowsWritten != 40 || lu.LastWriteAt == nil || lu.LastFailureAt != nil || lu.RowsStored == nil || *lu.RowsStored != 40 {
		t.Errorf("lead_updates %+v", lu)
	}
	if notes.RowsWritten != 0 || notes.LastWriteAt != nil || notes.LastFailureAt == nil {
		t.Errorf("notes %+v, want a failure and no write", notes)
	}
	if calls.RowsStored != nil || calls.LastWriteAt != nil {
		t.Errorf("calls %+v: the store did not count it", calls)
	}
}

func TestStatusReadsTheStoreOncePerMaxAge(t *testing.T) {
	tests := []struct {
		name   string
		maxAge time.Duration
		views  int
		reads  int64
	}{
		{"views within the max age share one read", time.Hour, 5, 1},
		{"every view past the max age reads again", time.Nanosecond, 5, 5},
	}
	for _, tt := range tests {
		stats := &countingStats{err: errors.New("down")}
		s := newTestServer(t, &fakePipeline{}, func(o *Options) { o.StoreStats = stats; o.StoreStatsMaxAge = tt.maxAge })
		for range tt.views {
			if st := getStatus(t, s); st.Store.Error != "store unavailable: down" {
				t.Fatalf("%s: store error %q", tt.name, st.Store.Error)
			}
		}
		if got := stats.calls.Load(); got != tt.reads {
			t.Errorf("%s: %d store reads for %d views, want %d", tt.name, got, tt.views, tt.reads)
		}
	}
}

// TestStatusViewsDuringAReadDoNotStartAnother: the first views wait for the first read; while a
// later read runs, views get the previous answer.
func TestStatusViewsDuringAReadDoNotStartAnother(t *testing.T) {
	stats := &countingStats{st: lhsql.Status{Day: "2031-01-10"}, gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	s := newTestServer(t, &fakePipeline{}, func(o *Options) { o.StoreStats = stats })
	var wg sync.WaitGroup
	days := make([]string, 4)
	for i := range days {
		wg.Go(func() { days[i] = getStatus(t, s).Store.Day })
	}
	<-stats.entered
	close(stats.gate)
	wg.Wait()
	if got := stats.calls.Load(); got != 1 {
		t.Errorf("%d reads for concurrent first views, want 1", got)
	}
	for i, d := range days {
		if d != "2031-01-10" {
			t.Errorf("view %d got day %q: it did not wait for the first read", i, d)
		}
	}
}

func TestStatusWithoutStoreStatsSaysSo(t *testing.T) {
	st := getStatus(t, newTestServer(t, &fakePipeline{}, nil))
	if st.Store.Available || !strings.HasPrefix(st.Store.Error, "store unavailable: not configured") {
		t.Errorf("store %+v", st.Store)
	}
}

func TestStatusStateFollowsReadiness(t *testing.T) {
	tests := []struct {
		ready error
		want  string
	}{
		{nil, "ready"},
		{fmt.Errorf("%w: timeout", sink.ErrDegraded), "degraded"},
		{fmt.Errorf("%w: 4 GiB", sink.ErrBacklogFull), "wal_full"},
		{sink.ErrClosed, "stopping"},
		{errors.New("sink: pipeline not started"), "not_ready"},
	}
	for _, tt := range tests {
		st := getStatus(t, newTestServer(t, &fakePipeline{ready: tt.ready}, nil))
		if st.State != tt.want {
			t.Errorf("Ready() = %v: state %q, want %q", tt.ready, st.State, tt.want)
		}
		if (tt.ready == nil) != (st.StateError == "") {
			t.Errorf("Ready() = %v: state error %q", tt.ready, st.StateError)
		}
	}
	s := newTestServer(t, &fakePipeline{}, nil)
	s.drainOnce.Do(func() { close(s.draining) })
	if st := getStatus(t, s); st.State != "stopping" {
		t.Errorf("draining: state %q, want stopping", st.State)
	}
}

// TestStatusPageIsSelfContained: the page is served at / and /status with its script and style
// from the binary, and references nothing outside it (no CDN, no web font).
func TestStatusPageIsSelfContained(t *testing.T) {
	s := newTestServer(t, &fakePipeline{}, nil)
	external := regexp.MustCompile(`(https?:)?//[a-zA-Z0-9.-]+\.[a-z]{2,}`)
	ref := regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	for _, path := range []string{"/", "/status"} {
		w := serve(s, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %d %s", path, w.Code, w.Header().Get("Content-Type"))
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		page := w.Body.String()
		refs := ref.FindAllStringSubmatch(page, -1)
		if len(refs) < 2 {
			t.Fatalf("%s: the page references %v, want its script and style", path, refs)
		}
		for _, m := range refs {
			target := "/" + strings.TrimPrefix(m[1], "/")
			if strings.HasPrefix(m[1], "http") || strings.HasPrefix(m[1], "//") {
				t.Errorf("%s references %s outside the binary", path, m[1])
				continue
			}
			if rw := serve(s, httptest.NewRequest(http.MethodGet, target, nil)); rw.Code != http.StatusOK {
				t.Errorf("%s references %s, which answers %d", path, target, rw.Code)
			}
		}
	}
	for _, name := range []string{"index.html", "app.js", "style.css"} {
		b, err := statusPage.ReadFile("statuspage/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range external.FindAllString(string(b), -1) {
			if u != "http://www.w3.org" { // the SVG namespace, a name rather than a fetch
				t.Errorf("%s refers to %s outside the binary", name, u)
			}
		}
	}
	if w := serve(s, httptest.NewRequest(http.MethodGet, "/status/index.go", nil)); w.Code != http.StatusNotFound {
		t.Errorf("/status/index.go: %d, want 404", w.Code)
	}
}
