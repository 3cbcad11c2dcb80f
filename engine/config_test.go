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
	if strings.Contains(string(b), "<analyst><password") {
		t.Errorf("analyst user without a password: %s", b)
	}
	b, err = xml.Marshal((&Config{Database: "lead`house", AnalystPassword: "x"}).users("pw"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<analyst><password_sha256_hex>", "GRANT SELECT ON `lead\\`house`.*", "<max_sessions_for_user>1</max_sessions_for_user>", "<readonly>2</readonly>"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("users lack %q: %s", want, b)
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
