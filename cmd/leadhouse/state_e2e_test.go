package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/gen"
)

// TestEveryCommandPrintsItsUsage: `leadhouse help CMD` and `leadhouse CMD -h` print the
// command's usage and succeed, for every command, whatever else is on the command line (replay
// -h used to open a file named -h).
func TestEveryCommandPrintsItsUsage(t *testing.T) {
	for _, c := range commands {
		for _, args := range [][]string{{"help", c.name}, {c.name, "-h"}, {c.name, "--help"}, {c.name, "some-file", "-help"}} {
			var out bytes.Buffer
			if err := run(context.Background(), args, map[string]string{}, strings.NewReader(""), &out, &out); err != nil {
				t.Errorf("%v: %v", args, err)
				continue
			}
			if !strings.HasPrefix(out.String(), "usage: leadhouse "+c.name) {
				t.Errorf("%v printed %q, want %s's usage", args, out.String(), c.name)
			}
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, map[string]string{}, nil, &out, &out); err != nil || !strings.Contains(out.String(), "dead-letters") {
		t.Errorf("help: %v, %q", err, out.String())
	}
}

// runCmd runs the binary with args on dataDir and returns stdout.
func runCmd(t *testing.T, bin, dataDir string, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = serveEnv(dataDir, "LEADHOUSE_LOG_FORMAT=json")
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// generated returns n generated callbacks as NDJSON.
func generated(t *testing.T, seed int64, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gen.New(gen.Options{Seed: seed, Leads: 60}).WriteNDJSON(&b, n); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestReplayTakesFilesDirectoriesAndStdin backfills from a directory (NDJSON, gzipped NDJSON, a
// .json file of one body, a line that is not JSON) and from standard input, then does it all
// again: the first run stores every callback once and dead-letters the bad line, the second
// finds every callback stored.
func TestReplayTakesFilesDirectoriesAndStdin(t *testing.T) {
	bin := binary(t)
	dataDir, in := t.TempDir(), t.TempDir()
	lines := bytes.Split(bytes.TrimSpace(generated(t, 5, 250)), []byte("\n"))
	ndjson := append(bytes.Join(lines[:100], []byte("\n")), []byte("\n{not json\n")...)
	if err := os.WriteFile(filepath.Join(in, "a.ndjson"), ndjson, 0o644); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Join(lines[100:200], []byte("\n")))
	zw.Write([]byte("\n"))
	// A repeat within the run: stored once.
	zw.Write(lines[0])
	zw.Close()
	if err := os.WriteFile(filepath.Join(in, "b.ndjson.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "c.json"), fixture(t, "seed_callback.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdin := bytes.Join(lines[200:], []byte("\n"))
	out := runCmd(t, bin, dataDir, stdin, "replay", in, "-")
	for _, want := range []string{
		filepath.Join(in, "a.ndjson") + ": 100 stored, 0 duplicates, 1 dead letters\n",
		filepath.Join(in, "b.ndjson.gz") + ": 100 stored, 1 duplicates, 0 dead letters\n",
		filepath.Join(in, "c.json") + ": 1 stored, 0 duplicates, 0 dead letters\n",
		"-: 50 stored, 0 duplicates, 0 dead letters\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first replay lacks %q:\n%s", want, out)
		}
	}
	if got := query(t, bin, dataDir, "SELECT count(), uniqExact(callback_id) FROM lead_updates"); got != "251\t251" {
		t.Errorf("lead_updates after the first replay: %q, want 251 callbacks once each", got)
	}
	out = runCmd(t, bin, dataDir, stdin, "replay", in, "-")
	for _, want := range []string{
		filepath.Join(in, "a.ndjson") + ": 0 stored, 100 duplicates, 1 dead letters\n",
		filepath.Join(in, "b.ndjson.gz") + ": 0 stored, 101 duplicates, 0 dead letters\n",
		"-: 0 stored, 50 duplicates, 0 dead letters\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("second replay lacks %q:\n%s", want, out)
		}
	}
	if got := query(t, bin, dataDir, "SELECT count() FROM lead_updates"); got != "251" {
		t.Errorf("lead_updates after the second replay: %q rows, want 251", got)
	}
}

// TestDeadLetterReplayStoresOnce keeps two dead letters, one a body the flattener takes now (as
// after a parser fix) and one it still refuses, and replays them three times: the first is stored
// once and marked, the second stays a dead letter with its new reason.
func TestDeadLetterReplayStoresOnce(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	runCmd(t, bin, dataDir, nil, "migrate")
	body := strings.ReplaceAll(string(fixture(t, "seed_callback.json")), "'", "''")
	body = strings.ReplaceAll(body, `\`, `\\`)
	query(t, bin, dataDir, "INSERT INTO dead_letters (received_at, remote_addr, reason, error, body_size, body) VALUES "+
		"('2019-05-17 08:00:00.000', '10.0.0.1', 'old_parser_bug', 'unexpected', 100, '"+body+"'), "+
		"('2019-05-17 09:00:00.000', '10.0.0.2', 'not_json', 'not JSON at byte 1', 5, '{oops')")
	for i, want := range []string{
		"re-submitted 2 dead letters: 1 stored, 0 already stored, 1 still dead letters\n",
		"re-submitted 1 dead letters: 0 stored, 0 already stored, 1 still dead letters\n",
		"re-submitted 1 dead letters: 0 stored, 0 already stored, 1 still dead letters\n",
	} {
		if got := runCmd(t, bin, dataDir, nil, "dead-letters", "replay"); got != want {
			t.Errorf("replay %d printed %q, want %q", i+1, got, want)
		}
	}
	if got := query(t, bin, dataDir, "SELECT count(), any(received_at), any(lead_id) FROM lead_updates"); got != "1\t2019-05-17 08:00:00.000\t1402361" {
		t.Errorf("lead_updates: %q, want the dead letter stored once, at its arrival time", got)
	}
	list := runCmd(t, bin, dataDir, nil, "dead-letters", "list")
	if !strings.Contains(list, "10.0.0.1\told_parser_bug\tstored\t") || !strings.Contains(list, "10.0.0.2\tnot_json\tdead_letter\t") {
		t.Errorf("dead-letters list:\n%s", list)
	}
	if got := runCmd(t, bin, dataDir, nil, "dead-letters", "list", "--reason", "not_json", "--since", "2019-05-17T08:30:00Z"); !strings.Contains(got, "\n1 dead letters\n") {
		t.Errorf("list --reason not_json --since 08:30:\n%s", got)
	}
	if got := runCmd(t, bin, dataDir, nil, "dead-letters", "replay", "--reason", "old_parser_bug"); got != "re-submitted 0 dead letters: 0 stored, 0 already stored, 0 still dead letters\n" {
		t.Errorf("replay of the stored one again: %q", got)
	}
}

// TestRebuildSurvivesKillNine loads generated callbacks, kills a rebuild with SIGKILL after it
// has written a few chunks, runs it again to the end and checks the warehouse says what it said:
// every view, every row, and nothing of the rebuild left behind.
func TestRebuildSurvivesKillNine(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	runCmd(t, bin, dataDir, generated(t, 9, 1200), "replay", "-")
	viewsNow := func() string {
		var b strings.Builder
		for _, v := range []string{"leads_current", "calls_current", "notes_current", "status_transitions_current", "lead_funnel", "scenario_counts", "lead_scenarios"} {
			b.WriteString(query(t, bin, dataDir, "SELECT * FROM "+v+" ORDER BY ALL") + "\n")
		}
		return b.String()
	}
	before := viewsNow()
	rows := "SELECT (SELECT count() FROM lead_updates), (SELECT uniqExact(callback_id) FROM lead_updates), (SELECT uniqExact(lead_id, note_id) FROM notes)"
	beforeRows := query(t, bin, dataDir, rows)

	cmd := exec.Command(bin, "rebuild", "-chunk", "60")
	cmd.Env = serveEnv(dataDir)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ended := func() {
		select {
		case err := <-exited:
			t.Fatalf("rebuild ended (%v) before it could be killed:\n%s", err, stderr.String())
		default:
		}
	}
	// Queried only once the rebuild runs on its own engine, which query then finds and uses.
	waitFor(t, func() bool { ended(); return strings.Contains(stderr.String(), `"msg":"rebuild"`) })
	waitFor(t, func() bool {
		ended()
		q := exec.Command(bin, "query", "SELECT count() FROM rebuild_chunks WHERE table_name = 'lead_updates'")
		q.Env = serveEnv(dataDir)
		out, err := q.Output()
		n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
		return err == nil && n >= 3
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	// The engine leaves when its parent dies; the next command waits for the data dir.
	out := runCmd(t, bin, dataDir, nil, "rebuild", "-chunk", "60")
	if !strings.Contains(out, "rebuilt (") {
		t.Errorf("second rebuild printed %q", out)
	}
	if got := viewsNow(); got != before {
		t.Errorf("views after a rebuild killed and resumed:\n%.2000s\nbefore:\n%.2000s", got, before)
	}
	if got := query(t, bin, dataDir, rows); got != beforeRows {
		t.Errorf("rows, distinct callbacks, notes: %q, before %q", got, beforeRows)
	}
	if got := query(t, bin, dataDir, "SELECT count() FROM system.tables WHERE database = currentDatabase() AND (name LIKE '%__rebuild' OR startsWith(comment, 'rebuild '))"); got != "0" {
		t.Errorf("%s tables or marks of the rebuild are left", got)
	}
	if got := query(t, bin, dataDir, "SELECT uniqExact(rebuild) FROM rebuild_chunks"); got != "1" {
		t.Errorf("the second run started %s rebuilds; it must resume the first", got)
	}
}

// TestRebuildWhileServing rebuilds while serve takes callbacks: every callback acknowledged
// before, during and after the rebuild is in the result once, and the state agrees with it.
func TestRebuildWhileServing(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	env := serveEnv(dataDir)
	inst := start(t, bin, env)
	defer inst.stop(t)
	bodies := bytes.Split(bytes.TrimSpace(generated(t, 13, 900)), []byte("\n"))
	client := &http.Client{Timeout: time.Minute}
	send := func(bs [][]byte) {
		for _, b := range bs {
			if a := post(t, client, inst.url+"/v1/callbacks", "Bearer "+testToken, b); a.status != http.StatusAccepted {
				t.Errorf("callback answered %d: %v", a.status, a.body)
			}
		}
	}
	send(bodies[:400])
	waitFor(t, func() bool { return query(t, bin, dataDir, "SELECT count() FROM lead_updates") == "400" })
	done := make(chan struct{})
	go func() { defer close(done); send(bodies[400:800]) }()
	cmd := exec.Command(bin, "rebuild", "-chunk", "50")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rebuild while serving: %v\n%s", err, out)
	}
	<-done
	send(bodies[800:])
	waitFor(t, func() bool { return query(t, bin, dataDir, "SELECT count() FROM lead_updates") == "900" })
	checks := map[string]string{
		"SELECT count(), uniqExact(callback_id) FROM lead_updates":                                        "900\t900",
		"SELECT (SELECT uniqExact(lead_id) FROM lead_updates) = (SELECT count() FROM leads_current)":      "1",
		"SELECT (SELECT sum(callbacks) FROM leads_current)":                                               "900",
		"SELECT (SELECT uniqExact(lead_id, note_id) FROM notes) = (SELECT count() FROM notes_current)":    "1",
		"SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE '%__rebuild'": "0",
	}
	for q, want := range checks {
		if got := query(t, bin, dataDir, q); got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}
}
