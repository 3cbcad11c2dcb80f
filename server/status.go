package server

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/leadhouse/leadhouse/sink"
	lhsql "github.com/leadhouse/leadhouse/sql"
)

// StoreStats reads the warehouse's side of the status page. The server calls it at most once per
// Options.StoreStatsMaxAge, under Options.StoreStatsTimeout, whatever the number of pages
// polling; cmd/leadhouse implements it with lhsql.ReadStatus over the store.
type StoreStats interface {
	StoreStats(ctx context.Context) (lhsql.Status, error)
}

// StoreStatsFunc turns a function into a StoreStats.
type StoreStatsFunc func(ctx context.Context) (lhsql.Status, error)

// StoreStats calls f.
func (f StoreStatsFunc) StoreStats(ctx context.Context) (lhsql.Status, error) { return f(ctx) }

// The status page's files. The page has no external resource (no CDN, no web font): it draws its
// charts as SVG from /status.json.
//
//go:embed statuspage
var statusPage embed.FS

// assetType is the Content-Type of the status page's file name, or "" for no such file.
func assetType(name string) string {
	switch name {
	case "app.js":
		return "text/javascript; charset=utf-8"
	case "style.css":
		return "text/css; charset=utf-8"
	}
	return ""
}

// setPageHeaders sets the status page's security headers: it loads only its own script and
// style and fetches only /status.json.
func setPageHeaders(h http.Header, contentType string) {
	h.Set("Content-Type", contentType)
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

func serveStatusPage(w http.ResponseWriter, _ *http.Request) {
	b, err := statusPage.ReadFile("statuspage/index.html")
	if err != nil {
		panic("server: status page not embedded: " + err.Error()) // a broken build, never input
	}
	setPageHeaders(w.Header(), "text/html; charset=utf-8")
	_, _ = w.Write(b)
}

func serveStatusAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	ct := assetType(name)
	if ct == "" {
		http.NotFound(w, r)
		return
	}
	b, err := statusPage.ReadFile("statuspage/" + name)
	if err != nil {
		panic("server: status page asset not embedded: " + err.Error()) // a broken build, never input
	}
	setPageHeaders(w.Header(), ct)
	_, _ = w.Write(b)
}

// Status is what GET /status.json answers: the numbers of the status page. Times are UTC,
// durations seconds; every per-outcome list follows Outcomes.
type Status struct {
	GeneratedAt time.Time `json:"generated_at"`
	StartedAt   time.Time `json:"started_at"`
	// State is ready, degraded (the store refuses writes: callbacks wait in the write-ahead
	// log), wal_full (callbacks are refused), stopping or not_ready; StateError says why.
	State      string   `json:"state"`
	StateError string   `json:"state_error,omitempty"`
	Outcomes   []string `json:"outcomes"`
	// Minutes are the last 60 minutes, oldest first, the last one still running.
	Minutes []StatusMinute `json:"minutes"`
	// LastHour sums Minutes' counts by outcome.
	LastHour []uint64       `json:"last_hour"`
	Latency  StatusLatency  `json:"latency"`
	WAL      StatusWAL      `json:"wal"`
	Pipeline StatusPipeline `json:"pipeline"`
	Tables   []StatusTable  `json:"tables"`
	Store    StatusStore    `json:"store"`
}

// StatusMinute is one minute of callback requests.
type StatusMinute struct {
	Start  time.Time `json:"start"`
	Counts []uint64  `json:"counts"`
	// P50 and P99 are the acknowledgement latency quantiles of the minute's accepted callbacks;
	// null without any.
	P50 *float64 `json:"p50_seconds"`
	P99 *float64 `json:"p99_seconds"`
}

// StatusLatency is how long accepted callbacks waited for their 202 over the last hour.
type StatusLatency struct {
	Accepted uint64   `json:"accepted"`
	P50      *float64 `json:"p50_seconds"`
	P99      *float64 `json:"p99_seconds"`
}

// StatusWAL is the write-ahead log's backlog: acknowledged callbacks not yet stored.
type StatusWAL struct {
	BacklogBytes int64 `json:"backlog_bytes"`
	MaxBytes     int64 `json:"max_bytes,omitempty"`
	// OldestReceivedAt is when the oldest unstored callback arrived (to a second, or a
	// thousandth of its age); null when nothing waits. When OldestBeforeStart is set it was
	// left by an earlier process and OldestReceivedAt is only the server's start.
	OldestReceivedAt  *time.Time `json:"oldest_received_at"`
	OldestAgeSeconds  *float64   `json:"oldest_age_seconds"`
	OldestBeforeStart bool       `json:"oldest_before_start"`
	// Mode is live, or spill while callbacks are batched from the log instead of memory.
	Mode string `json:"mode"`
}

