package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/engine"
)

// These tests break the store under a running serve, as an operator's ClickHouse breaks: it is
// down when serve starts, it is killed under load, it refuses a callback, the disk under the
// write-ahead log fills up. The store is an engine started on its own (`leadhouse engine`), which
// serve reaches as it reaches any ClickHouse server.

const serverPassword = "fault-tests-password"

// chServer is one `leadhouse engine`: a ClickHouse server on its own ports and data directory.
type chServer struct {
	bin, dir  string
	http, tcp int
	cmd       *exec.Cmd
	exited    chan error
	stderr    *lockedBuffer
	enginePID int
	env       []string // more settings of the engine, such as its cluster
}

func newServer(t *testing.T, bin string) *chServer {
	t.Helper()
	ports, err := engine.FreeLoopbackPorts(2)
	if err != nil {
		t.Fatal(err)
	}
	return &chServer{bin: bin, dir: t.TempDir(), http: ports[0], tcp: ports[1]}
}

// addr is the server's HTTP interface, as LEADHOUSE_CLICKHOUSE_ADDR.
func (s *chServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.http) }

// clientEnv is what a serve or a query needs to reach the server.
func (s *chServer) clientEnv() []string {
	return []string{"LEADHOUSE_CLICKHOUSE_ADDR=" + s.addr(), "LEADHOUSE_CLICKHOUSE_USERNAME=" + engine.User,
		"LEADHOUSE_CLICKHOUSE_PASSWORD=" + serverPassword}
}

// start runs the server and waits until its engine answers.
func (s *chServer) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "engine")
	s.cmd.Env = append(os.Environ(), "LEADHOUSE_DATA_DIR="+s.dir, "LEADHOUSE_LOG_FORMAT=json",
		fmt.Sprintf("LEADHOUSE_ENGINE_HTTP_PORT=%d", s.http), fmt.Sprintf("LEADHOUSE_ENGINE_NATIVE_PORT=%d", s.tcp),
		"LEADHOUSE_ENGINE_PASSWORD="+serverPassword)
	s.cmd.Env = append(s.cmd.Env, s.env...)
	s.stderr = &lockedBuffer{}
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() { s.kill() })
	waitFor(t, func() bool {
		select {
		case err := <-s.exited:
			t.Fatalf("leadhouse engine exited: %v\n%s", err, s.stderr)
		default:
		}
		s.enginePID = enginePID(t, s.dir)
		return s.enginePID > 0 && s.answers()
	})
}

func (s *chServer) answers() bool {
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.addr()+"/?query=SELECT%201", nil)
	req.SetBasicAuth(engine.User, serverPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// kill ends the server as a crash would: SIGKILL to the engine process and its supervisor.
func (s *chServer) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	if s.enginePID > 0 {
		_ = syscall.Kill(s.enginePID, syscall.SIGKILL)
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// exec runs a statement on the server as leadhouse's user.
func (s *chServer) exec(t *testing.T, q string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr()+"/", strings.NewReader(q))
	req.SetBasicAuth(engine.User, serverPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", q, body)
	}
}

// TestServeStartsWithTheStoreDownAndWritesTheBacklogWhenItComesUp: on a cold boot leadhouse may
// start before its ClickHouse. It must answer 202 from the write-ahead log meanwhile, say
// "degraded" with the store's error, and write everything once the store is up.
func TestServeStartsWithTheStoreDownAndWritesTheBacklogWhenItComesUp(t *testing.T) {
	bin := binary(t)
	srv := newServer(t, bin)
	dataDir := t.TempDir()
	inst := launch(t, bin, serveEnv(dataDir, srv.clientEnv()...))
	defer inst.stop(t)
	client := &http.Client{Timeout: 30 * time.Second}
	for i := range 20 {
		body := bytes.Replace(fixture(t, "seed_callback.json"), []byte(`"lead_id":1402361`), fmt.Appendf(nil, `"lead_id":%d`, 100+i), 1)
		a := post(t, client, inst.url+"/v1/callbacks", "Bearer "+testToken, body)
		if a.status != http.StatusAccepted {
			t.Fatalf("callback %d with the store down: %d %v", i, a.status, a.body)
		}
	}
	resp, err := client.Get(inst.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct{ Status, Error string }
	_ = json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || ready.Status != "degraded" || !strings.Contains(ready.Error, "connection refused") {
		t.Errorf("/readyz with the store down: %d %+v, want 200 degraded with the store's error", resp.StatusCode, ready)
	}
	srv.start(t)
	waitFor(t, func() bool { return inst.readiness() == "ready" })
	waitFor(t, func() bool {
		return queryEnv(t, bin, dataDir, srv.clientEnv(), "SELECT uniqExact(callback_id) FROM lead_updates") == "20"
	})
	if !strings.Contains(inst.stderr.String(), "store reachable: migrations applied, writing the backlog") {
		t.Errorf("the log does not say the store came back:\n%s", inst.stderr)
	}
}

// TestOutageLoopLosesNothing kills the ClickHouse server with SIGKILL three times under load from
// eight clients, and once restarts leadhouse while the server is down: callbacks keep getting
// 202 during the outages, and every one of them is stored exactly once.
func TestOutageLoopLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("outage loop runs the binaries repeatedly")
	}
	bin := binary(t)
	srv := newServer(t, bin)
	srv.start(t)
	dataDir := t.TempDir()
	env := serveEnv(dataDir, append(srv.clientEnv(), "LEADHOUSE_FLUSH_INTERVAL=100ms", "LEADHOUSE_RATE_LIMIT=0")...)
	inst := start(t, bin, env)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 43))
	d := newDriver(30000)
	d.target(inst.url + "/v1/callbacks")
	stop := make(chan struct{})
	wg := d.run(8, stop)
	const outages = 3
	for round := range outages {
		time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
		srv.kill()
		d.down.Store(true)
		if round == 1 {
			// leadhouse restarted while its store is down starts all the same.
			time.Sleep(300 * time.Millisecond)
			inst.kill(t)
			inst = launch(t, bin, env)
			d.target(inst.url + "/v1/callbacks")
		}
		time.Sleep(time.Duration(1500+rng.IntN(1000)) * time.Millisecond)
		d.down.Store(false)
		srv.start(t)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	waitFor(t, func() bool { return inst.readiness() == "ready" })
	inst.stop(t)
	if d.during == 0 {
		t.Error("no callback was acknowledged while the server was down")
	}
	lost, doubled := d.check(t, bin, dataDir, srv.clientEnv()...)
	t.Logf("outage loop: %d kills of the server, leadhouse restarted once during an outage; %d requests, %d acknowledged, %d of them while the server was down, %d refused; lost %d, stored twice %d",
		outages, d.sent, len(d.acked), d.during, d.refused, lost, doubled)
}

