package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/leadhouse/leadhouse/sink"
)

func scrape(t *testing.T, s *Server) string {
	t.Helper()
	w := serve(s, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("/metrics: status %d", w.Code)
	}
	return w.Body.String()
}

// sample returns the value of the series name{labels} in reg: a counter's or gauge's value, a
// histogram's count. labels alternate names and values.
func sample(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func hasLabels(m *dto.Metric, labels []string) bool {
	if len(m.GetLabel())*2 != len(labels) {
		return false
	}
	for _, l := range m.GetLabel() {
		found := false
		for i := 0; i+1 < len(labels); i += 2 {
			if labels[i] == l.GetName() && labels[i+1] == l.GetValue() {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// series counts the series of family name in reg.
func series(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

func TestMetricsExposeEveryNameWithHelp(t *testing.T) {
	s := newTestServer(t, &fakePipeline{}, nil)
	// Series by table appear with their first flush.
	s.Metrics().OnFlush("lead_updates", 3, 20*time.Millisecond, nil)
	s.Metrics().OnFlush("lead_updates", 3, time.Second, errors.New("store down"))
	text := scrape(t, s)
	for _, name := range []string{
		"leadhouse_callbacks_total",
		"leadhouse_request_duration_seconds",
		"leadhouse_rows_flushed_total",
		"leadhouse_flush_duration_seconds",
		"leadhouse_flush_failures_total",
		"leadhouse_buffered_rows",
		"leadhouse_buffered_bytes",
		"leadhouse_store_errors_total",
		"leadhouse_wal_backlog_bytes",
		"leadhouse_replay_records_total",
		"leadhouse_dead_letters_total",
		"leadhouse_wal_corrupt_records_total",
		"leadhouse_callbacks_spilled_total",
		"leadhouse_spilling",
		"leadhouse_callbacks_in_flight",
		"leadhouse_auth_failures_total",
		"leadhouse_rate_limited_total",
		"leadhouse_auth_failure_addresses",
		"leadhouse_webhook_ids",
		"go_goroutines",
	} {
		if !strings.Contains(text, "\n# HELP "+name+" ") && !strings.HasPrefix(text, "# HELP "+name+" ") {
			t.Errorf("no help text for %s", name)
		}
	}
	// Every outcome is exposed before it first happens, so rate() works from the start.
	for o := range numOutcomes {
		if !strings.Contains(text, `leadhouse_callbacks_total{outcome="`+o.String()+`"} 0`) {
			t.Errorf("outcome %s not exposed as 0", o)
		}
	}
	for r := range numAuthReasons {
		if !strings.Contains(text, `leadhouse_auth_failures_total{reason="`+r.String()+`"} 0`) {
			t.Errorf("auth failure reason %s not exposed as 0", r)
		}
	}
	for k := range numKeyKinds {
		if !strings.Contains(text, `leadhouse_rate_limited_total{key_kind="`+k.String()+`"} 0`) {
			t.Errorf("rate limit key kind %s not exposed as 0", k)
		}
	}
	// The exposition parses, and the names follow Prometheus conventions.
	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	list := make([]*dto.MetricFamily, 0, len(mfs))
	for _, mf := range mfs {
		list = append(list, mf)
	}
	problems, err := promlint.NewWithMetricFamilies(list).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "leadhouse_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}

func TestCallbackOutcomesAreCounted(t *testing.T) {
	p := &fakePipeline{}
	s := newTestServer(t, p, func(o *Options) { o.MaxBodyBytes = 100 })
	serve(s, postCallback(`{"lead_id":1}`))
	serve(s, postCallback(`{"lead_id":2}`))
	serve(s, postCallback(`{`))
	serve(s, postCallback(`[]`))
	serve(s, postCallback(strings.Repeat(" ", 200)))
	serve(s, httptest.NewRequest(http.MethodPost, "/v1/callbacks", strings.NewReader(`{}`)))
	serve(s, httptest.NewRequest(http.MethodGet, "/v1/callbacks", nil))
	p.submitErr = sink.ErrBacklogFull
	serve(s, postCallback(`{"lead_id":3}`))

	m := s.Metrics()
	want := map[outcome]float64{
		outcomeAccepted: 2, outcomeNotJSON: 1, outcomeNotCallback: 1, outcomeTooLarge: 1,
		outcomeUnauthorized: 1, outcomeMethodNotAllowed: 1, outcomeUnavailable: 1,
		outcomeReadError: 0, outcomeUnsupportedEncoding: 0, outcomeRateLimited: 0, outcomeReplayed: 0,
	}
	for o, n := range want {
		if got := sample(t, m.Registry(), "leadhouse_callbacks_total", "outcome", o.String()); got != n {
			t.Errorf("%s: %v, want %v", o, got, n)
		}
		if got := sample(t, m.Registry(), "leadhouse_request_duration_seconds", "outcome", o.String()); got != n {
			t.Errorf("%s: %v durations observed, want %v", o, got, n)
		}
	}
}

func TestStatsAreReadAtScrape(t *testing.T) {
	p := &fakePipeline{stats: sink.Stats{
		BufferedRows: 11, BufferedBytes: 2048, StoreErrors: 3, WALBacklogBytes: 4096, ReplayedRecords: 5,
		DeadLetters: 6, CorruptRecords: 7, Spilled: 8, Mode: sink.ModeSpill, UnreadableBodies: 9,
		Forgotten: 10, ErasedRecords: 12,
	}}
	s := newTestServer(t, p, nil)
	reg := s.Metrics().Registry()
	for name, want := range map[string]float64{
		"leadhouse_buffered_rows":               11,
		"leadhouse_buffered_bytes":              2048,
		"leadhouse_store_errors_total":          3,
		"leadhouse_wal_backlog_bytes":           4096,
		"leadhouse_replay_records_total":        5,
		"leadhouse_callbacks_in_flight":         0,
		"leadhouse_dead_letters_total":          6,
		"leadhouse_wal_corrupt_records_total":   7,
		"leadhouse_callbacks_spilled_total":     8,
		"leadhouse_wal_unreadable_bodies_total": 9,
		"leadhouse_spilling":                    1,
		"leadhouse_forgotten_records_total":     10,
		"leadhouse_wal_erased_records_total":    12,
	} {
		if got := sample(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	p.mu.Lock()
	p.stats.BufferedRows = 0
	p.mu.Unlock()
	if !strings.Contains(scrape(t, s), "\nleadhouse_buffered_rows 0\n") {
		t.Error("a second scrape did not read the stats again")
	}
}

func TestOnFlushCountsRowsAndFailures(t *testing.T) {
	m := NewMetrics()
	m.OnFlush("events", 10, 5*time.Millisecond, nil)
	m.OnFlush("events", 5, 7*time.Millisecond, nil)
	m.OnFlush("notes", 4, time.Millisecond, nil)
	m.OnFlush("events", 99, time.Second, errors.New("store down"))
	reg := m.Registry()
	if got := sample(t, reg, "leadhouse_rows_flushed_total", "table", "events"); got != 15 {
		t.Errorf("events rows flushed %v, want 15 (a failed flush adds none)", got)
	}
	if got := sample(t, reg, "leadhouse_flush_failures_total", "table", "events"); got != 1 {
		t.Errorf("events flush failures %v, want 1", got)
	}
	if got := sample(t, reg, "leadhouse_flush_duration_seconds", "table", "events"); got != 2 {
		t.Errorf("events flush durations %v, want 2 (failures are not timed)", got)
	}
	if n := series(t, reg, "leadhouse_flush_duration_seconds"); n != 2 {
		t.Errorf("%d flush duration series, want 2 (events, notes)", n)
	}
}

func TestMetricsServeOneServer(t *testing.T) {
	m := NewMetrics()
	newTestServer(t, &fakePipeline{}, func(o *Options) { o.Metrics = m })
	if _, err := New(Options{Pipeline: &fakePipeline{}, Tokens: []string{testToken}, Metrics: m}); err == nil {
		t.Error("a second server bound the same Metrics")
	}
}