// StatusPipeline are the pipeline's counters since the process started.
type StatusPipeline struct {
	BufferedRows     int64 `json:"buffered_rows"`
	BufferedBytes    int64 `json:"buffered_bytes"`
	StoreErrors      int64 `json:"store_errors"`
	Acknowledged     int64 `json:"acknowledged"`
	Replayed         int64 `json:"replayed"`
	DeadLetters      int64 `json:"dead_letters"`
	CorruptRecords   int64 `json:"corrupt_records"`
	UnreadableBodies int64 `json:"unreadable_bodies"`
}

// StatusTable is one table: what this process wrote to it, and what the store holds.
type StatusTable struct {
	Table         string     `json:"table"`
	RowsWritten   int64      `json:"rows_written"`
	LastWriteAt   *time.Time `json:"last_write_at"`
	LastFailureAt *time.Time `json:"last_failure_at"`
	// RowsStored is null while the store's numbers are unavailable.
	RowsStored *int64 `json:"rows_stored"`
}

// StatusStore are the warehouse's numbers, from Options.StoreStats.
type StatusStore struct {
	Available bool `json:"available"`
	// Error is "store unavailable: …" when the last read failed; the numbers are then those of
	// the last read that worked, made at ReadAt, if any.
	Error             string             `json:"error,omitempty"`
	ReadAt            *time.Time         `json:"read_at"`
	Day               string             `json:"day"`
	DeadLetters       []StatusReason     `json:"dead_letters_24h"`
	NewestDeadLetters []StatusDeadLetter `json:"newest_dead_letters"`
	Scenarios         []StatusScenario   `json:"scenarios_today"`
}

