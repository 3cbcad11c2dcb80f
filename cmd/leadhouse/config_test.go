package main

import (
	"net/netip"
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
		{map[string]string{"LEADHOUSE_AUTH_REQUIRE": "some"}, "LEADHOUSE_AUTH_REQUIRE=\"some\": expected all or any"},
		{map[string]string{"LEADHOUSE_WEBHOOK_SECRETS": "whsec_c2hvcnQ="}, "LEADHOUSE_WEBHOOK_SECRETS: secret 1: webhook secret holds 5 bytes"},
		{map[string]string{"LEADHOUSE_WEBHOOK_SECRETS": "not a secret"}, "LEADHOUSE_WEBHOOK_SECRETS: secret 1"},
		{map[string]string{"LEADHOUSE_WEBHOOK_TOLERANCE": "0s"}, "LEADHOUSE_WEBHOOK_TOLERANCE: expected a value greater than zero"},
		{map[string]string{"LEADHOUSE_HMAC_ALGORITHM": "md5"}, "LEADHOUSE_HMAC_ALGORITHM=\"md5\": expected sha1, sha256, sha384 or sha512"},
		{map[string]string{"LEADHOUSE_HMAC_ENCODING": "base32"}, "LEADHOUSE_HMAC_ENCODING=\"base32\": expected hex or base64"},
		{map[string]string{"LEADHOUSE_HMAC_HEADER": "X Signature"}, "LEADHOUSE_HMAC_HEADER"},
		{map[string]string{"LEADHOUSE_RATE_LIMIT": "fast"}, "LEADHOUSE_RATE_LIMIT: expected a number"},
		{map[string]string{"LEADHOUSE_RATE_LIMIT": "-1"}, "LEADHOUSE_RATE_LIMIT: expected requests per second"},
		{map[string]string{"LEADHOUSE_RATE_BURST": "0"}, "LEADHOUSE_RATE_BURST: expected a value greater than zero"},
		{map[string]string{"LEADHOUSE_AUTH_FAILURE_BURST": "-3"}, "LEADHOUSE_AUTH_FAILURE_BURST: expected a number of attempts"},
		{map[string]string{"LEADHOUSE_AUTH_FAILURE_INTERVAL": "often"}, "LEADHOUSE_AUTH_FAILURE_INTERVAL: expected a duration"},
		{map[string]string{"LEADHOUSE_TRUSTED_PROXIES": "10.0.0.0/8,lb.internal"}, "LEADHOUSE_TRUSTED_PROXIES: \"lb.internal\": expected an address or a network"},
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

func TestTrustConfigDefaults(t *testing.T) {
	c, err := loadConfig(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthRequire != "all" || c.WebhookTolerance != 5*time.Minute || c.WebhookMaxIDs != 100000 ||
		c.HMACHeader != "X-Signature" || c.HMACAlgorithm != "sha256" || c.HMACEncoding != "hex" || c.HMACPrefix != "" ||
		c.RateLimit != 500 || c.RateBurst != 1000 || c.AuthFailureBurst != 10 || c.AuthFailureInterval != time.Minute ||
		len(c.TrustedProxies) != 0 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestSigningSecretsAloneSatisfyAuth(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"webhook secrets": {"LEADHOUSE_WEBHOOK_SECRETS": " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw , "},
		"hmac secrets":    {"LEADHOUSE_HMAC_SECRETS": "crm-secret-1,crm-secret-2"},
	} {
		c, err := loadConfig(env)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.requireAuth(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	c, _ := loadConfig(map[string]string{"LEADHOUSE_WEBHOOK_SECRETS": " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw , "})
	if !reflect.DeepEqual(c.WebhookSecrets, []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}) {
		t.Errorf("webhook secrets = %q, want one, trimmed", c.WebhookSecrets)
	}
}

func TestTrustedProxiesTakeAddressesAndNetworks(t *testing.T) {
	c, err := loadConfig(map[string]string{"LEADHOUSE_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.10 ,fd00::/8,2001:db8::1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.trustedProxies()
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.10/32"),
		netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("2001:db8::1/128")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("trusted proxies %v, want %v", got, want)
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
		if name == "" {
			continue // derived from the variables, not read itself
		}
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

func TestRawRetentionTakesDaysOrDurations(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "0": 0, "365d": 365 * 24 * time.Hour, "90d": 90 * 24 * time.Hour, "720h": 720 * time.Hour, "1h": time.Hour, " 7d ": 7 * 24 * time.Hour} {
		var r retention
		if err := r.UnmarshalText([]byte(in)); err != nil || time.Duration(r) != want {
			t.Errorf("%q = %v, %v; want %v", in, time.Duration(r), err, want)
		}
	}
	for _, in := range []string{"59m", "1s", "-1d", "1.5d", "d", "365 days", "36501d", "forever"} {
		var r retention
		if err := r.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q accepted as %v", in, time.Duration(r))
		}
	}
	c, err := loadConfig(map[string]string{"LEADHOUSE_RAW_RETENTION": "365d"})
	if err != nil || time.Duration(c.RawRetention) != 365*24*time.Hour {
		t.Errorf("LEADHOUSE_RAW_RETENTION=365d: %v, %v", time.Duration(c.RawRetention), err)
	}
	if _, err := loadConfig(map[string]string{"LEADHOUSE_RAW_RETENTION": "10m"}); err == nil || !strings.Contains(err.Error(), "LEADHOUSE_RAW_RETENTION: expected a retention") {
		t.Errorf("LEADHOUSE_RAW_RETENTION=10m: %v", err)
	}
}

// FuzzRetention: any text is a retention of at least an hour and at most 100 years, or none, or
// refused, and never panics.
func FuzzRetention(f *testing.F) {
	for _, s := range []string{"365d", "720h", "", "1h30m", "99999999999d", "-5h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var r retention
		if err := r.UnmarshalText([]byte(s)); err != nil {
			return
		}
		if d := time.Duration(r); d != 0 && (d < time.Hour || d > maxRetentionDays*24*time.Hour) {
			t.Fatalf("%q accepted as %v", s, d)
		}
	})
}
