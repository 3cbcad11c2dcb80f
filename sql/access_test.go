package sql

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/engine/enginetest"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
)

// The tests below read the warehouse as analysts do, over the engine's HTTP and native ports
// with their own credentials, so what they prove is what the server enforces, whatever the client.

// asUser runs q over HTTP at addr as user and returns the status and the trimmed body.
func asUser(t *testing.T, addr, user, password, q string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// nativeAs runs q over the native protocol with clickhouse-go and returns its first column, as
// text, of every row.
func nativeAs(addr, user, password, q string) ([]string, error) {
	conn, err := chgo.Open(&chgo.Options{
		Addr:        []string{addr},
		Auth:        chgo.Auth{Database: "leadhouse", Username: user, Password: password},
		DialTimeout: 10 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	rows, err := conn.Query(context.Background(), "SELECT toString(tupleElement(tuple(*), 1)) FROM ("+q+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// leadhouseDB migrates the database leadhouse on sup and stores the CRM's sample in it.
func leadhouseDB(t *testing.T, sup *engine.Supervisor) *clickhouse.Store {
	t.Helper()
	s, err := clickhouse.New(clickhouse.Options{Addr: []string{sup.HTTPAddr()}, Username: engine.User, Password: sup.Password()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if err := s.CreateDatabase(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, delivery{seed(t, 1402361).bytes(), at(t, "2019-05-17T08:00:00Z")})
	return s
}

// reads is one query and what a user gets: the result, or an error containing want.
type reads struct {
	q, want string
	denied  bool
}

func checkReads(t *testing.T, sup *engine.Supervisor, user, password string, rs []reads) {
	t.Helper()
	for _, r := range rs {
		status, body := asUser(t, sup.HTTPAddr(), user, password, r.q)
		switch {
		case r.denied && (status == http.StatusOK || !strings.Contains(body, "ACCESS_DENIED")):
			t.Errorf("%s over HTTP: %s answered %d %q, want ACCESS_DENIED", user, r.q, status, body)
		case !r.denied && (status != http.StatusOK || body != r.want):
			t.Errorf("%s over HTTP: %s answered %d %q, want %q", user, r.q, status, body, r.want)
		}
		got, err := nativeAs(sup.TCPAddr(), user, password, r.q)
		switch {
		case r.denied && (err == nil || !strings.Contains(err.Error(), "code: 497")): // ACCESS_DENIED
			t.Errorf("%s over the native protocol: %s answered %q, %v; want ACCESS_DENIED", user, r.q, got, err)
		case !r.denied && (err != nil || strings.Join(got, "\n") != r.want):
			t.Errorf("%s over the native protocol: %s answered %q, %v; want %q", user, r.q, got, err, r.want)
		}
	}
}

// The analyst sees masked views only, and no table, key or unmasked view; the PII analyst sees
// everything. Both on the embedded engine, with its users.xml as engine.Config writes it.
func TestAnalystAndPIIAnalystOnTheEngine(t *testing.T) {
	const analyst, pii = "analyst-pw-1", "pii-pw-2"
	sup := enginetest.Start(t, engine.Config{DataDir: t.TempDir(), AnalystPassword: analyst, PIIAnalystPassword: pii}, nil)
	leadhouseDB(t, sup)
	checkReads(t, sup, engine.AnalystUser, analyst, []reads{
		{q: "SELECT concat(phone, ' ', name, ' ', agent_email) FROM leadhouse.masked_leads_current", want: "9988 H anarock.com"},
		{q: "SELECT count() FROM leadhouse.masked_lead_scenarios", want: "0"},
		{q: "SELECT sum(leads) FROM leadhouse.masked_lead_funnel", want: "12"},
		{q: "SELECT phone_hash IS NOT NULL FROM leadhouse.masked_leads_current", want: "1"},
		{q: "SELECT phone FROM leadhouse.leads_current", denied: true},
		{q: "SELECT leads FROM leadhouse.lead_funnel", denied: true},
		{q: "SELECT raw FROM leadhouse.lead_updates", denied: true},
		{q: "SELECT k0 FROM leadhouse.pii_key", denied: true},
		{q: "SELECT count() FROM leadhouse.erasures", denied: true},
		{q: "SELECT body FROM leadhouse.dead_letters", denied: true},
	})
	checkReads(t, sup, engine.PIIAnalystUser, pii, []reads{
		{q: "SELECT concat(phone, ' ', name, '.') FROM leadhouse.leads_current", want: "+919999999988 History ."},
		{q: "SELECT phone FROM leadhouse.masked_leads_current", want: "9988"},
		{q: "SELECT count() FROM leadhouse.lead_updates WHERE raw != ''", want: "1"},
	})
	if _, body := asUser(t, sup.HTTPAddr(), engine.AnalystUser, analyst, "SHOW TABLES FROM leadhouse"); strings.Contains(body, "\nleads_current") || !strings.HasPrefix(body, "masked_") {
		t.Errorf("the analyst's SHOW TABLES lists more than the masked views:\n%s", body)
	}
	for _, q := range []string{"INSERT INTO leadhouse.dead_letters (reason) VALUES ('x')", "ALTER TABLE leadhouse.lead_updates DELETE WHERE 1", "DROP VIEW leadhouse.masked_leads_current"} {
		for _, u := range []struct{ user, password string }{{engine.AnalystUser, analyst}, {engine.PIIAnalystUser, pii}} {
			if status, body := asUser(t, sup.HTTPAddr(), u.user, u.password, q); status == http.StatusOK {
				t.Errorf("%s could run %q: %q", u.user, q, body)
			}
		}
	}
}

// composeUsers writes deploy/clickhouse/users.xml where the engine of configPath reads its
// users, with the one user and profile the engine itself needs to start (its `default`).
func composeUsers(configPath string) error {
	generated, err := os.ReadFile(filepath.Join(filepath.Dir(configPath), "users.xml"))
	if err != nil {
		return err
	}
	deploy, err := os.ReadFile("../deploy/clickhouse/users.xml")
	if err != nil {
		return err
	}
	cut := func(s, from, to string) string {
		i := strings.Index(s, from)
		j := strings.Index(s[i:], to)
		if i < 0 || j < 0 {
			return ""
		}
		return s[i : i+j+len(to)]
	}
	// A server merges the file into its main users.xml, which has the default profile and quota.
	g := string(generated)
	profile, user := cut(g, "<bootstrap>", "</bootstrap>"), cut(g, "<default>\n      <no_password>", "</default>")
	quotas := cut(g, "<quotas>", "</quotas>")
	if profile == "" || user == "" || quotas == "" {
		return fmt.Errorf("the engine's users.xml has no bootstrap profile, default user or quotas:\n%s", g)
	}
	d := strings.Replace(string(deploy), "</profiles>", "<default></default>"+profile+"</profiles>", 1)
	d = strings.Replace(d, "</users>", user+"</users>"+quotas, 1)
	return os.WriteFile(filepath.Join(filepath.Dir(configPath), "users.xml"), []byte(d), 0o600)
}

// TestComposeUsersOnTheEngine runs the engine on the users of the docker-compose ClickHouse
// server: leadhouse, without access management, migrates (its masked views need no privilege
// beyond its database), and the analyst reads the masked views only. (The server is ClickHouse
// 25.8, the engine 26.7: this proves the file's model, and the test in package engine that it is
// the engine's.)
func TestComposeUsersOnTheEngine(t *testing.T) {
	if _, err := engine.FindLibrary(); err != nil && os.Getenv(enginetest.RequireEnv) != "1" {
		t.Skipf("skipping: %v", err)
	}
	const leadhousePW, analystPW = "compose-leadhouse-pw", "compose-analyst-pw"
	t.Setenv("LEADHOUSE_CLICKHOUSE_PASSWORD", leadhousePW) // the engine process inherits them
	t.Setenv("ANALYST_PASSWORD", analystPW)
	ports, err := enginetest.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	sup, err := engine.Start(context.Background(), engine.Options{
		Config: engine.Config{DataDir: t.TempDir(), Password: leadhousePW, TCPPort: ports[0], HTTPPort: ports[1]},
		Command: func(configPath string) *osexec.Cmd {
			if err := composeUsers(configPath); err != nil {
				panic(err) // the test's own files: a broken test
			}
			return enginetest.Command(configPath)
		},
		ReadyTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sup.Stop(context.Background()) })
	if _, body := asUser(t, sup.HTTPAddr(), engine.User, leadhousePW, "SHOW GRANTS"); !strings.Contains(body, " ON leadhouse.* TO leadhouse") || strings.Contains(body, "*.*") {
		t.Fatalf("leadhouse's grants are not the compose file's: %q", body)
	}
	leadhouseDB(t, sup)
	checkReads(t, sup, engine.AnalystUser, analystPW, []reads{
		{q: "SELECT concat(phone, ' ', name) FROM leadhouse.masked_leads_current", want: "9988 H"},
		{q: "SELECT phone FROM leadhouse.leads_current", denied: true},
		{q: "SELECT k0 FROM leadhouse.pii_key", denied: true},
	})
}