// StatusReason is the number of requests rejected for one reason in the last 24 hours.
type StatusReason struct {
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

// StatusDeadLetter is one rejected request, without its body.
type StatusDeadLetter struct {
	ReceivedAt time.Time `json:"received_at"`
	Reason     string    `json:"reason"`
	BodyBytes  int64     `json:"body_bytes"`
}

// StatusScenario is today's (IST) matches of one scenario.
type StatusScenario struct {
	Scenario  string `json:"scenario"`
	Callbacks int64  `json:"callbacks"`
	Leads     int64  `json:"leads"`
}

// ServeStatus answers GET /status.json with Status. It needs no token: it holds aggregates only,
// never a body or a personal field.
func (s *Server) ServeStatus(w http.ResponseWriter, r *http.Request) {
	b, err := json.Marshal(s.status(r.Context(), time.Now()))
	if err != nil {
		http.Error(w, "cannot encode status: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header()["Content-Type"] = contentTypeJSON
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func (s *Server) status(ctx context.Context, now time.Time) Status {
	st := Status{GeneratedAt: now.UTC(), StartedAt: s.started.UTC()}
	st.State, st.StateError = s.state()
	for o := range numOutcomes {
		st.Outcomes = append(st.Outcomes, o.String())
	}

	st.LastHour = make([]uint64, numOutcomes)
	var hour [numLatencyBuckets]uint64
	for _, m := range s.metrics.history.snapshot(now) {
		sm := StatusMinute{Start: m.start, Counts: m.outcomes[:]}
		sm.P50, sm.P99 = quantileOrNil(0.5, &m.latency), quantileOrNil(0.99, &m.latency)
		st.Minutes = append(st.Minutes, sm)
		for i, n := range m.outcomes {
			st.LastHour[i] += n
		}
		for i, n := range m.latency {
			hour[i] += n
		}
	}
	st.Latency = StatusLatency{Accepted: st.LastHour[outcomeAccepted], P50: quantileOrNil(0.5, &hour), P99: quantileOrNil(0.99, &hour)}

	ps := s.opts.Pipeline.Stats()
	st.WAL = StatusWAL{BacklogBytes: ps.WALBacklogBytes, MaxBytes: s.opts.WALMaxBytes, Mode: ps.Mode.String()}
	if at, before, ok := s.backlog.oldest(ps.Committed, ps.WALBacklogBytes); ok {
		at = at.UTC()
		age := max(now.Sub(at), 0).Seconds()
		st.WAL.OldestReceivedAt, st.WAL.OldestAgeSeconds, st.WAL.OldestBeforeStart = &at, &age, before
	}
	st.Pipeline = StatusPipeline{
		BufferedRows: ps.BufferedRows, BufferedBytes: ps.BufferedBytes, StoreErrors: ps.StoreErrors,
		Acknowledged: ps.Submitted, Replayed: ps.ReplayedRecords, DeadLetters: ps.DeadLetters,
		CorruptRecords: ps.CorruptRecords, UnreadableBodies: ps.UnreadableBodies,
	}

	stored, readAt, err := s.store.get(ctx)
	st.Store = StatusStore{Available: err == nil, Day: stored.Day, ReadAt: timeOrNil(readAt),
		DeadLetters: []StatusReason{}, NewestDeadLetters: []StatusDeadLetter{}, Scenarios: []StatusScenario{}}
	if err != nil {
		st.Store.Error = "store unavailable: " + err.Error()
	}
	for _, d := range stored.DeadLetters {
		st.Store.DeadLetters = append(st.Store.DeadLetters, StatusReason{Reason: d.Reason, Count: d.Count})
	}
	for _, d := range stored.NewestDeadLetters {
		st.Store.NewestDeadLetters = append(st.Store.NewestDeadLetters, StatusDeadLetter{ReceivedAt: d.ReceivedAt.UTC(), Reason: d.Reason, BodyBytes: d.BodyBytes})
	}
	for _, sc := range stored.Scenarios {
		st.Store.Scenarios = append(st.Store.Scenarios, StatusScenario{Scenario: sc.Scenario, Callbacks: sc.Callbacks, Leads: sc.Leads})
	}

	rowsStored := map[string]int64{}
	for _, r := range stored.Rows {
		rowsStored[r.Table] = r.Rows
	}
	flushes := s.metrics.flushes.snapshot()
	for _, name := range lhsql.StatusTables() {
		f := flushes[name]
		t := StatusTable{Table: name, RowsWritten: f.rows, LastWriteAt: timeOrNil(f.lastOK), LastFailureAt: timeOrNil(f.lastFailed)}
		if n, ok := rowsStored[name]; ok {
			t.RowsStored = &n
		}
		st.Tables = append(st.Tables, t)
	}
	return st
}

// state names what the server is doing, as /readyz decides it.
func (s *Server) state() (state, reason string) {
	select {
	case <-s.draining:
		return "stopping", "shutting down"
	default:
	}
	switch err := s.opts.Pipeline.Ready(); {
	case err == nil:
		return "ready", ""
	case errors.Is(err, sink.ErrDegraded):
		return "degraded", err.Error()
	case errors.Is(err, sink.ErrBacklogFull):
		return "wal_full", err.Error()
	case errors.Is(err, sink.ErrClosed):
		return "stopping", err.Error()
	default:
		return "not_ready", err.Error()
	}
}

func quantileOrNil(q float64, buckets *[numLatencyBuckets]uint64) *float64 {
	v, ok := quantile(q, buckets)
	if !ok {
		return nil
	}
	return &v
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// errNoStoreStats is the store's state on a server without Options.StoreStats.
var errNoStoreStats = errors.New("not configured (Options.StoreStats)")

// storeCache reads StoreStats at most once per maxAge, one read at a time: a page view while a
// read runs gets the previous answer, and only the first views wait for the first answer.
type storeCache struct {
	src     StoreStats
	timeout time.Duration
	maxAge  time.Duration

	mu      sync.Mutex
	reading chan struct{} // closed when the running read ends; nil when none runs
	checked time.Time     // when the last read ended; zero before the first
	last    lhsql.Status  // the last answer that worked
	lastAt  time.Time     // when it was read
	err     error         // the last read's error
}

// get returns the store's numbers, when they were read, and the last read's error.
func (c *storeCache) get(ctx context.Context) (lhsql.Status, time.Time, error) {
	if c.src == nil {
		return lhsql.Status{}, time.Time{}, errNoStoreStats
	}
	c.mu.Lock()
	if !c.checked.IsZero() && (time.Since(c.checked) < c.maxAge || c.reading != nil) {
		defer c.mu.Unlock()
		return c.last, c.lastAt, c.err
	}
	if wait := c.reading; wait != nil {
		c.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return lhsql.Status{}, time.Time{}, ctx.Err()
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.last, c.lastAt, c.err
	}
	done := make(chan struct{})
	c.reading = done
	c.mu.Unlock()

	// The read outlives a page that goes away: its answer serves the next views.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	st, err := c.src.StoreStats(rctx)
	cancel()

	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked, c.err, c.reading = time.Now(), err, nil
	if err == nil {
		c.last, c.lastAt = st, c.checked
	}
	close(done)
	return c.last, c.lastAt, c.err
}
