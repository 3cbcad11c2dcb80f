package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestFlattenCommandPrintsEveryRow runs `leadhouse flatten FILE` in-process on the CRM's sample:
// one JSON object per row, each naming its table.
func TestFlattenCommandPrintsEveryRow(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"flatten", "../../flatten/testdata/seed_callback.json"}, nil, strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var row struct {
			Table  string `json:"table"`
			LeadID uint64 `json:"lead_id"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("line is not JSON: %q", line)
		}
		if row.LeadID != 1402361 {
			t.Errorf("row of %s has lead_id %d", row.Table, row.LeadID)
		}
		tables[row.Table]++
	}
	want := map[string]int{"lead_updates": 1, "events": 2, "notes": 7, "calls": 1, "dispositions": 1, "status_transitions": 12, "booking_docs": 2}
	for table, n := range want {
		if tables[table] != n {
			t.Errorf("%s: %d rows, want %d (all: %v)", table, tables[table], n, tables)
		}
	}
}

func TestFlattenCommandNamesTheSyntaxError(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"flatten", "-"}, nil, strings.NewReader(`{"lead_id" 1}`), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "not JSON at byte") {
		t.Errorf("flatten of bad JSON: %v", err)
	}
}

func TestUnknownCommandIsAUsageError(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, map[string]string{}, nil, &out, &out); !errors.Is(err, errUsage) {
		t.Errorf("unknown command: %v", err)
	}
}

// TestMigrateCommandIsIdempotent runs `leadhouse migrate` twice on a fresh data dir: the first
// run applies every migration, the second finds the store up to date.
func TestMigrateCommandIsIdempotent(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	migrate := func() string {
		cmd := exec.Command(bin, "migrate")
		cmd.Env = serveEnv(dataDir)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("migrate: %v", err)
		}
		return string(out)
	}
	if first := migrate(); !strings.Contains(first, "applied 0001_tables.sql") || !strings.Contains(first, "applied 0002_views.sql") {
		t.Errorf("first migrate printed %q", first)
	}
	if second := migrate(); !strings.Contains(second, "up to date") {
		t.Errorf("second migrate printed %q", second)
	}
}

// TestQueryTimePrintsTheResultOnceAndEachRun: `query -time N` is for measuring a view on a warm
// engine, so the result must not be repeated and every run must be timed.
func TestQueryTimePrintsTheResultOnceAndEachRun(t *testing.T) {
	bin := binary(t)
	cmd := exec.Command(bin, "query", "-time", "3", "SELECT 40 + 2")
	cmd.Env = serveEnv(t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("query -time: %v\n%s", err, stderr.String())
	}
	if string(out) != "42\n" {
		t.Errorf("stdout %q, want the result once", out)
	}
	for _, run := range []string{"run 1: ", "run 2: ", "run 3: "} {
		if !strings.Contains(stderr.String(), run) {
			t.Errorf("stderr lacks %q: %s", run, stderr.String())
		}
	}
}
