package engine

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteGeneratesThePasswordOnceAndKeepsItPrivate(t *testing.T) {
	dir := t.TempDir()
	c := Config{DataDir: dir, AnalystPassword: "a-secret"}
	first, err := c.Write()
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Password) < 32 {
		t.Errorf("generated password %q is short", first.Password)
	}
	for _, name := range []string{"config.xml", "users.xml", "listen.json", "leadhouse.password"} {
		fi, err := os.Stat(filepath.Join(dir, "engine", name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	users, err := os.ReadFile(filepath.Join(dir, "engine", "users.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(users), first.Password) || strings.Contains(string(users), "a-secret") {
		t.Error("users.xml holds a password in clear")
	}
	if !strings.Contains(string(users), sha256Hex(first.Password)) || !strings.Contains(string(users), sha256Hex("a-secret")) {
		t.Error("users.xml lacks the password hashes")
	}
	again, err := (&Config{DataDir: dir}).Write()
	if err != nil {
		t.Fatal(err)
	}
	if again.Password != first.Password {
		t.Errorf("second Write generated another password")
	}
	if got, err := ReadPassword(dir); err != nil || got != first.Password {
		t.Errorf("ReadPassword = %q, %v", got, err)
	}
}

func TestUsersWithoutAnalystPasswordHaveNoAnalyst(t *testing.T) {
	b, err := xml.Marshal((&Config{Database: "leadhouse"}).users("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "<analyst><password") || strings.Contains(string(b), "<pii_analyst>") {
		t.Errorf("analyst users without a password: %s", b)
	}
	b, err = xml.Marshal((&Config{Database: "lead`house", AnalystPassword: "x", PIIAnalystPassword: "y"}).users("pw"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<analyst><password_sha256_hex>" + sha256Hex("x") + "</password_sha256_hex>",
		"<pii_analyst><password_sha256_hex>" + sha256Hex("y") + "</password_sha256_hex>",
		"<analyst_masked><grants><query>GRANT SELECT ON `lead\\`house`.masked_*</query></grants></analyst_masked>",
		"<analyst_pii><grants><query>GRANT SELECT ON `lead\\`house`.*</query></grants></analyst_pii>",
		"<grants><query>GRANT analyst_masked</query></grants></analyst>",
		"<grants><query>GRANT analyst_pii</query></grants></pii_analyst>",
		"<max_sessions_for_user>1</max_sessions_for_user>", "<readonly>2</readonly>",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("users lack %q: %s", want, b)
		}
	}
}

// usersModel is what a users.xml says about who reads the warehouse.
type usersModel struct {
	Roles struct {
		Any []struct {
			XMLName xml.Name
			Grants  []string `xml:"grants>query"`
		} `xml:",any"`
	} `xml:"roles"`
	Users struct {
		Any []struct {
			XMLName xml.Name
			Profile string   `xml:"profile"`
			Grants  []string `xml:"grants>query"`
		} `xml:",any"`
	} `xml:"users"`
	Profiles struct {
		Any []struct {
			XMLName  xml.Name
			Readonly string `xml:"readonly"`
		} `xml:",any"`
	} `xml:"profiles"`
}

// summary describes the roles, the analyst user and its profile, database names unquoted.
func (m usersModel) summary() string {
	var b strings.Builder
	for _, r := range m.Roles.Any {
		b.WriteString("role " + r.XMLName.Local + ": " + strings.ReplaceAll(strings.Join(r.Grants, "; "), "`", "") + "\n")
	}
	for _, u := range m.Users.Any {
		if u.XMLName.Local != AnalystUser {
			continue
		}
		b.WriteString("user " + u.XMLName.Local + ": " + strings.Join(u.Grants, "; ") + "; profile " + u.Profile)
		for _, p := range m.Profiles.Any {
			if p.XMLName.Local == u.Profile {
				b.WriteString(", readonly " + p.Readonly)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestComposeUsersHaveTheEngineModel keeps the ClickHouse servers of docker-compose.yml and
// docker-compose.cluster.yml on the engine's access model: the same roles with the same grants, and an analyst with the masked
// role and a readonly=2 profile.
func TestComposeUsersHaveTheEngineModel(t *testing.T) {
	b, err := xml.Marshal((&Config{Database: "leadhouse", AnalystPassword: "x"}).users("pw"))
	if err != nil {
		t.Fatal(err)
	}
	var engine usersModel
	if err := xml.Unmarshal(b, &engine); err != nil {
		t.Fatal(err)
	}
	want := "role analyst_masked: GRANT SELECT ON leadhouse.masked_*\n" +
		"role analyst_pii: GRANT SELECT ON leadhouse.*\n" +
		"user analyst: GRANT analyst_masked; profile analyst, readonly 2\n"
	if got := engine.summary(); got != want {
		t.Errorf("the engine's users.xml:\n%s\nwant\n%s", got, want)
	}
	// The single server, and the nodes of docker-compose.cluster.yml.
	for _, name := range []string{"../deploy/clickhouse/users.xml", "../deploy/cluster/users.xml"} {
		c, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var compose usersModel
		if err := xml.Unmarshal(c, &compose); err != nil {
			t.Fatal(err)
		}
		if got := compose.summary(); got != want {
			t.Errorf("%s:\n%s\nwant the engine's model:\n%s", name, got, want)
		}
	}
}

func TestConfigRefusesWhatCannotWork(t *testing.T) {
	for _, c := range []Config{
		{},
		{DataDir: "d", Listen: []string{"example.com"}},
		{DataDir: "d", TCPPort: 8123, HTTPPort: 8123},
		{DataDir: "d", TCPPort: 70000},
	} {
		if err := c.setDefaults(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestConnectHostPrefersLoopback(t *testing.T) {
	for _, c := range []struct {
		listen []string
		want   string
	}{
		{[]string{"127.0.0.1"}, "127.0.0.1"},
		{[]string{"10.0.0.5", "::1"}, "::1"},
		{[]string{"0.0.0.0"}, "127.0.0.1"},
		{[]string{"::"}, "::1"},
		{[]string{"10.0.0.5"}, "10.0.0.5"},
	} {
		if got := connectHost(c.listen); got != c.want {
			t.Errorf("connectHost(%v) = %s, want %s", c.listen, got, c.want)
		}
	}
}
