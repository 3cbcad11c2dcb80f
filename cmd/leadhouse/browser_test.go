package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/leadhouse/leadhouse/gen"
	"github.com/leadhouse/leadhouse/server"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/wal"
	lhsql "github.com/leadhouse/leadhouse/sql"
)

// These tests open the status page in a real browser, headless Chromium, read the numbers it
// shows from the DOM once its script has run, and compare them with /metrics and the store. They
// leave screenshots in the test artifacts directory: $LEADHOUSE_TEST_ARTIFACTS, or
// test-artifacts/ at the repository's root.

var chromiumInstall struct {
	once sync.Once
	path string
	err  error
}

// chromium returns a Chromium to run headless. When none is installed and the test runs as root
// it installs Debian's package, as .ci/run does on a fresh machine; otherwise it fails, so that a
// CI without a browser cannot pass silently. go test -short skips the browser tests instead.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	chromiumInstall.once.Do(func() {
		find := func() string {
			for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
				if p, err := exec.LookPath(name); err == nil {
					return p
				}
			}
			return ""
		}
		if chromiumInstall.path = find(); chromiumInstall.path != "" {
			return
		}
		if os.Geteuid() != 0 {
			chromiumInstall.err = errors.New("chromium is not installed, and this test is not root so it cannot install it: " +
				"run `apt-get install -y chromium` as root (.ci/run does), or `go test -short` to skip the browser tests")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "--no-install-recommends", "chromium"}} {
			cmd := exec.CommandContext(ctx, "apt-get", args...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			if out, err := cmd.CombinedOutput(); err != nil {
				chromiumInstall.err = fmt.Errorf("chromium is not installed and apt-get %s failed: %v\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
		if chromiumInstall.path = find(); chromiumInstall.path == "" {
			chromiumInstall.err = errors.New("apt-get installed chromium, but no chromium is on PATH")
		}
	})
	if chromiumInstall.err != nil {
		t.Fatal(chromiumInstall.err)
	}
	return chromiumInstall.path
}

// browse runs headless Chromium on url with a fresh profile and returns its standard output. The
// virtual time budget lets the page's script fetch status.json and draw before Chromium dumps
// the DOM or takes the screenshot; virtual time does not advance while a fetch is pending.
func browse(t *testing.T, chrome, url string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=3000",
	}, args...)
	cmd := exec.CommandContext(ctx, chrome, append(all, url)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// artifacts returns the directory for the tests' screenshots, creating it.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LEADHOUSE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves the page at url as name in the artifacts directory.
func screenshot(t *testing.T, chrome, url, name string) {
	t.Helper()
	path, err := filepath.Abs(filepath.Join(artifacts(t), name))
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(path)
	browse(t, chrome, url, "--screenshot="+path, "--window-size=1280,1600")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("%s is not a PNG", path)
	}
	t.Logf("screenshot: %s", path)
}

// shown is one number on the page: its raw data-value and the text displayed.
type shown struct{ value, text string }

var dataStat = regexp.MustCompile(`<[a-z]+\b[^>]*?\bdata-stat="([^"]+)"[^>]*>`)

// pageStats returns the page's numbers by data-stat name, from Chromium's DOM dump.
func pageStats(t *testing.T, dom []byte) map[string]shown {
	t.Helper()
	if !bytes.Contains(dom, []byte(`data-loaded="`)) {
		t.Fatalf("the page's script did not render status.json:\n%s", dom)
	}
	value := regexp.MustCompile(`\bdata-value="([^"]*)"`)
	out := map[string]shown{}
	for _, m := range dataStat.FindAllSubmatchIndex(dom, -1) {
		tag := dom[m[0]:m[1]]
		s := shown{}
		if v := value.FindSubmatch(tag); v != nil {
			s.value = string(v[1])
		}
		rest := dom[m[1]:]
		if i := bytes.IndexByte(rest, '<'); i >= 0 {
			s.text = string(rest[:i])
		}
		out[string(dom[m[2]:m[3]])] = s
	}
	return out
}

