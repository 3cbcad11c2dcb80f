package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/engine/enginetest"
	lhclickhouse "github.com/leadhouse/leadhouse/sink/clickhouse"
)

// httpQuery runs q over the HTTP interface at addr as user (no credentials at all when user is
// empty) and returns the status and body.
func httpQuery(t *testing.T, addr, user, password, q string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// nativeQuery runs q over the native protocol at addr with clickhouse-go, as any native client
// would, and returns its single String or number result as text.
func nativeQuery(addr, user, password, q string) (string, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{addr},
		Auth:        clickhouse.Auth{Username: user, Password: password},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	rows, err := conn.Query(context.Background(), "SELECT toString(("+q+"))")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var out string
	for rows.Next() {
		if err := rows.Scan(&out); err != nil {
			return "", err
		}
	}
	return out, rows.Err()
}

func TestLoginWithoutPasswordIsRefused(t *testing.T) {
	sup := enginetest.Engine(t)
	for _, c := range []struct{ name, user, password string }{
		{"no credentials", "", ""},
		{"default, empty password", "default", ""},
		{"default, any password", "default", "x"},
		{"leadhouse, empty password", engine.User, ""},
		{"leadhouse, wrong password", engine.User, "wrong"},
		{"analyst, no analyst configured", engine.AnalystUser, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if status, body := httpQuery(t, sup.HTTPAddr(), c.user, c.password, "SELECT 1"); status == http.StatusOK {
				t.Errorf("HTTP login as %q answered %d %q", c.user, status, body)
			}
			user := c.user
			if user == "" {
				user = "default" // a native client always names a user
			}
			if out, err := nativeQuery(sup.TCPAddr(), user, c.password, "SELECT 1"); err == nil {
				t.Errorf("native login as %q answered %q", user, out)
			}
		})
	}
	// The refusal of "default" is its session limit: the engine's own session holds it.
	if _, body := httpQuery(t, sup.HTTPAddr(), "default", "", "SELECT 1"); !strings.Contains(body, "USER_SESSION_LIMIT_EXCEEDED") {
		t.Errorf("login as default refused for another reason: %s", body)
	}
	if status, body := httpQuery(t, sup.HTTPAddr(), engine.User, sup.Password(), "SELECT currentUser()"); status != http.StatusOK || body != engine.User {
		t.Errorf("leadhouse's own login: %d %q", status, body)
	}
}

