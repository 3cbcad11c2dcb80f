package server

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/leadhouse/leadhouse/sink"
)

// outcome is how a callback request ended; it is the `outcome` label of the callback metrics.
type outcome uint8

const (
	outcomeAccepted outcome = iota
	outcomeNotJSON
	outcomeNotCallback
	outcomeUnauthorized
	outcomeTooLarge
	outcomeMethodNotAllowed
	outcomeUnavailable
	outcomeReadError
	outcomeUnsupportedEncoding
	outcomeRateLimited
	outcomeReplayed
	numOutcomes
)

func (o outcome) String() string {
	switch o {
	case outcomeAccepted:
		return "accepted"
	case outcomeNotJSON:
		return "rejected_not_json"
	case outcomeNotCallback:
		return "rejected_not_callback"
	case outcomeUnauthorized:
		return "unauthorized"
	case outcomeTooLarge:
		return "too_large"
	case outcomeMethodNotAllowed:
		return "method_not_allowed"
	case outcomeUnavailable:
		return "unavailable"
	case outcomeReadError:
		return "read_error"
	case outcomeUnsupportedEncoding:
		return "unsupported_encoding"
	case outcomeRateLimited:
		return "rate_limited"
	case outcomeReplayed:
		return "replayed"
	}
	panic("server: unknown outcome") // a broken invariant of this package, never input
}

// keyKind is what a rate limit is kept per; it is the `key_kind` label of
// leadhouse_rate_limited_total.
type keyKind uint8

const (
	keyCredential keyKind = iota // a token or signing secret: Options.RateLimit
	keyAddress                   // a client address that failed to authenticate: Options.AuthFailureBurst
	numKeyKinds
)

func (k keyKind) String() string {
	switch k {
	case keyCredential:
		return "credential"
	case keyAddress:
		return "address"
	}
	panic("server: unknown key kind") // a broken invariant of this package, never input
}

// Metrics are leadhouse's Prometheus metrics, in a registry of their own (nothing is registered
// globally, so tests and several servers in one process do not collide). Create them before the
// pipeline and pass OnFlush as its flush hook; the pipeline's counters are read from its Stats at
// every scrape, once the Server using these Metrics exists. A Metrics serves one Server.
//
// Where they count, the Metrics also keep what the status page draws: the last hour of outcomes
// and acknowledgement latencies by minute, and each table's last write.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	callbacks [numOutcomes]prometheus.Counter
	durations [numOutcomes]prometheus.Observer

	authFailures [numAuthReasons]prometheus.Counter
	limited      [numKeyKinds]prometheus.Counter

	rowsFlushed   *prometheus.CounterVec
	flushDuration *prometheus.HistogramVec
	flushFailures *prometheus.CounterVec

	stats statsCollector

	history history
	flushes flushLog
}

// NewMetrics returns Metrics registered in a new registry, with Go runtime and process metrics.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	callbacks := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leadhouse_callbacks_total",
		Help: "Callback requests answered, by outcome (accepted is 202; rejected_* were kept as dead letters).",
	}, []string{"outcome"})
	durations := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "leadhouse_request_duration_seconds",
		Help:    "Time to answer a callback request, from its handler's start to its answer, by outcome.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"outcome"})
	// Resolving every label value now keeps the request path free of label lookups, and makes
	// every outcome visible as 0 before it first happens.
	for o := range numOutcomes {
		m.callbacks[o] = callbacks.WithLabelValues(o.String())
		m.durations[o] = durations.WithLabelValues(o.String())
	}
	authFailures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leadhouse_auth_failures_total",
		Help: "Callback requests refused with 401, by reason (missing or wrong token or signature, timestamp out of tolerance).",
	}, []string{"reason"})
	for r := range numAuthReasons {
		m.authFailures[r] = authFailures.WithLabelValues(r.String())
	}
	limited := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leadhouse_rate_limited_total",
		Help: "Callback requests refused with 429, by what the limit is kept per: credential (its rate limit) or address (too many failed authentications).",
	}, []string{"key_kind"})
	for k := range numKeyKinds {
		m.limited[k] = limited.WithLabelValues(k.String())
	}
	m.rowsFlushed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leadhouse_rows_flushed_total",
		Help: "Rows written to the store, by table.",
	}, []string{"table"})
	m.flushDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "leadhouse_flush_duration_seconds",
		Help:    "Time to write one successful batch to the store, by table.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"table"})
	m.flushFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "leadhouse_flush_failures_total",
		Help: "Batches the store refused or did not answer for, by table; they stay in the write-ahead log and are retried.",
	}, []string{"table"})
	m.reg.MustRegister(
		callbacks, durations, authFailures, limited, m.rowsFlushed, m.flushDuration, m.flushFailures, &m.stats,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	return m
}

