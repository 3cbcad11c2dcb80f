package main

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":8080" || c.DataDir != "./data" || c.MaxBodyBytes != 1<<20 || c.WALSync != "always" ||
		c.FlushInterval != time.Second || c.WALMaxBytes != 4<<30 || len(c.ClickHouseAddr) != 0 {
		t.Errorf("defaults: %+v", c)
	}
	if err := c.requireAuth(); err == nil || !strings.Contains(err.Error(), "LEADHOUSE_TOKEN") {
		t.Errorf("no token: %v", err)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"LEADHOUSE_FLUSH_INTERVAL": "soon"}, "LEADHOUSE_FLUSH_INTERVAL: expected a duration"},
		{map[string]string{"LEADHOUSE_MAX_BODY_BYTES": "1 potato"}, "LEADHOUSE_MAX_BODY_BYTES: expected a size in bytes"},
		{map[string]string{"LEADHOUSE_BATCH_MAX_ROWS": "many"}, "LEADHOUSE_BATCH_MAX_ROWS: expected a whole number"},
		{map[string]string{"LEADHOUSE_INSECURE_NO_AUTH": "perhaps"}, "LEADHOUSE_INSECURE_NO_AUTH: expected true or false"},
		{map[string]string{"LEADHOUSE_WAL_SYNC": "never"}, "LEADHOUSE_WAL_SYNC=\"never\": expected always or interval"},
		{map[string]string{"LEADHOUSE_LOG_FORMAT": "xml"}, "LEADHOUSE_LOG_FORMAT=\"xml\""},
		{map[string]string{"LEADHOUSE_LOG_LEVEL": "loud"}, "LEADHOUSE_LOG_LEVEL=\"loud\""},
		{map[string]string{"LEADHOUSE_MAX_CONCURRENT": "0"}, "LEADHOUSE_MAX_CONCURRENT: expected a value greater than zero"},
	}
	for _, c := range cases {
		_, err := loadConfig(c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line containing %q", c.env, err, c.want)
		}
	}
}

func TestTokensAreTrimmedAndRotatable(t *testing.T) {
	c, err := loadConfig(map[string]string{"LEADHOUSE_TOKEN": " old-token-1234 , new-token-5678 ,"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Tokens, []string{"old-token-1234", "new-token-5678"}) || c.requireAuth() != nil {
		t.Errorf("tokens = %q", c.Tokens)
	}
	c, _ = loadConfig(map[string]string{"LEADHOUSE_TOKEN": "short"})
	if err := c.requireAuth(); err == nil {
		t.Error("a 5-character token was accepted")
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]byteSize{"1048576": 1 << 20, "512KiB": 512 << 10, "16MiB": 16 << 20, "4GiB": 4 << 30, "7B": 7} {
		var b byteSize
		if err := b.UnmarshalText([]byte(in)); err != nil || b != want {
			t.Errorf("%q = %d, %v; want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5MiB", "10XB", "99999999999GiB"} {
		var b byteSize
		if err := b.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q accepted as %d", in, b)
		}
	}
}

// TestREADMEListsEveryVariable keeps the README's configuration table true: every variable with
// its default.
func TestREADMEListsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rt := reflect.TypeFor[config]()
	for i := range rt.NumField() {
		f := rt.Field(i)
		name := f.Tag.Get("env")
		row := "| `" + name + "` | "
		idx := strings.Index(string(readme), row)
		if idx < 0 {
			t.Errorf("README has no row for %s", name)
			continue
		}
		if def := f.Tag.Get("envDefault"); def != "" {
			line := string(readme[idx:])
			line = line[:strings.IndexByte(line, '\n')]
			if !strings.Contains(line, "`"+def+"`") {
				t.Errorf("README row for %s does not give its default %q: %s", name, def, line)
			}
		}
	}
}