func TestAnalystReadsTheMaskedViewsAndCannotChangeAnything(t *testing.T) {
	const password = "analyst-test-password"
	sup := enginetest.Start(t, engine.Config{DataDir: t.TempDir(), AnalystPassword: password, PIIAnalystPassword: "pii-test-password"}, nil)
	owner, err := lhclickhouse.New(lhclickhouse.Options{Addr: []string{sup.HTTPAddr()}, Username: engine.User, Password: sup.Password()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := owner.CreateDatabase(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE leads (id UInt64) ENGINE = MergeTree ORDER BY id",
		"INSERT INTO leads VALUES (1), (2), (3)",
		"CREATE VIEW leads_view AS SELECT id FROM leads",
		// What sql migration 0021 makes of every view: a twin that runs as its definer.
		"CREATE VIEW masked_leads DEFINER = CURRENT_USER SQL SECURITY DEFINER AS SELECT id FROM leads_view",
		"CREATE DATABASE other",
		"CREATE TABLE other.secret (s String) ENGINE = MergeTree ORDER BY s",
	} {
		if err := owner.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	readers := []struct{ user, password string }{{engine.AnalystUser, password}, {engine.PIIAnalystUser, "pii-test-password"}}
	for _, r := range readers {
		q := "SELECT count() FROM leadhouse.masked_leads"
		if status, body := httpQuery(t, sup.HTTPAddr(), r.user, r.password, q); status != http.StatusOK || body != "3" {
			t.Errorf("%s over HTTP, %s: %d %q", r.user, q, status, body)
		}
		if out, err := nativeQuery(sup.TCPAddr(), r.user, r.password, q); err != nil || out != "3" {
			t.Errorf("%s over the native protocol, %s: %q, %v", r.user, q, out, err)
		}
	}
	// The analyst reads nothing but the masked views; the PII analyst reads everything.
	for _, q := range []string{"SELECT count() FROM leadhouse.leads", "SELECT count() FROM leadhouse.leads_view"} {
		if status, body := httpQuery(t, sup.HTTPAddr(), engine.AnalystUser, password, q); status == http.StatusOK || !strings.Contains(body, "ACCESS_DENIED") {
			t.Errorf("analyst over HTTP, %s: %d %q, want ACCESS_DENIED", q, status, body)
		}
		if out, err := nativeQuery(sup.TCPAddr(), engine.AnalystUser, password, q); err == nil {
			t.Errorf("analyst over the native protocol, %s: %q, want an error", q, out)
		}
		if status, body := httpQuery(t, sup.HTTPAddr(), engine.PIIAnalystUser, "pii-test-password", q); status != http.StatusOK || body != "3" {
			t.Errorf("PII analyst, %s: %d %q", q, status, body)
		}
	}
	if status, body := httpQuery(t, sup.HTTPAddr(), engine.AnalystUser, password, "SHOW TABLES FROM leadhouse"); status != http.StatusOK || body != "masked_leads" {
		t.Errorf("the analyst's SHOW TABLES: %d %q, want only masked_leads", status, body)
	}
	// BI tools send settings with their queries; readonly=2 lets them.
	if status, body := httpQuery(t, sup.HTTPAddr(), engine.AnalystUser, password, "SELECT count() FROM leadhouse.masked_leads SETTINGS max_threads = 1"); status != http.StatusOK {
		t.Errorf("analyst query with a setting: %d %q", status, body)
	}
	for _, q := range []string{
		"SET ROLE " + engine.PIIRole,
		"SELECT count() FROM leadhouse.masked_leads SETTINGS readonly = 0",
		"INSERT INTO leadhouse.leads VALUES (4)",
		"CREATE TABLE leadhouse.t (x UInt8) ENGINE = Memory",
		"CREATE TEMPORARY TABLE tmp (x UInt8)",
		"CREATE DATABASE mine",
		"ALTER TABLE leadhouse.leads DELETE WHERE id = 1",
		"DROP TABLE leadhouse.leads",
		"TRUNCATE TABLE leadhouse.leads",
		"CREATE USER intruder IDENTIFIED BY 'x'",
		"GRANT ALL ON *.* TO analyst",
		"SYSTEM STOP LISTEN HTTP",
		"SELECT count() FROM other.secret",
		"SELECT * FROM file('/etc/passwd', 'LineAsString')",
		"SELECT count() FROM leadhouse.leads SETTINGS readonly = 0",
	} {
		if status, body := httpQuery(t, sup.HTTPAddr(), engine.AnalystUser, password, q); status == http.StatusOK {
			t.Errorf("analyst could run %q: %q", q, body)
		}
	}
	for _, q := range []string{"INSERT INTO leadhouse.leads VALUES (4)", "ALTER TABLE leadhouse.leads DELETE WHERE id = 1", "SELECT count() FROM other.secret"} {
		if status, body := httpQuery(t, sup.HTTPAddr(), engine.PIIAnalystUser, "pii-test-password", q); status == http.StatusOK {
			t.Errorf("PII analyst could run %q: %q", q, body)
		}
	}
	if status, body := httpQuery(t, sup.HTTPAddr(), engine.User, sup.Password(), "SELECT count() FROM leadhouse.leads"); status != http.StatusOK || body != "3" {
		t.Errorf("after the analysts' attempts, leads holds %q (%d), want 3", body, status)
	}
}

// TestRolesCannotBeGrantedWithSQL documents why the PII analyst is configuration: the engine
// (clickhouse-local) keeps users and roles in its users.xml only, so even leadhouse's user, which
// manages access, can neither grant analyst_pii to the analyst nor create a user to grant it to.
func TestRolesCannotBeGrantedWithSQL(t *testing.T) {
	sup := enginetest.Start(t, engine.Config{DataDir: t.TempDir(), AnalystPassword: "x"}, nil)
	for q, want := range map[string]string{
		"GRANT " + engine.PIIRole + " TO " + engine.AnalystUser: "ACCESS_STORAGE_READONLY",
		"CREATE USER alice IDENTIFIED BY 'pw'":                  "ACCESS_STORAGE_FOR_INSERTION_NOT_FOUND",
		"CREATE ROLE readers":                                   "ACCESS_STORAGE_FOR_INSERTION_NOT_FOUND",
	} {
		if status, body := httpQuery(t, sup.HTTPAddr(), engine.User, sup.Password(), q); status == http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("%s: %d %q, want %s", q, status, body, want)
		}
	}
	if status, body := httpQuery(t, sup.HTTPAddr(), engine.User, sup.Password(), "SELECT name FROM system.roles ORDER BY name"); status != http.StatusOK || body != engine.AnalystRole+"\n"+engine.PIIRole {
		t.Errorf("roles: %d %q", status, body)
	}
}

// waitGone waits until process pid no longer exists.
func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs %v later", pid, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startParent runs this test binary as a process that supervises an engine on dataDir, and
// returns it with its engine's pid and HTTP address.
func startParent(t *testing.T, dataDir string) (*exec.Cmd, int, string) {
	t.Helper()
	if _, err := engine.FindLibrary(); err != nil && os.Getenv(enginetest.RequireEnv) != "1" {
		t.Skipf("skipping: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), parentEnv+"="+dataDir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr logBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("parent process: %v\n%s", err, stderr.String())
	}
	var pid int
	var addr string
	if _, err := fmt.Sscanf(line, "engine %d %s", &pid, &addr); err != nil {
		t.Fatalf("parent process said %q: %v", line, err)
	}
	return cmd, pid, addr
}

func TestEngineEndsWhenItsSupervisorIsKilled(t *testing.T) {
	dir := t.TempDir()
	parent, pid, addr := startParent(t, dir)
	if status, _ := httpQuery(t, addr, "default", "", "SELECT 1"); status == http.StatusOK {
		t.Fatal("engine of the parent process accepts default without a password")
	}
	if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	waitGone(t, pid, time.Minute)
	// It shut down cleanly: the next engine on the same directory starts at once.
	sup := enginetest.Start(t, engine.Config{DataDir: dir}, nil)
	if status, body := httpQuery(t, sup.HTTPAddr(), engine.User, sup.Password(), "SELECT 1"); status != http.StatusOK {
		t.Errorf("engine after the killed one: %d %q", status, body)
	}
}

func TestEngineIsRestartedWhenItDies(t *testing.T) {
	var logs logBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	sup := enginetest.Start(t, engine.Config{DataDir: t.TempDir()}, log)
	store, err := lhclickhouse.New(lhclickhouse.Options{Addr: []string{sup.HTTPAddr()}, Username: engine.User, Password: sup.Password()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := store.CreateDatabase(ctx); err != nil {
		t.Fatal(err)
	}
	if err := store.Exec(ctx, "CREATE TABLE kept (x UInt8) ENGINE = MergeTree ORDER BY x"); err != nil {
		t.Fatal(err)
	}
	if err := store.Exec(ctx, "INSERT INTO kept VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	first := sup.PID()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, first, time.Minute)
	waitFor(t, func() bool { return sup.Err() == nil && sup.PID() != 0 && sup.PID() != first })
	var buf bytes.Buffer
	if err := store.Query(ctx, "SELECT x FROM kept", &buf); err != nil || buf.String() != "7\n" {
		t.Errorf("after the restart, kept holds %q, %v", buf.String(), err)
	}
	if !strings.Contains(logs.String(), "engine process died") || !strings.Contains(logs.String(), "engine restarted") {
		t.Errorf("log does not tell of the death and restart:\n%s", logs.String())
	}
}

func TestStartWaitsForTheEngineHoldingTheDataDir(t *testing.T) {
	dir := t.TempDir()
	ports, err := enginetest.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	cfg := engine.Config{DataDir: dir, TCPPort: ports[0], HTTPPort: ports[1]}
	first := enginetest.Start(t, cfg, nil)
	pid := first.PID()

	// While it serves, a second engine on the directory gives up and names the process.
	_, err = engine.Start(context.Background(), engine.Options{Config: cfg, Command: enginetest.Command, LockWait: 300 * time.Millisecond})
	if !errors.Is(err, engine.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprint(pid)) {
		t.Fatalf("second engine on a held directory: %v, want ErrLocked naming pid %d", err, pid)
	}

	// Once it stops, a start that was waiting goes ahead.
	var logs logBuffer
	started := make(chan error, 1)
	var second *engine.Supervisor
	go func() {
		var err error
		second, err = engine.Start(context.Background(), engine.Options{
			Config:  cfg,
			Command: enginetest.Command,
			Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		})
		started <- err
	}()
	waitFor(t, func() bool { return strings.Contains(logs.String(), "waiting for the engine process") })
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-started; err != nil {
		t.Fatalf("start after the holder stopped: %v", err)
	}
	defer second.Stop(context.Background())
	if status, body := httpQuery(t, second.HTTPAddr(), engine.User, second.Password(), "SELECT 1"); status != http.StatusOK {
		t.Errorf("second engine: %d %q", status, body)
	}
}

func TestGoPanicStillCrashesWithTheEngineLoaded(t *testing.T) {
	if _, err := engine.FindLibrary(); err != nil && os.Getenv(enginetest.RequireEnv) != "1" {
		t.Skipf("skipping: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), panicEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("process exit: %v, want a Go panic (exit status 2)\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "invalid memory address or nil pointer dereference") {
		t.Errorf("stderr lacks the Go panic message:\n%s", stderr.String())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logBuffer is a log destination that tests read while the supervisor writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
