package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/gen"
	lhsql "github.com/leadhouse/leadhouse/sql"
)

func TestReportHelpPrintsUsage(t *testing.T) {
	for _, args := range [][]string{{"report", "-h"}, {"report", "--help"}, {"report", "funnel", "-h"}} {
		var out, errOut bytes.Buffer
		// No configuration at all: help must not need any.
		if err := run(context.Background(), args, map[string]string{"LEADHOUSE_FLUSH_INTERVAL": "soon"}, nil, &out, &errOut); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(out.String(), "funnel [--project P] [--since T]") || !strings.Contains(out.String(), "--since T") {
			t.Errorf("%v printed %q", args, out.String())
		}
	}
}

func TestReportMistakesAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"report"}, {"report", "pie"}, {"report", "funnel", "--colour"}, {"report", "funnel", "extra"}, {"report", "funnel", "--since", "last week"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, map[string]string{}, nil, &out, &out); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2031, time.January, 10, 20, 0, 0, 0, time.UTC) // 01:30 on the 11th in IST
	tests := []struct {
		in   string
		want string // the IST day
	}{
		{"2019-05-01", "2019-05-01"},
		{"2019-05-01T20:00:00Z", "2019-05-02"},
		{"2019-05-01T09:30:00+05:30", "2019-05-01"},
		{"0d", "2031-01-11"},
		{"30d", "2030-12-12"},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, now)
		if err != nil || got.In(lhsql.IST).Format(time.DateOnly) != tt.want {
			t.Errorf("parseSince(%q) = %v, %v; want IST day %s", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "yesterday", "-3d", "3.5d", "2019-13-01"} {
		if _, err := parseSince(in, now); err == nil {
			t.Errorf("parseSince(%q) accepted", in)
		}
	}
}

// TestReportFunnelPrintsTheWarehousesFunnel loads generated callbacks with replay and checks
// that report funnel prints the counts lead_funnel holds, for every project and for one.
func TestReportFunnelPrintsTheWarehousesFunnel(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	file := filepath.Join(t.TempDir(), "calls.ndjson")
	var ndjson bytes.Buffer
	if err := gen.New(gen.Options{Seed: 3, Leads: 80}).WriteNDJSON(&ndjson, 400); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, ndjson.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	replay := exec.Command(bin, "replay", file)
	replay.Env = serveEnv(dataDir)
	if out, err := replay.CombinedOutput(); err != nil {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	project := query(t, bin, dataDir, "SELECT project_name FROM leads_current GROUP BY project_name ORDER BY count() DESC, project_name LIMIT 1")
	// A day halfway through the project's moves, so that --since drops some and keeps some.
	since := query(t, bin, dataDir, "SELECT toString(min(day_ist) + intDiv(max(day_ist) - min(day_ist), 2)) FROM lead_funnel WHERE project_name = '"+project+"'")

	reportOf := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"report", "funnel"}, args...)...)
		cmd.Env = serveEnv(dataDir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("report funnel %v: %v\n%s", args, err, stderr.String())
		}
		return string(out)
	}
	tests := []struct {
		args  []string
		where string
		title string
	}{
		{nil, "", "every project, all time"},
		{[]string{"--project", project}, " AND project_name = '" + project + "'", fmt.Sprintf("project %q, all time", project)},
		{[]string{"--project", project, "--since", since}, " AND project_name = '" + project + "' AND day_ist >= '" + since + "'", "moves since " + since + " (IST)"},
	}
	for _, tt := range tests {
		out := reportOf(tt.args...)
		if !strings.Contains(strings.SplitN(out, "\n", 2)[0], tt.title) {
			t.Errorf("%v: title %q lacks %q", tt.args, strings.SplitN(out, "\n", 2)[0], tt.title)
		}
		nonzero := 0
		for _, status := range append(lhsql.FunnelStages(), "failed", "junk") {
			want := query(t, bin, dataDir, "SELECT sum(leads) FROM lead_funnel WHERE status = '"+status+"'"+tt.where)
			var re *regexp.Regexp
			if status == "failed" || status == "junk" {
				re = regexp.MustCompile(`(?m)^left the funnel:.*\b` + status + ` ([0-9,]+)`)
			} else {
				re = regexp.MustCompile(`(?m)^` + status + ` +#* +([0-9,]+) `)
			}
			m := re.FindStringSubmatch(out)
			if m == nil || strings.ReplaceAll(m[1], ",", "") != want {
				t.Errorf("%v: %s shown as %v, lead_funnel has %s\n%s", tt.args, status, m, want, out)
			}
			if want != "0" {
				nonzero++
			}
		}
		if nonzero < 2 {
			t.Errorf("%v: only %d stages with leads: the report was not put to the test\n%s", tt.args, nonzero, out)
		}
	}
}