// Registry returns the registry the metrics are in, for the caller's own metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler { return m.handler }

// OnFlush records one batch written to the store, or not written when err is not nil. Its
// signature is the pipeline's flush hook.
func (m *Metrics) OnFlush(table string, rows int, d time.Duration, err error) {
	m.flushes.record(table, rows, time.Now(), err)
	if err != nil {
		m.flushFailures.WithLabelValues(table).Inc()
		return
	}
	m.rowsFlushed.WithLabelValues(table).Add(float64(rows))
	m.flushDuration.WithLabelValues(table).Observe(d.Seconds())
}

// observe counts one callback request that ended at `at` with outcome o, d after it started.
func (m *Metrics) observe(o outcome, at time.Time, d time.Duration) {
	m.callbacks[o].Inc()
	m.durations[o].Observe(d.Seconds())
	m.history.add(at, o, d)
}

// flushLog remembers each table's rows written and when its last batch was written or refused.
type flushLog struct {
	mu     sync.Mutex
	tables map[string]tableFlushes
}

type tableFlushes struct {
	rows       int64 // written, as leadhouse_rows_flushed_total counts them
	lastOK     time.Time
	lastFailed time.Time
}

func (f *flushLog) record(table string, rows int, at time.Time, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tables == nil {
		f.tables = make(map[string]tableFlushes)
	}
	t := f.tables[table]
	if err != nil {
		t.lastFailed = at
	} else {
		t.rows += int64(rows)
		t.lastOK = at
	}
	f.tables[table] = t
}

func (f *flushLog) snapshot() map[string]tableFlushes {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]tableFlushes, len(f.tables))
	for k, v := range f.tables {
		out[k] = v
	}
	return out
}

func (m *Metrics) authFailed(r authReason) { m.authFailures[r].Inc() }

func (m *Metrics) rateLimited(k keyKind) { m.limited[k].Inc() }

// bind makes the metrics read p's Stats and s's own gauges at every scrape.
func (m *Metrics) bind(p Pipeline, s *Server) error {
	if !m.stats.src.CompareAndSwap(nil, &statsSource{p: p, s: s}) {
		return errors.New("metrics already serve another server")
	}
	return nil
}

type statsSource struct {
	p Pipeline
	s *Server
}

// statsCollector exposes the pipeline's Stats. It is one collector rather than a GaugeFunc per
// value so that a scrape takes one snapshot and the values in it agree with each other.
type statsCollector struct {
	src atomic.Pointer[statsSource]
}

