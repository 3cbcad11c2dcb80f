package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/engine"
)

// These tests run the real binary on the embedded engine, as an operator would: they build it
// once, serve on a free port with the engine process it supervises on free ports of its own,
// post callbacks over HTTP, stop it with signals, and read the warehouse back with `leadhouse
// query` and over the engine's HTTP and native ports.

const testToken = "e2e-token-0123456789"

var built struct {
	once sync.Once
	path string
	err  error
}

// binary builds leadhouse once per test process.
func binary(t *testing.T) string {
	t.Helper()
	if _, err := engine.FindLibrary(); err != nil {
		if os.Getenv("LEADHOUSE_REQUIRE_CHDB") != "1" {
			t.Skipf("skipping: %v", err)
		}
		t.Fatal(err)
	}
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "leadhouse-e2e-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "leadhouse")
		out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "flatten", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// instance is one running `leadhouse serve`.
type instance struct {
	cmd    *exec.Cmd
	url    string
	stderr *lockedBuffer
	exited chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const analystPassword = "e2e-analyst-password"

// serveEnv is the environment of a leadhouse command on dataDir, with free ports for the engine
// (a later setting in extra wins).
func serveEnv(dataDir string, extra ...string) []string {
	ports, err := engine.FreeLoopbackPorts(2)
	if err != nil {
		panic(err)
	}
	env := append(os.Environ(),
		"LEADHOUSE_DATA_DIR="+dataDir,
		"LEADHOUSE_TOKEN=rotated-old-token-xyz,"+testToken,
		"LEADHOUSE_LISTEN=127.0.0.1:0",
		"LEADHOUSE_LOG_FORMAT=json",
		"LEADHOUSE_FLUSH_INTERVAL=200ms",
		fmt.Sprintf("LEADHOUSE_ENGINE_HTTP_PORT=%d", ports[0]),
		fmt.Sprintf("LEADHOUSE_ENGINE_NATIVE_PORT=%d", ports[1]),
		"LEADHOUSE_ANALYST_PASSWORD="+analystPassword,
	)
	return append(env, extra...)
}

// start runs serve and waits until it logs its address and /readyz says it is ready.
func start(t *testing.T, bin string, env []string) *instance {
	t.Helper()
	inst := launch(t, bin, env)
	// Ready, not degraded: serve answers at once, and writes once its store is migrated.
	waitFor(t, func() bool { return inst.readiness() == "ready" })
	return inst
}

// launch runs serve and waits until it logs its address, whatever its store.
func launch(t *testing.T, bin string, env []string) *instance {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	pr, pw := io.Pipe()
	inst := &instance{cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = io.MultiWriter(pw, inst.stderr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { inst.exited <- cmd.Wait(); pw.Close() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving callbacks" {
				addr <- line.Addr
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("serve exited before listening:\n%s", inst.stderr)
		}
		inst.url = "http://" + a
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("serve did not start:\n%s", inst.stderr)
	}
	return inst
}

// readiness is the status /readyz reports: ready, degraded, not_ready, or "" when it does not
// answer.
func (i *instance) readiness() string {
	resp, err := http.Get(i.url + "/readyz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var r struct{ Status string }
	if json.NewDecoder(resp.Body).Decode(&r) != nil {
		return ""
	}
	return r.Status
}

// stop sends SIGTERM and requires a clean exit.
func (i *instance) stop(t *testing.T) {
	t.Helper()
	if err := i.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-i.exited:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM:\n%s", err, i.stderr)
		}
	case <-time.After(2 * time.Minute):
		i.cmd.Process.Kill()
		t.Fatalf("serve did not stop after SIGTERM:\n%s", i.stderr)
	}
}

func (i *instance) kill(t *testing.T) {
	t.Helper()
	_ = i.cmd.Process.Signal(syscall.SIGKILL)
	<-i.exited
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 2 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type answer struct {
	status int
	body   map[string]any
	header http.Header
}

func post(t *testing.T, client *http.Client, url, auth string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return a
}

func query(t *testing.T, bin, dataDir, sql string) string {
	t.Helper()
	return queryEnv(t, bin, dataDir, nil, sql)
}

// queryEnv is query with more settings, such as the address of a server.
func queryEnv(t *testing.T, bin, dataDir string, env []string, sql string) string {
	t.Helper()
	cmd := exec.Command(bin, "query", sql)
	cmd.Env = serveEnv(dataDir, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("query %q: %v\n%s", sql, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func TestServeEndToEnd(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	inst := start(t, bin, serveEnv(dataDir))
	client := &http.Client{Timeout: 30 * time.Second}
	cb := inst.url + "/v1/callbacks"
	bearer := "Bearer " + testToken
	seed, variant, invalid := fixture(t, "seed_callback.json"), fixture(t, "variant_callback.json"), fixture(t, "seed_callback_invalid.json")
	rotated := bytes.Replace(seed, []byte(`"lead_id":1402361`), []byte(`"lead_id":"77"`), 1)

	cases := []struct {
		name   string
		url    string
		auth   string
		body   []byte
		status int
	}{
		{"sample", cb, bearer, seed, 202},
		{"sample again", cb, bearer, seed, 202},
		{"variant by query token", cb + "?token=" + testToken, "", variant, 202},
		{"rotated old token", cb, "Bearer rotated-old-token-xyz", rotated, 202},
		{"invalid sample", cb, bearer, invalid, 400},
		{"array", cb, bearer, []byte(`[1,2]`), 422},
		{"no lead id", cb, bearer, []byte(`{"lead_id":"abc"}`), 422},
		{"wrong token", cb, "Bearer nope-nope-nope", seed, 401},
		{"missing token", cb, "", seed, 401},
	}
	ids := map[string]string{}
	for _, c := range cases {
		a := post(t, client, c.url, c.auth, c.body)
		if a.status != c.status {
			t.Errorf("%s: status %d, want %d (%v)", c.name, a.status, c.status, a.body)
			continue
		}
		if c.status == 202 {
			id, _ := a.body["callback_id"].(string)
			if len(id) != 32 {
				t.Errorf("%s: callback_id %q", c.name, id)
			}
			ids[c.name] = id
		}
		if c.name == "invalid sample" && a.body["offset"] == nil {
			t.Errorf("400 answer lacks the offset: %v", a.body)
		}
	}
	if ids["sample"] != ids["sample again"] {
		t.Errorf("same body got two ids: %s %s", ids["sample"], ids["sample again"])
	}
	if resp, err := client.Get(cb); err == nil {
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET callbacks: %d", resp.StatusCode)
		}
		resp.Body.Close()
	}
	big := bytes.Repeat([]byte(" "), 2<<20)
	if a := post(t, client, cb, bearer, big); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: %d", a.status)
	}
	resp, err := client.Get(inst.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(metrics, []byte(`leadhouse_callbacks_total{outcome="accepted"} 4`)) {
		t.Errorf("metrics lack 4 accepted callbacks:\n%s", metrics)
	}
	inst.stop(t)

	// The sample posted twice is one callback everywhere analysts look.
	if got := query(t, bin, dataDir, "SELECT count(), uniqExact(callback_id) FROM lead_updates_dedup"); got != "3\t3" {
		t.Errorf("lead_updates_dedup count, ids = %q, want 3 callbacks", got)
	}
	// Raw bodies are stored byte for byte (the batches read them back from the write-ahead log).
	var sums []string
	for _, b := range [][]byte{seed, variant, rotated} {
		sum := sha256.Sum256(b)
		sums = append(sums, hex.EncodeToString(sum[:]))
	}
	slices.Sort(sums)
	if got := query(t, bin, dataDir, "SELECT DISTINCT lower(hex(SHA256(raw))) FROM lead_updates ORDER BY 1"); got != strings.Join(sums, "\n") {
		t.Errorf("SHA-256 of the stored raw bodies:\n%s\nwant those of the bodies sent:\n%s", got, strings.Join(sums, "\n"))
	}
	if got := query(t, bin, dataDir, "SELECT lead_id, lead_status, callbacks FROM leads_current ORDER BY lead_id"); got != "77\tfinal_negotiation\t1\n1402361\tinterested\t2" {
		t.Errorf("leads_current = %q", got)
	}
	if got := query(t, bin, dataDir, "SELECT count() FROM notes_current WHERE lead_id = 1402361"); got != "7" {
		t.Errorf("notes of the sample's lead = %q, want 7 (5 lead notes + 2 event notes, once each)", got)
	}
	if got := query(t, bin, dataDir, "SELECT reason, count() FROM dead_letters GROUP BY reason ORDER BY reason"); got != "not_callback\t2\nnot_json\t1" {
		t.Errorf("dead letters = %q", got)
	}
	if got := query(t, bin, dataDir, "SELECT body = '[1,2]' FROM dead_letters WHERE reason = 'not_callback' ORDER BY body_size LIMIT 1"); got != "1" {
		t.Errorf("dead letter body not kept as received: %q", got)
	}
}

// While serve runs, the warehouse answers live: `leadhouse query` reads through the running
// engine, and the analyst user reads over HTTP and the native protocol, and cannot write.
func TestQueryWhileServingAnswersLive(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	env := serveEnv(dataDir)
	inst := start(t, bin, env)
	defer inst.stop(t)
	client := &http.Client{Timeout: 30 * time.Second}
	if a := post(t, client, inst.url+"/v1/callbacks", "Bearer "+testToken, fixture(t, "seed_callback.json")); a.status != 202 {
		t.Fatalf("callback: %d %v", a.status, a.body)
	}
	waitFor(t, func() bool {
		c := exec.Command(bin, "query", "SELECT count() FROM leads_current")
		c.Env = env
		got, err := c.Output()
		return err == nil && strings.TrimSpace(string(got)) == "1"
	})
	httpAddr := "127.0.0.1:" + envValue(env, "LEADHOUSE_ENGINE_HTTP_PORT")
	ask := func(user, password, q string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+httpAddr+"/", strings.NewReader(q))
		req.SetBasicAuth(user, password)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if status, body := ask(engine.AnalystUser, analystPassword, "SELECT count() FROM leadhouse.masked_lead_scenarios"); status != 200 {
		t.Errorf("analyst reading masked_lead_scenarios: %d %q", status, body)
	}
	if status, body := ask(engine.AnalystUser, analystPassword, "SELECT lead_id, phone FROM leadhouse.masked_leads_current"); status != 200 || body != "1402361\t9988" {
		t.Errorf("analyst reading masked_leads_current: %d %q", status, body)
	}
	if status, body := ask(engine.AnalystUser, analystPassword, "SELECT phone FROM leadhouse.leads_current"); status == 200 {
		t.Errorf("analyst read the unmasked leads_current: %q", body)
	}
	if status, body := ask(engine.AnalystUser, analystPassword, "INSERT INTO leadhouse.dead_letters (reason) VALUES ('x')"); status == 200 {
		t.Errorf("analyst could insert: %q", body)
	}
	if status, body := ask("default", "", "SELECT 1"); status == 200 {
		t.Errorf("default logged in without a password: %q", body)
	}
}

func envValue(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

func TestServeRefusesToStartWithoutToken(t *testing.T) {
	bin := binary(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "LEADHOUSE_DATA_DIR="+t.TempDir(), "LEADHOUSE_TOKEN=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "LEADHOUSE_TOKEN") {
		t.Errorf("serve without a token: err %v, output %s", err, out)
	}
}

func TestBadConfigNamesTheVariable(t *testing.T) {
	bin := binary(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "LEADHOUSE_TOKEN="+testToken, "LEADHOUSE_FLUSH_INTERVAL=soon")
	out, err := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err == nil || len(lines) != 1 || !strings.Contains(lines[0], "LEADHOUSE_FLUSH_INTERVAL") || !strings.Contains(lines[0], "duration") {
		t.Errorf("bad duration: err %v, output %q", err, out)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.path != "" {
		os.RemoveAll(filepath.Dir(built.path))
	}
	os.Exit(code)
}