// TestCallbackTheStoreRefusesIsADeadLetterAndItsNeighboursAreStored alters a column's type under
// the running service, so that one callback's value no longer fits: that callback ends in
// dead_letters with the server's error, and the callbacks around it are stored.
func TestCallbackTheStoreRefusesIsADeadLetterAndItsNeighboursAreStored(t *testing.T) {
	bin := binary(t)
	srv := newServer(t, bin)
	srv.start(t)
	dataDir := t.TempDir()
	env := serveEnv(dataDir, append(srv.clientEnv(), "LEADHOUSE_FLUSH_INTERVAL=100ms")...)
	inst := start(t, bin, env)
	defer inst.stop(t)
	client := &http.Client{Timeout: 30 * time.Second}
	callback := func(lead int, numeric bool) []byte {
		b := bytes.Replace(fixture(t, "seed_callback.json"), []byte(`"lead_id":1402361`), fmt.Appendf(nil, `"lead_id":%d`, lead), 1)
		if numeric {
			b = numericData(b)
		}
		return b
	}
	send := func(b []byte) {
		t.Helper()
		if a := post(t, client, inst.url+"/v1/callbacks", "Bearer "+testToken, b); a.status != http.StatusAccepted {
			t.Fatalf("callback: %d %v", a.status, a.body)
		}
	}
	count := func(q string) string { return queryEnv(t, bin, dataDir, srv.clientEnv(), q) }
	send(callback(1, true))
	waitFor(t, func() bool { return count("SELECT count() FROM leadhouse.notes") != "0" })
	// Every note text stored so far is a number, so the column converts; the next callback's
	// notes are words.
	srv.exec(t, "ALTER TABLE leadhouse.notes MODIFY COLUMN data UInt64 SETTINGS mutations_sync = 2")
	send(callback(2, true))
	send(callback(666, false))
	send(callback(3, true))
	waitFor(t, func() bool { return count("SELECT count() FROM leadhouse.dead_letters") == "1" })
	waitFor(t, func() bool { return count("SELECT uniqExact(lead_id) FROM leadhouse.notes") == "3" })
	if got := count("SELECT reason, JSONExtractUInt(body, 'lead_id'), error LIKE 'notes:%CANNOT_PARSE_TEXT%' FROM leadhouse.dead_letters"); got != "store_rejected\t666\t1" {
		t.Errorf("dead letter: %q, want the refused callback with the server's error", got)
	}
	if got := count("SELECT arrayStringConcat(groupArray(toString(lead_id)), ',') FROM (SELECT DISTINCT lead_id FROM leadhouse.notes ORDER BY lead_id)"); got != "1,2,3" {
		t.Errorf("notes stored for leads %s, want the neighbours 1,2,3", got)
	}
	resp, err := client.Get(inst.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(metrics, []byte("leadhouse_store_rejected_callbacks_total 1")) {
		t.Errorf("metrics do not count the rejected callback")
	}
	if !strings.Contains(inst.stderr.String(), "the store rejected a callback: kept as a dead letter") {
		t.Errorf("the log does not name the rejected callback")
	}
}

// numericData makes every "data" of a callback a number.
func numericData(b []byte) []byte {
	const key = `"data":"`
	var out []byte
	for {
		i := bytes.Index(b, []byte(key))
		if i < 0 {
			return append(out, b...)
		}
		j := bytes.IndexByte(b[i+len(key):], '"')
		out = append(append(out, b[:i+len(key)]...), "12345"...)
		b = b[i+len(key)+j:]
	}
}

// TestFullOrReadOnlyWALDiskAnswers503AndRecovers puts the write-ahead log on a tmpfs of a few
// MiB: when it is full, and when it is read-only, a callback gets 503 with Retry-After, never a
// 202 for a body that is not on disk; once space returns, or the disk is writable again,
// callbacks are taken again without a restart, and every 202 is stored. (Linux refuses to remount
// a filesystem read-only while a file on it is open for writing, as the log's current file is; so
// the directory becomes read-only through a read-only bind mount over it, and the log, with files
// of 32 KiB, must create its next file there.)
func TestFullOrReadOnlyWALDiskAnswers503AndRecovers(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	walDir := filepath.Join(dataDir, "wal")
	if err := os.MkdirAll(walDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", walDir, "tmpfs", 0, "size=4m"); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("skipping: mounting a tmpfs needs root (CAP_SYS_ADMIN): %v", err)
		}
		t.Fatalf("mount a tmpfs at %s: %v", walDir, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(walDir, syscall.MNT_DETACH) })
	inst := start(t, bin, serveEnv(dataDir, "LEADHOUSE_WAL_SEGMENT_BYTES=32KiB"))
	defer inst.stop(t)
	client := &http.Client{Timeout: 30 * time.Second}
	ids := map[string]bool{}
	n := 0
	send := func(want int) answer {
		t.Helper()
		n++
		body := bytes.Replace(fixture(t, "seed_callback.json"), []byte(`"lead_id":1402361`), fmt.Appendf(nil, `"lead_id":%d`, 5000+n), 1)
		a := post(t, client, inst.url+"/v1/callbacks", "Bearer "+testToken, body)
		if a.status != want {
			t.Fatalf("callback %d: %d %v, want %d", n, a.status, a.body, want)
		}
		if a.status == http.StatusAccepted {
			ids[a.body["callback_id"].(string)] = true
		}
		if a.status == http.StatusServiceUnavailable && a.header.Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
		return a
	}
	send(http.StatusAccepted)

	// Full: a file takes every byte left.
	filler := filepath.Join(walDir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	for range 3 {
		send(http.StatusServiceUnavailable)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		send(http.StatusAccepted)
	}

	// Read-only: a callback lands in the current file while it has room (on disk all the same),
	// and the next file cannot be made.
	if err := syscall.Mount(walDir, walDir, "", syscall.MS_BIND, ""); err != nil {
		t.Fatalf("bind mount: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(walDir, syscall.MNT_DETACH) })
	if err := syscall.Mount("", walDir, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount the bind mount read-only: %v", err)
	}
	refused := 0
	for i := 0; refused < 3; i++ {
		if i == 20 {
			t.Fatal("callbacks still get 202 with the write-ahead log's directory read-only")
		}
		n++
		body := bytes.Replace(fixture(t, "seed_callback.json"), []byte(`"lead_id":1402361`), fmt.Appendf(nil, `"lead_id":%d`, 5000+n), 1)
		a := post(t, client, inst.url+"/v1/callbacks", "Bearer "+testToken, body)
		switch a.status {
		case http.StatusAccepted:
			if refused > 0 {
				t.Fatalf("a 202 after a 503 with the directory still read-only")
			}
			ids[a.body["callback_id"].(string)] = true
		case http.StatusServiceUnavailable:
			if a.header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}
			refused++
		default:
			t.Fatalf("callback with the directory read-only: %d %v", a.status, a.body)
		}
	}
	if err := syscall.Mount("", walDir, "", syscall.MS_REMOUNT|syscall.MS_BIND, ""); err != nil {
		t.Fatalf("remount the bind mount writable: %v", err)
	}
	for range 3 {
		send(http.StatusAccepted)
	}
	waitFor(t, func() bool {
		return query(t, bin, dataDir, "SELECT uniqExact(callback_id) FROM lead_updates") == fmt.Sprint(len(ids))
	})
}