// count checks that the page shows name as the count want, in its data-value and in its text.
func count(t *testing.T, stats map[string]shown, name string, want int64) {
	t.Helper()
	s, ok := stats[name]
	if !ok {
		t.Errorf("the page shows no %s", name)
		return
	}
	if s.value != strconv.FormatInt(want, 10) || strings.ReplaceAll(s.text, ",", "") != strconv.FormatInt(want, 10) {
		t.Errorf("%s shown as %q (value %q), want %d", name, s.text, s.value, want)
	}
}

// scrape parses /metrics.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// metric returns the value of family name's series with label=val ("" for none), 0 if absent.
func metric(mfs map[string]*dto.MetricFamily, name, label, val string) float64 {
	mf := mfs[name]
	if mf == nil {
		return 0
	}
	for _, m := range mf.GetMetric() {
		match := label == ""
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == val {
				match = true
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	return 0
}

// latencyBucket returns the bounds of the leadhouse_request_duration_seconds{outcome="accepted"}
// bucket where histogram_quantile puts the q-quantile.
func latencyBucket(t *testing.T, mfs map[string]*dto.MetricFamily, q float64) (lo, hi float64) {
	t.Helper()
	for _, m := range mfs["leadhouse_request_duration_seconds"].GetMetric() {
		if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != "accepted" {
			continue
		}
		h := m.GetHistogram()
		rank := q * float64(h.GetSampleCount())
		for _, b := range h.GetBucket() {
			if float64(b.GetCumulativeCount()) >= rank {
				return lo, b.GetUpperBound()
			}
			lo = b.GetUpperBound()
		}
		return lo, lo
	}
	t.Fatal("no accepted request durations in /metrics")
	return 0, 0
}

// TestStatusPageInABrowserShowsTheMetricsAndTheStore feeds a running serve generated callbacks
// and a few bad requests, opens its status page in Chromium, and checks every number the page
// shows against /metrics and, after stopping, against the store.
func TestStatusPageInABrowserShowsTheMetricsAndTheStore(t *testing.T) {
	chrome := chromium(t)
	bin := binary(t)
	dataDir := t.TempDir()
	inst := start(t, bin, serveEnv(dataDir))
	client := &http.Client{Timeout: 30 * time.Second}
	cb := inst.url + "/v1/callbacks"
	bearer := "Bearer " + testToken

	g := gen.New(gen.Options{Seed: 16, Leads: 40})
	var bodies [][]byte
	for range 150 {
		bodies = append(bodies, g.Next(nil))
	}
	bodies = append(bodies, bodies[:6]...) // re-deliveries
	for i, b := range bodies {
		if a := post(t, client, cb, bearer, b); a.status != http.StatusAccepted {
			t.Fatalf("generated callback %d: %d %v", i, a.status, a.body)
		}
	}
	bad := []struct {
		auth   string
		body   string
		status int
	}{
		{bearer, `{"lead_id": 1`, 400},
		{bearer, `{"lead_id": 1, }`, 400},
		{bearer, `not json at all`, 400},
		{bearer, `[1, 2]`, 422},
		{bearer, `{"lead_id": "x"}`, 422},
		{"Bearer wrong-token-123", `{"lead_id": 1}`, 401},
		{"", `{"lead_id": 1}`, 401},
	}
	for _, b := range bad {
		if a := post(t, client, cb, b.auth, []byte(b.body)); a.status != b.status {
			t.Fatalf("%q: %d, want %d", b.body, a.status, b.status)
		}
	}
	accepted := int64(len(bodies))

	// Everything stored and committed, and the page's cached store numbers caught up.
	waitFor(t, func() bool {
		mfs := scrape(t, inst.url)
		return metric(mfs, "leadhouse_callbacks_total", "outcome", "unauthorized") == 2 &&
			metric(mfs, "leadhouse_rows_flushed_total", "table", "lead_updates") == float64(accepted) &&
			metric(mfs, "leadhouse_rows_flushed_total", "table", "dead_letters") == 5 &&
			metric(mfs, "leadhouse_wal_backlog_bytes", "", "") == 0
	})
	waitFor(t, func() bool {
		resp, err := http.Get(inst.url + "/status.json")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return bytes.Contains(b, []byte(fmt.Sprintf(`"table":"lead_updates","rows_written":%d,`, accepted))) &&
			regexp.MustCompile(`"table":"dead_letters","rows_written":5,[^}]*"rows_stored":5}`).Match(b) &&
			regexp.MustCompile(fmt.Sprintf(`"table":"lead_updates",[^}]*"rows_stored":%d}`, accepted)).Match(b)
	})

	stats := pageStats(t, browse(t, chrome, inst.url+"/", "--dump-dom"))
	mfs := scrape(t, inst.url)
	if s := stats["state"]; s.value != "ready" {
		t.Errorf("state %q, want ready", s.value)
	}
	for o, want := range map[string]int64{"accepted": accepted, "rejected_not_json": 3, "rejected_not_callback": 2, "unauthorized": 2, "unavailable": 0} {
		if got := metric(mfs, "leadhouse_callbacks_total", "outcome", o); got != float64(want) {
			t.Fatalf("/metrics counts %v %s callbacks, the test sent %d", got, o, want)
		}
	}
	for _, o := range []string{"accepted", "rejected_not_json", "rejected_not_callback", "unauthorized", "too_large", "method_not_allowed", "unavailable", "read_error", "unsupported_encoding"} {
		count(t, stats, "callbacks."+o, int64(metric(mfs, "leadhouse_callbacks_total", "outcome", o)))
	}
	count(t, stats, "tile.accepted", accepted)
	count(t, stats, "tile.rejected", 5)
	count(t, stats, "tile.refused", 2)
	for _, table := range lhsql.StatusTables() {
		count(t, stats, "rows_written."+table, int64(metric(mfs, "leadhouse_rows_flushed_total", "table", table)))
	}
	if got, want := stats["wal.backlog_bytes"].value, fmt.Sprint(metric(mfs, "leadhouse_wal_backlog_bytes", "", "")); got != want {
		t.Errorf("WAL backlog shown as %q, /metrics says %s", got, want)
	}
	for name, q := range map[string]float64{"latency.p50": 0.5, "latency.p99": 0.99} {
		v, err := strconv.ParseFloat(stats[name].value, 64)
		lo, hi := latencyBucket(t, mfs, q)
		if err != nil || v < lo || v > hi {
			t.Errorf("%s shown as %q (%v), outside the /metrics bucket [%v, %v] that holds it", name, stats[name].value, err, lo, hi)
		}
		if stats[name].text == "" || stats[name].text == "–" {
			t.Errorf("%s is not displayed", name)
		}
	}
	screenshot(t, chrome, inst.url+"/", "status-page.png")
	inst.stop(t)

	// The store's own counts, read after the server stopped (the embedded engine allows one
	// process per data directory). Nothing was posted after the page was read.
	var counts []string
	for _, table := range lhsql.StatusTables() {
		counts = append(counts, "(SELECT count() FROM "+table+")")
	}
	stored := strings.Split(query(t, bin, dataDir, "SELECT "+strings.Join(counts, ", ")), "\t")
	for i, table := range lhsql.StatusTables() {
		n, _ := strconv.ParseInt(stored[i], 10, 64)
		count(t, stats, "rows_stored."+table, n)
	}
	count(t, stats, "rows_stored.lead_updates", accepted)
	deadStored := map[string]int64{}
	for _, line := range strings.Split(query(t, bin, dataDir, "SELECT reason, count() FROM dead_letters GROUP BY reason"), "\n") {
		f := strings.Split(line, "\t")
		n, _ := strconv.ParseInt(f[1], 10, 64)
		deadStored[f[0]] = n
	}
	if len(deadStored) != 2 || deadStored["not_json"] != 3 || deadStored["not_callback"] != 2 {
		t.Errorf("dead letters in the store: %v, want the 5 bad bodies sent", deadStored)
	}
	for reason, n := range deadStored {
		count(t, stats, "dead_letters."+reason, n)
	}
	count(t, stats, "tile.dead_letters", 5)
	scenarios := map[string][2]int64{}
	if out := query(t, bin, dataDir, "SELECT scenario, count(), uniqExact(lead_id) FROM lead_scenarios GROUP BY scenario"); out != "" {
		for _, line := range strings.Split(out, "\n") {
			f := strings.Split(line, "\t")
			n, _ := strconv.ParseInt(f[1], 10, 64)
			leads, _ := strconv.ParseInt(f[2], 10, 64)
			scenarios[f[0]] = [2]int64{n, leads}
		}
	}
	matched := int64(0)
	for _, sc := range lhsql.Scenarios() {
		count(t, stats, "scenario."+sc, scenarios[sc][0])
		count(t, stats, "scenario_leads."+sc, scenarios[sc][1])
		matched += scenarios[sc][0]
	}
	if matched == 0 {
		t.Error("no generated callback matched a scenario: the scenario counts were not put to the test")
	}
}

// downPipeline is a pipeline whose store refuses writes: it takes callbacks into a pretend
// write-ahead log and reports itself degraded.
type downPipeline struct {
	mu   sync.Mutex
	acks int64
}

func (p *downPipeline) Submit(context.Context, sink.Input, sink.Decoded) (sink.Ack, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.acks++
	return sink.Ack{Position: wal.Position{Segment: 1, Offset: p.acks * 100}}, nil
}

func (p *downPipeline) Ready() error {
	return fmt.Errorf("%w since 2031-01-10T09:00:00Z: %d bytes wait in the write-ahead log: dial tcp 10.0.0.7:9000: connect: connection refused",
		sink.ErrDegraded, p.Stats().WALBacklogBytes)
}

func (p *downPipeline) Stats() sink.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return sink.Stats{Submitted: p.acks, WALBacklogBytes: p.acks * 7300, StoreErrors: 12}
}

// TestStatusPageInABrowserShowsTheStoreIsDown: with the store refusing writes and its queries
// failing, the page says so and still shows what the process counts itself.
func TestStatusPageInABrowserShowsTheStoreIsDown(t *testing.T) {
	chrome := chromium(t)
	p := &downPipeline{}
	srv, err := server.New(server.Options{
		Pipeline: p,
		Tokens:   []string{testToken},
		Logger:   slog.New(slog.DiscardHandler),
		StoreStats: server.StoreStatsFunc(func(context.Context) (lhsql.Status, error) {
			return lhsql.Status{}, errors.New("dial tcp 10.0.0.7:9000: connect: connection refused")
		}),
		WALMaxBytes: 4 << 30,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	g := gen.New(gen.Options{Seed: 7})
	for range 20 {
		if a := post(t, hs.Client(), hs.URL+"/v1/callbacks", "Bearer "+testToken, g.Next(nil)); a.status != http.StatusAccepted {
			t.Fatalf("callback: %d", a.status)
		}
	}
	dom := browse(t, chrome, hs.URL+"/status", "--dump-dom")
	stats := pageStats(t, dom)
	if stats["state"].value != "degraded" || !bytes.Contains(dom, []byte("the store refuses writes<div class=\"state-error\">sink: store writes are failing")) {
		t.Errorf("state %q: the page does not say the store refuses writes", stats["state"].value)
	}
	if e := stats["store.error"]; e.value != "store unavailable: dial tcp 10.0.0.7:9000: connect: connection refused" || !strings.HasPrefix(e.text, e.value) {
		t.Errorf("store error shown as %+v", e)
	}
	count(t, stats, "callbacks.accepted", 20)
	count(t, stats, "tile.accepted", 20)
	if got := stats["wal.backlog_bytes"].value; got != strconv.Itoa(20*7300) {
		t.Errorf("WAL backlog shown as %q, want %d", got, 20*7300)
	}
	if s := stats["rows_stored.lead_updates"]; s.value != "" || s.text != "–" {
		t.Errorf("rows stored shown as %+v while the store is down", s)
	}
	screenshot(t, chrome, hs.URL+"/status", "status-page-store-down.png")
}