var (
	descBufferedRows = prometheus.NewDesc("leadhouse_buffered_rows",
		"Rows accepted and held in memory, not yet written to the store.", nil, nil)
	descBufferedBytes = prometheus.NewDesc("leadhouse_buffered_bytes",
		"Approximate size of the rows held in memory, not yet written to the store.", nil, nil)
	descStoreErrors = prometheus.NewDesc("leadhouse_store_errors_total",
		"Store inserts that failed and were retried.", nil, nil)
	descWALBacklog = prometheus.NewDesc("leadhouse_wal_backlog_bytes",
		"Bytes of write-ahead log not yet confirmed written to the store.", nil, nil)
	descReplayed = prometheus.NewDesc("leadhouse_replay_records_total",
		"Write-ahead log records replayed into the store after a restart or an outage.", nil, nil)
	descDeadLetters = prometheus.NewDesc("leadhouse_dead_letters_total",
		"Bodies batched as dead letters: refused for their content, or corrupt in the write-ahead log.", nil, nil)
	descCorrupt = prometheus.NewDesc("leadhouse_wal_corrupt_records_total",
		"Stretches of the write-ahead log that were not valid records (kept as dead letters).", nil, nil)
	descUnreadable = prometheus.NewDesc("leadhouse_wal_unreadable_bodies_total",
		"Raw bodies the write-ahead log did not give back intact when their batch was written (a damaged disk); their rows were stored without them.", nil, nil)
	descRejected = prometheus.NewDesc("leadhouse_store_rejected_callbacks_total",
		"Callbacks whose rows the store refused (a value it cannot convert, a violated constraint), found by splitting the batch, and kept as dead letters with the store's error.", nil, nil)
	descForgotten = prometheus.NewDesc("leadhouse_forgotten_records_total",
		"Acknowledged callbacks and rejected bodies of people who asked to be forgotten, left out of the store.", nil, nil)
	descErased = prometheus.NewDesc("leadhouse_wal_erased_records_total",
		"Records left out of the store that were then erased from the write-ahead log.", nil, nil)
	descSpilled = prometheus.NewDesc("leadhouse_callbacks_spilled_total",
		"Acknowledged callbacks left in the write-ahead log for the replayer because memory was full or the pipeline was recovering.", nil, nil)
	descSpilling = prometheus.NewDesc("leadhouse_spilling",
		"1 while callbacks are batched from the write-ahead log instead of memory (spill mode), else 0.", nil, nil)
	descInflight = prometheus.NewDesc("leadhouse_callbacks_in_flight",
		"Callback requests being handled now; over Options.MaxConcurrent they are answered 503.", nil, nil)
	descTrackedAddresses = prometheus.NewDesc("leadhouse_auth_failure_addresses",
		"Client addresses remembered because they failed to authenticate recently (bounded by Options.MaxTrackedAddresses).", nil, nil)
	descWebhookIDs = prometheus.NewDesc("leadhouse_webhook_ids",
		"Standard Webhooks ids remembered to answer re-deliveries without storing them twice (bounded by Options.WebhookMaxIDs).", nil, nil)
)

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descBufferedRows, descBufferedBytes, descStoreErrors, descWALBacklog, descReplayed,
		descDeadLetters, descCorrupt, descUnreadable, descRejected, descSpilled, descSpilling, descInflight,
		descTrackedAddresses, descWebhookIDs, descForgotten, descErased,
	} {
		ch <- d
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.src.Load()
	if src == nil {
		return
	}
	st := src.p.Stats()
	ch <- prometheus.MustNewConstMetric(descBufferedRows, prometheus.GaugeValue, float64(st.BufferedRows))
	ch <- prometheus.MustNewConstMetric(descBufferedBytes, prometheus.GaugeValue, float64(st.BufferedBytes))
	ch <- prometheus.MustNewConstMetric(descStoreErrors, prometheus.CounterValue, float64(st.StoreErrors))
	ch <- prometheus.MustNewConstMetric(descWALBacklog, prometheus.GaugeValue, float64(st.WALBacklogBytes))
	ch <- prometheus.MustNewConstMetric(descReplayed, prometheus.CounterValue, float64(st.ReplayedRecords))
	ch <- prometheus.MustNewConstMetric(descDeadLetters, prometheus.CounterValue, float64(st.DeadLetters))
	ch <- prometheus.MustNewConstMetric(descCorrupt, prometheus.CounterValue, float64(st.CorruptRecords))
	ch <- prometheus.MustNewConstMetric(descUnreadable, prometheus.CounterValue, float64(st.UnreadableBodies))
	ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(st.RejectedCallbacks))
	ch <- prometheus.MustNewConstMetric(descSpilled, prometheus.CounterValue, float64(st.Spilled))
	ch <- prometheus.MustNewConstMetric(descForgotten, prometheus.CounterValue, float64(st.Forgotten))
	ch <- prometheus.MustNewConstMetric(descErased, prometheus.CounterValue, float64(st.ErasedRecords))
	spilling := 0.0
	if st.Mode == sink.ModeSpill {
		spilling = 1
	}
	ch <- prometheus.MustNewConstMetric(descSpilling, prometheus.GaugeValue, spilling)
	ch <- prometheus.MustNewConstMetric(descInflight, prometheus.GaugeValue, float64(src.s.inflight()))
	now := src.s.opts.now()
	ch <- prometheus.MustNewConstMetric(descTrackedAddresses, prometheus.GaugeValue, float64(src.s.failures.tracked(src.s.clock(now))))
	ch <- prometheus.MustNewConstMetric(descWebhookIDs, prometheus.GaugeValue, float64(src.s.replays.remembered(now.UnixNano())))
}
