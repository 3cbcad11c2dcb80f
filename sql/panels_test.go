package sql

import (
	"bytes"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/engine/enginetest"
	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/gen"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
)

var update = flag.Bool("update", false, "rewrite the files generated from sql/panels (the Grafana dashboard)")

// The Grafana dashboard's panels are the files in panels/: the SQL after a header of
// "-- key: value" lines. The dashboard JSON is generated from them (go test ./sql -update), and
// these tests run every one of them on the engine, so a view change cannot silently break a panel.

//go:embed panels/*.sql
var panelFiles embed.FS

// dashboardFile is the provisioned dashboard, relative to this package.
const dashboardFile = "../deploy/grafana/dashboards/leadhouse.json"

// datasourceUID is the provisioned ClickHouse data source's uid
// (deploy/grafana/provisioning/datasources/clickhouse.yaml).
const datasourceUID = "leadhouse-clickhouse"

type panel struct {
	name        string // file name without .sql
	title       string
	description string
	kind        string // "timeseries bars", "timeseries stacked bars", "table" or "barchart"
	width       int
	unit        string
	sql         string // the query, without the header
}

func loadPanels(t *testing.T) []panel {
	t.Helper()
	entries, err := fs.ReadDir(panelFiles, "panels")
	if err != nil {
		t.Fatal(err)
	}
	var out []panel
	for _, e := range entries {
		b, err := fs.ReadFile(panelFiles, path.Join("panels", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		p := panel{name: strings.TrimSuffix(e.Name(), ".sql")}
		rest := string(b)
		for strings.HasPrefix(rest, "-- ") {
			line, after, _ := strings.Cut(rest, "\n")
			rest = after
			k, v, ok := strings.Cut(strings.TrimPrefix(line, "-- "), ": ")
			if !ok {
				t.Fatalf("%s: header line %q is not \"-- key: value\"", e.Name(), line)
			}
			switch k {
			case "title":
				p.title = v
			case "description":
				p.description = v
			case "panel":
				p.kind = v
			case "width":
				p.width, err = strconv.Atoi(v)
				if err != nil {
					t.Fatalf("%s: width %q", e.Name(), v)
				}
			case "unit":
				p.unit = v
			default:
				t.Fatalf("%s: unknown header key %q", e.Name(), k)
			}
		}
		p.sql = strings.TrimSpace(rest)
		switch {
		case p.title == "" || p.description == "" || p.sql == "":
			t.Fatalf("%s: needs a title, a description and a query", e.Name())
		case !slices.Contains([]string{"timeseries bars", "timeseries stacked bars", "table", "barchart"}, p.kind):
			t.Fatalf("%s: panel %q is not one the dashboard generator draws", e.Name(), p.kind)
		case p.width <= 0 || p.width > 24:
			t.Fatalf("%s: width %d is not 1 to 24 grid columns", e.Name(), p.width)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		t.Fatal("no panels in sql/panels")
	}
	return out
}

// timeRange is what Grafana's time picker gives a panel.
type timeRange struct{ from, to time.Time }

var (
	timeFilterMacro = regexp.MustCompile(`\$__timeFilter\(([^()]+)\)`)
	dateFilterMacro = regexp.MustCompile(`\$__dateFilter\(([^()]+)\)`)
)

// expandMacros replaces the ClickHouse data source's macros as the plugin does
// (grafana-clickhouse-datasource pkg/macros): $__timeFilter(c) compares c with the range's ends as
// DateTime seconds, $__dateFilter(c) with their dates.
func expandMacros(t *testing.T, q string, r timeRange) string {
	t.Helper()
	q = timeFilterMacro.ReplaceAllString(q, fmt.Sprintf("$1 >= toDateTime(%d) AND $1 <= toDateTime(%d)", r.from.Unix(), r.to.Unix()))
	q = dateFilterMacro.ReplaceAllString(q, fmt.Sprintf("$1 >= toDate('%s') AND $1 <= toDate('%s')",
		r.from.UTC().Format(time.DateOnly), r.to.UTC().Format(time.DateOnly)))
	if i := strings.Index(q, "$"); i >= 0 {
		t.Fatalf("query keeps a macro or variable this test does not expand: %q", q[i:])
	}
	return q
}

// column kinds a panel's column may have, as the engine names its types.
var columnKinds = map[string]*regexp.Regexp{
	"time":   regexp.MustCompile(`^DateTime(64)?\(`),
	"number": regexp.MustCompile(`^(Nullable\()?(U?Int\d+|Float\d+|Decimal)`),
	"string": regexp.MustCompile(`^(LowCardinality\()?String`),
}

// The fixture day: the panels' known values come from a few hand-made callbacks on 10 January
// 2031, far from the generated ones (May 2019), so a time range picks one set or the other.
var (
	fixtureT0    = time.Date(2031, time.January, 10, 9, 0, 0, 0, ist)
	fixtureRange = timeRange{time.Date(2031, time.January, 10, 0, 0, 0, 0, time.UTC), time.Date(2031, time.January, 10, 23, 59, 59, 0, time.UTC)}
	genRange     = timeRange{time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, time.December, 31, 0, 0, 0, 0, time.UTC)}
)

// panelData is what the warehouse holds for the panel tests, with the expectations computed in Go
// from the generated callbacks.
type panelData struct {
	callbacksPerHour map[string]int // "YYYY-MM-DD HH:00:00" UTC -> distinct generated callbacks
	leadsReachingNew int            // distinct generated leads with a move to new
}

// loadPanelData fills s (with store, which delivers callbacks to s) and returns what the panels
// should find.
func loadPanelData(t *testing.T, s DB, store func(...delivery)) panelData {
	t.Helper()
	d := panelData{callbacksPerHour: map[string]int{}}
	g := gen.New(gen.Options{Seed: 16, Leads: 150})
	start := time.Unix(g.Options().Start, 0).UTC()
	var ds []delivery
	seen := map[string]bool{}
	newLeads := map[uint64]bool{}
	for i := range 600 {
		body := g.Next(nil)
		receivedAt := start.Add(time.Duration(i) * 10 * time.Second) // 600 callbacks over three hours
		rows, err := flatten.Flatten(body, receivedAt)
		if err != nil {
			t.Fatalf("generated callback %d: %v", i, err)
		}
		ds = append(ds, delivery{body, receivedAt})
		if !seen[rows.Lead.CallbackID] {
			seen[rows.Lead.CallbackID] = true
			d.callbacksPerHour[receivedAt.Truncate(time.Hour).Format(time.DateTime)]++
		}
		for _, tr := range rows.Transitions {
			if tr.Status == "new" {
				newLeads[rows.Lead.LeadID] = true
			}
		}
	}
	d.leadsReachingNew = len(newLeads)
	store(ds...)

	// Fixture leads, all received on the fixture day. 901 and 902 are project alpha (source
	// src-a), 903 and 904 beta (src-b).
	t0 := fixtureT0.Unix()
	const hour = 3600
	lead := func(id uint64, project, source string, moves map[string]any) *payload {
		return seed(t, id).set("project_name", project).set("source", source).set("status_changes", moves)
	}
	l901 := lead(901, "alpha", "src-a", map[string]any{"moved_to_new": t0, "moved_to_claimed": t0 + hour, "moved_to_interested": t0 + 3*hour}).
		set("dispositions.0.disposition_type", "fresh").set("dispositions.0.created_at", t0+hour/2).set("dispositions.0.agent_name", "cc-agent-x")
	l902 := lead(902, "alpha", "src-a", map[string]any{"moved_to_new": t0, "moved_to_claimed": t0 + 3*hour})
	ccFailed(l902)
	l903 := lead(903, "beta", "src-b", map[string]any{"moved_to_new": t0, "moved_to_claimed": t0 + hour/2, "moved_to_booking_done": t0 + 5*hour}).
		set("dispositions.0.disposition_type", "patch_out").set("dispositions.0.created_at", t0+2*hour).set("dispositions.0.agent_name", "cc-agent-x")
	salesBookingDone(l903)
	l904 := lead(904, "beta", "src-b", map[string]any{"moved_to_new": t0})
	ccFailed(l904)
	received := fixtureT0.Add(6 * time.Hour)
	store(
		delivery{l901.bytes(), received},
		delivery{l902.bytes(), received.Add(time.Minute)},
		delivery{l903.bytes(), received.Add(2 * time.Minute)},
		delivery{l904.bytes(), received.Add(3 * time.Minute)},
	)
	// Dead letters at 04:30 UTC (the first twice, as a replay after a crash writes it) and 05:30.
	dl := func(at time.Time, reason, body string) string {
		return fmt.Sprintf("(%s, '10.0.0.1:5000', '%s', 'rejected', %d, '%s')", chDateTime(at), reason, len(body), body)
	}
	exec(t, s, "INSERT INTO dead_letters (received_at, remote_addr, reason, error, body_size, body) VALUES "+strings.Join([]string{
		dl(fixtureT0.Add(time.Hour), "not_json", "{oops"),
		dl(fixtureT0.Add(time.Hour), "not_json", "{oops"),
		dl(fixtureT0.Add(2*time.Hour), "not_callback", "[1,2]"),
		dl(fixtureT0.Add(2*time.Hour+10*time.Minute), "wal_corrupt", ""),
	}, ", "))
	return d
}

// chDateTime is a DateTime64(3) literal for t.
func chDateTime(t time.Time) string {
	return fmt.Sprintf("fromUnixTimestamp64Milli(%d, 'UTC')", t.UnixMilli())
}

// TestPanelsAnswerOnGeneratedData runs every dashboard panel's query on the engine over generated
// callbacks and the fixture leads, as Grafana does: as the read-only analyst, who reads the
// masked views only, with the plugin's macros expanded. It checks each panel's columns (names and
// kinds, which decide how Grafana draws them) and known values.
func TestPanelsAnswerOnGeneratedData(t *testing.T) {
	type check struct {
		r    timeRange
		want func(t *testing.T, rows [][]string)
	}
	// rowsAre compares the whole answer.
	rowsAre := func(want ...string) func(t *testing.T, rows [][]string) {
		return func(t *testing.T, rows [][]string) {
			t.Helper()
			got := make([]string, len(rows))
			for i, r := range rows {
				got[i] = strings.Join(r, "\t")
			}
			if !slices.Equal(got, want) {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	}
	const analystPassword = "panels-analyst-pw"
	sup := enginetest.Start(t, engine.Config{DataDir: t.TempDir(), AnalystPassword: analystPassword}, nil)
	s, err := clickhouse.New(clickhouse.Options{Addr: []string{sup.HTTPAddr()}, Username: engine.User, Password: sup.Password()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateDatabase(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(t.Context(), s, nil); err != nil {
		t.Fatal(err)
	}
	grafana, err := clickhouse.New(clickhouse.Options{Addr: []string{sup.HTTPAddr()}, Username: engine.AnalystUser, Password: analystPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { grafana.Close() })
	d := loadPanelData(t, s, func(ds ...delivery) { deliver(t, s, ds...) })
	sumColumn := func(rows [][]string, col int) int {
		n := 0
		for _, r := range rows {
			v, err := strconv.Atoi(r[col])
			if err != nil {
				t.Fatalf("column %d: %q is not a count", col, r[col])
			}
			n += v
		}
		return n
	}
	tests := map[string]struct {
		columns string // name:kind, space-separated
		checks  []check
	}{
		"01_callbacks_per_hour": {"time:time callbacks:number", []check{
			{genRange, func(t *testing.T, rows [][]string) {
				got := map[string]int{}
				for _, r := range rows {
					got[r[0]], _ = strconv.Atoi(r[1])
				}
				if fmt.Sprint(got) != fmt.Sprint(d.callbacksPerHour) {
					t.Errorf("callbacks per hour %v, want %v (distinct generated callbacks)", got, d.callbacksPerHour)
				}
			}},
			{fixtureRange, rowsAre("2031-01-10 09:00:00\t4")},
		}},
		"03_funnel_by_project_source": {"project:string source:string reached_new:number claimed:number interested:number meeting_done:number visit_done:number final_negotiation:number booking_done:number booked_pct:number", []check{
			{genRange, func(t *testing.T, rows [][]string) {
				if got := sumColumn(rows, 2); got != d.leadsReachingNew {
					t.Errorf("leads that reached new: %d, want %d (from the generated callbacks)", got, d.leadsReachingNew)
				}
			}},
			{fixtureRange, rowsAre(
				"alpha\tsrc-a\t2\t2\t1\t0\t0\t0\t0\t0",
				"beta\tsrc-b\t2\t1\t0\t0\t0\t0\t1\t50",
			)},
		}},
		"02_scenarios_per_day": {"time:time cc_long_call_followup:number cc_transferred_to_sales:number cc_failed:number sales_site_visit_done:number sales_booking_done:number sales_failed:number", []check{
			{genRange, func(t *testing.T, rows [][]string) {
				if len(rows) == 0 {
					t.Error("no scenario on any generated day")
				}
			}},
			{fixtureRange, rowsAre("2031-01-10 00:00:00\t0\t0\t2\t0\t1\t0")},
		}},
		"04_time_in_status": {"status:string median_hours:number avg_hours:number p90_hours:number", []check{
			{fixtureRange, func(t *testing.T, rows [][]string) {
				// Stays: new 1 h (901), 3 h (902), 0.5 h (903); claimed 2 h (901), 4.5 h (903).
				got := map[string]string{}
				for _, r := range rows {
					got[r[0]] = r[2]
				}
				if len(rows) != 2 || got["new"] != "1.5" || got["claimed"] != "3.25" || rows[0][0] != "new" {
					t.Errorf("rows %v, want new (avg 1.5 h) then claimed (avg 3.25 h)", rows)
				}
			}},
		}},
		"05_handoffs_per_day": {"time:time patch_out:number sent_to_fresh:number", []check{
			{fixtureRange, rowsAre("2031-01-10 00:00:00\t1\t1")},
		}},
		"06_handoffs_by_agent": {"call_center_agent:string project:string handoffs:number booked_since:number booked_pct:number", []check{
			{fixtureRange, rowsAre("cc-agent-x\talpha\t1\t0\t0", "cc-agent-x\tbeta\t1\t1\t100")},
		}},
		"07_dead_letters_per_hour": {"time:time not_json:number not_callback:number other:number", []check{
			{fixtureRange, rowsAre("2031-01-10 04:00:00\t1\t0\t0", "2031-01-10 05:00:00\t0\t1\t1")},
			{genRange, rowsAre()},
		}},
		"08_dead_letters_newest": {"received_at:time reason:string error:string body_size:number remote_addr:string", []check{
			{fixtureRange, rowsAre(
				"2031-01-10 05:40:00.000\twal_corrupt\trejected\t0\t10.0.0.1:5000",
				"2031-01-10 05:30:00.000\tnot_callback\trejected\t5\t10.0.0.1:5000",
				"2031-01-10 04:30:00.000\tnot_json\trejected\t5\t10.0.0.1:5000",
			)},
		}},
	}
	panels := loadPanels(t)
	for _, p := range panels {
		t.Run(p.name, func(t *testing.T) {
			tt, ok := tests[p.name]
			if !ok {
				t.Fatalf("panel %s has no test here: add its columns and a known value", p.name)
			}
			var got []string
			for _, r := range query(t, grafana, "DESCRIBE ("+expandMacros(t, p.sql, genRange)+")") {
				kind := "?"
				for k, re := range columnKinds {
					if re.MatchString(r[1]) {
						kind = k
					}
				}
				got = append(got, r[0]+":"+kind)
			}
			if strings.Join(got, " ") != tt.columns {
				t.Errorf("columns %q, want %q", strings.Join(got, " "), tt.columns)
			}
			if strings.HasPrefix(p.kind, "timeseries") && (len(got) == 0 || got[0] != "time:time") {
				t.Errorf("a time series panel's first column must be its time, got %v", got)
			}
			for _, c := range tt.checks {
				c.want(t, query(t, grafana, expandMacros(t, p.sql, c.r)))
			}
		})
	}
	for name := range tests {
		if !slices.ContainsFunc(panels, func(p panel) bool { return p.name == name }) {
			t.Errorf("test for panel %s, which sql/panels does not have", name)
		}
	}
}

// TestExpandMacrosMatchesThePlugin pins the expansion the panel tests rely on to the plugin's.
func TestExpandMacrosMatchesThePlugin(t *testing.T) {
	r := timeRange{time.Unix(1700000000, 0), time.Unix(1700003600, 0)}
	got := expandMacros(t, "SELECT 1 WHERE $__timeFilter(received_at) AND $__dateFilter(day_ist)", r)
	want := "SELECT 1 WHERE received_at >= toDateTime(1700000000) AND received_at <= toDateTime(1700003600) AND day_ist >= toDate('2023-11-14') AND day_ist <= toDate('2023-11-14')"
	if got != want {
		t.Errorf("expanded:\n%s\nwant:\n%s", got, want)
	}
}

// dashboard builds the provisioned dashboard from the panels: one definition of every panel's
// SQL, so the dashboard cannot drift from what TestPanelsAnswerOnGeneratedData runs.
func dashboard(panels []panel) ([]byte, error) {
	ds := map[string]any{"type": "grafana-clickhouse-datasource", "uid": datasourceUID}
	var out []any
	x, y, rowHeight := 0, 0, 0
	for i, p := range panels {
		h := 9
		if p.kind == "table" {
			h = 10
		}
		if x+p.width > 24 {
			x, y = 0, y+rowHeight
			rowHeight = 0
		}
		format, queryType := 1, "table"
		if strings.HasPrefix(p.kind, "timeseries") {
			format, queryType = 0, "timeseries"
		}
		defaults := map[string]any{}
		if p.unit != "" {
			defaults["unit"] = p.unit
		}
		options := map[string]any{}
		typ := p.kind
		switch p.kind {
		case "timeseries bars", "timeseries stacked bars":
			typ = "timeseries"
			custom := map[string]any{"drawStyle": "bars", "fillOpacity": 80, "lineWidth": 1, "showPoints": "never"}
			if p.kind == "timeseries stacked bars" {
				custom["stacking"] = map[string]any{"mode": "normal", "group": "A"}
			}
			defaults["custom"] = custom
			options["legend"] = map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": true}
			options["tooltip"] = map[string]any{"mode": "multi", "sort": "none"}
		case "barchart":
			options["orientation"] = "horizontal"
			options["legend"] = map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": true}
		case "table":
			options["showHeader"] = true
			options["cellHeight"] = "sm"
		}
		out = append(out, map[string]any{
			"id":          i + 1,
			"type":        typ,
			"title":       p.title,
			"description": p.description,
			"datasource":  ds,
			"gridPos":     map[string]int{"x": x, "y": y, "w": p.width, "h": h},
			"fieldConfig": map[string]any{"defaults": defaults, "overrides": []any{}},
			"options":     options,
			"targets": []any{map[string]any{
				"refId":      "A",
				"datasource": ds,
				"editorType": "sql",
				"format":     format,
				"queryType":  queryType,
				"rawSql":     p.sql,
			}},
		})
		x += p.width
		rowHeight = max(rowHeight, h)
	}
	d := map[string]any{
		"uid":           "leadhouse",
		"title":         "leadhouse: callbacks, funnel and scenarios",
		"description":   "Generated from sql/panels/*.sql by go test ./sql -update; edit those files, not this one.",
		"tags":          []string{"leadhouse"},
		"timezone":      "browser",
		"editable":      false,
		"graphTooltip":  1,
		"schemaVersion": 39,
		"time":          map[string]string{"from": "now-30d", "to": "now"},
		"refresh":       "5m",
		"panels":        out,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// TestDashboardIsGeneratedFromPanels fails when the provisioned dashboard differs from what
// sql/panels generates; go test ./sql -run TestDashboard -update rewrites it.
func TestDashboardIsGeneratedFromPanels(t *testing.T) {
	want, err := dashboard(loadPanels(t))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(dashboardFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what sql/panels generates: run go test ./sql -run TestDashboard -update", dashboardFile)
	}
}
