package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/server"
)

// config is every setting of leadhouse, read from the environment. The README's configuration
// table lists the same variables with the same defaults; keep them together.
type config struct {
	Listen         string   `env:"LEADHOUSE_LISTEN" envDefault:":8080" help:"address the HTTP server listens on"`
	Tokens         []string `env:"LEADHOUSE_TOKEN" envSeparator:"," help:"bearer token(s) the CRM must send; several, comma-separated, to rotate without downtime"`
	InsecureNoAuth bool     `env:"LEADHOUSE_INSECURE_NO_AUTH" envDefault:"false" help:"accept callbacks without credentials, and without rate limits (never on the internet)"`
	DataDir        string   `env:"LEADHOUSE_DATA_DIR" envDefault:"./data" help:"directory for the write-ahead log and the embedded engine's data"`

	AuthRequire      string        `env:"LEADHOUSE_AUTH_REQUIRE" envDefault:"all" help:"all: every kind of credential configured (token, signature) is required; any: one valid credential is enough (while moving a CRM from tokens to signatures)"`
	WebhookSecrets   []string      `env:"LEADHOUSE_WEBHOOK_SECRETS" envSeparator:"," help:"Standard Webhooks signing secrets (whsec_...), comma-separated, any of which may sign; set, callbacks must be signed"`
	WebhookTolerance time.Duration `env:"LEADHOUSE_WEBHOOK_TOLERANCE" envDefault:"5m" help:"how far webhook-timestamp may be from the server's clock, either way"`
	WebhookMaxIDs    int           `env:"LEADHOUSE_WEBHOOK_MAX_IDS" envDefault:"100000" help:"webhook-ids remembered (about 200 bytes each) to answer re-deliveries within the tolerance without storing them twice"`
	HMACSecrets      []string      `env:"LEADHOUSE_HMAC_SECRETS" envSeparator:"," help:"secrets of a generic HMAC signature header, comma-separated, any of which may sign; set, callbacks must be signed"`
	HMACHeader       string        `env:"LEADHOUSE_HMAC_HEADER" envDefault:"X-Signature" help:"header holding the generic HMAC signature"`
	HMACAlgorithm    string        `env:"LEADHOUSE_HMAC_ALGORITHM" envDefault:"sha256" help:"hash of the generic HMAC: sha1, sha256, sha384 or sha512"`
	HMACEncoding     string        `env:"LEADHOUSE_HMAC_ENCODING" envDefault:"hex" help:"how the generic header writes the digest: hex or base64"`
	HMACPrefix       string        `env:"LEADHOUSE_HMAC_PREFIX" help:"text before the digest in the generic header, such as sha256="`

	RateLimit           float64       `env:"LEADHOUSE_RATE_LIMIT" envDefault:"500" help:"requests per second one credential (token or signing secret) may send; more get 429; 0 turns it off"`
	RateBurst           int           `env:"LEADHOUSE_RATE_BURST" envDefault:"1000" help:"requests one credential may send at once above LEADHOUSE_RATE_LIMIT"`
	AuthFailureBurst    int           `env:"LEADHOUSE_AUTH_FAILURE_BURST" envDefault:"10" help:"failed authentications one client address may make at once before it gets 429; 0 turns it off"`
	AuthFailureInterval time.Duration `env:"LEADHOUSE_AUTH_FAILURE_INTERVAL" envDefault:"1m" help:"after LEADHOUSE_AUTH_FAILURE_BURST, an address may fail once more per interval"`
	TrustedProxies      []string      `env:"LEADHOUSE_TRUSTED_PROXIES" envSeparator:"," help:"addresses or networks (CIDR) of the load balancers in front, whose X-Forwarded-For names the client; empty: the peer is the client"`

	ClickHouseAddr        []string `env:"LEADHOUSE_CLICKHOUSE_ADDR" envSeparator:"," help:"HTTP interface of a ClickHouse server: host:port (port 8123) or http(s):// URL, several comma-separated for failover; empty runs the embedded engine as a child process"`
	ClickHouseDatabase    string   `env:"LEADHOUSE_CLICKHOUSE_DATABASE" envDefault:"leadhouse" help:"database holding leadhouse's tables and views"`
	ClickHouseUsername    string   `env:"LEADHOUSE_CLICKHOUSE_USERNAME" envDefault:"default" help:"ClickHouse server user"`
	ClickHousePassword    string   `env:"LEADHOUSE_CLICKHOUSE_PASSWORD" help:"ClickHouse server password"`
	ClickHouseTLS         bool     `env:"LEADHOUSE_CLICKHOUSE_TLS" envDefault:"false" help:"use https for addresses given as host:port"`
	ClickHouseCompression string   `env:"LEADHOUSE_CLICKHOUSE_COMPRESSION" envDefault:"auto" help:"compression of inserted data: auto (none on this machine, lz4 otherwise), none, lz4 or zstd"`
	Cluster               string   `env:"LEADHOUSE_CLICKHOUSE_CLUSTER" help:"cluster name in the servers' remote_servers: tables sharded by lead_id over it; empty: a single node"`
	ClusterReplicated     bool     `env:"LEADHOUSE_CLICKHOUSE_REPLICATED" envDefault:"false" help:"with a cluster, make the shards' tables Replicated*MergeTree ({shard} and {replica} macros, Keeper or ZooKeeper)"`
	ClusterOnCluster      bool     `env:"LEADHOUSE_CLICKHOUSE_ON_CLUSTER" envDefault:"false" help:"with a cluster, run DDL once with ON CLUSTER; false: on every node of LEADHOUSE_CLICKHOUSE_ADDR, which must list them all"`

	EngineListen       []string  `env:"LEADHOUSE_ENGINE_LISTEN" envSeparator:"," envDefault:"127.0.0.1" help:"addresses the embedded engine's HTTP and native ports listen on; 0.0.0.0 lets analysts on other hosts connect"`
	EngineHTTPPort     int       `env:"LEADHOUSE_ENGINE_HTTP_PORT" envDefault:"8123" help:"the embedded engine's HTTP port (curl, JDBC, BI tools, leadhouse itself)"`
	EngineNativePort   int       `env:"LEADHOUSE_ENGINE_NATIVE_PORT" envDefault:"9000" help:"the embedded engine's native-protocol port (clickhouse-client, clickhouse-go, Grafana)"`
	AnalystPassword    string    `env:"LEADHOUSE_ANALYST_PASSWORD" help:"password of the embedded engine's read-only analyst user, who sees the masked views; empty: no analyst user"`
	PIIAnalystPassword string    `env:"LEADHOUSE_PII_ANALYST_PASSWORD" help:"password of the embedded engine's read-only pii_analyst user, with the analyst_pii role: personal data in full; empty: no such user"`
	EnginePassword     string    `env:"LEADHOUSE_ENGINE_PASSWORD" help:"password of leadhouse's own user on the embedded engine; empty: generated once and kept in the data dir"`
	EngineNodes        string    `env:"LEADHOUSE_ENGINE_CLUSTER_NODES" help:"for leadhouse engine as a node of LEADHOUSE_CLICKHOUSE_CLUSTER: every node's native address, shards separated by ; and replicas by ,"`
	EngineShard        int       `env:"LEADHOUSE_ENGINE_SHARD" envDefault:"1" help:"for leadhouse engine as a cluster node: its shard's number in LEADHOUSE_ENGINE_CLUSTER_NODES"`
	EngineReplica      string    `env:"LEADHOUSE_ENGINE_REPLICA" envDefault:"r1" help:"for leadhouse engine as a cluster node: its replica's name"`
	RawRetention       retention `env:"LEADHOUSE_RAW_RETENTION" help:"how long raw bodies (lead_updates.raw, dead_letters.body) are kept, such as 365d or 720h; empty: for ever"`
	// engineNodes is the cluster the engine settings above describe, nil for none.
	engineNodes *engine.Cluster

	BatchMaxRows     int           `env:"LEADHOUSE_BATCH_MAX_ROWS" envDefault:"50000" help:"flush when a table has this many buffered rows"`
	BatchMaxBytes    byteSize      `env:"LEADHOUSE_BATCH_MAX_BYTES" envDefault:"16MiB" help:"flush when the buffered rows, raw bodies included, reach this size"`
	FlushInterval    time.Duration `env:"LEADHOUSE_FLUSH_INTERVAL" envDefault:"1s" help:"flush buffered rows at least this often"`
	MaxBufferedBytes byteSize      `env:"LEADHOUSE_MAX_BUFFERED_BYTES" envDefault:"64MiB" help:"memory for batches, raw bodies included; past it callbacks wait in the WAL"`
	MaxBodyBytes     byteSize      `env:"LEADHOUSE_MAX_BODY_BYTES" envDefault:"1MiB" help:"largest callback body accepted (413 above)"`
	MaxConcurrent    int           `env:"LEADHOUSE_MAX_CONCURRENT" envDefault:"512" help:"requests handled at once; more get 503"`
	WALSync          string        `env:"LEADHOUSE_WAL_SYNC" envDefault:"always" help:"always: fsync before 202; interval: fsync every LEADHOUSE_WAL_SYNC_INTERVAL"`
	WALSyncInterval  time.Duration `env:"LEADHOUSE_WAL_SYNC_INTERVAL" envDefault:"100ms" help:"longest a 202 may wait for an fsync when LEADHOUSE_WAL_SYNC=interval"`
	WALMaxBytes      byteSize      `env:"LEADHOUSE_WAL_MAX_BYTES" envDefault:"4GiB" help:"backlog kept while the store is down; past it callbacks get 503"`
	WALSegmentBytes  byteSize      `env:"LEADHOUSE_WAL_SEGMENT_BYTES" envDefault:"64MiB" help:"size of one write-ahead log file; disk is given back a whole file at a time once its callbacks are stored"`
	ShutdownTimeout  time.Duration `env:"LEADHOUSE_SHUTDOWN_TIMEOUT" envDefault:"30s" help:"time to stop on SIGTERM: a third for requests in flight, the rest to flush (the WAL keeps what is left)"`
	LogFormat        string        `env:"LEADHOUSE_LOG_FORMAT" envDefault:"auto" help:"auto (text on a terminal, json otherwise), text or json"`
	LogLevel         string        `env:"LEADHOUSE_LOG_LEVEL" envDefault:"info" help:"debug, info, warn or error"`
	DebugListen      string        `env:"LEADHOUSE_DEBUG_LISTEN" help:"address for Go's pprof profiles (e.g. 127.0.0.1:6060); empty turns them off"`
}

// loadConfig reads the environment. Its error is one line naming the variable and what it expects.
func loadConfig(environ map[string]string) (config, error) {
	var c config
	err := env.ParseWithOptions(&c, env.Options{Environment: environ})
	if err != nil {
		return c, explainEnvError(err)
	}
	return c, c.validate()
}

func (c *config) validate() error {
	switch c.WALSync {
	case "always", "interval":
	default:
		return fmt.Errorf("LEADHOUSE_WAL_SYNC=%q: expected always or interval", c.WALSync)
	}
	cl, err := c.engineCluster()
	if err != nil {
		return err
	}
	c.engineNodes = cl
	switch c.ClickHouseCompression {
	case "auto", "none", "lz4", "zstd":
	default:
		return fmt.Errorf("LEADHOUSE_CLICKHOUSE_COMPRESSION=%q: expected auto, none, lz4 or zstd", c.ClickHouseCompression)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"LEADHOUSE_ENGINE_HTTP_PORT", c.EngineHTTPPort}, {"LEADHOUSE_ENGINE_NATIVE_PORT", c.EngineNativePort}} {
		if p.v < 1 || p.v > 65535 {
			return fmt.Errorf("%s=%d: expected a port between 1 and 65535", p.name, p.v)
		}
	}
	if c.EngineHTTPPort == c.EngineNativePort {
		return fmt.Errorf("LEADHOUSE_ENGINE_HTTP_PORT and LEADHOUSE_ENGINE_NATIVE_PORT are both %d", c.EngineHTTPPort)
	}
	for _, h := range c.EngineListen {
		if net.ParseIP(strings.TrimSpace(h)) == nil {
			return fmt.Errorf("LEADHOUSE_ENGINE_LISTEN=%q: expected IP addresses such as 127.0.0.1 or 0.0.0.0", strings.Join(c.EngineListen, ","))
		}
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		return fmt.Errorf("LEADHOUSE_LOG_FORMAT=%q: expected auto, text or json", c.LogFormat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	positive := []struct {
		name string
		v    int64
	}{
		{"LEADHOUSE_BATCH_MAX_ROWS", int64(c.BatchMaxRows)},
		{"LEADHOUSE_BATCH_MAX_BYTES", int64(c.BatchMaxBytes)},
		{"LEADHOUSE_FLUSH_INTERVAL", int64(c.FlushInterval)},
		{"LEADHOUSE_MAX_BUFFERED_BYTES", int64(c.MaxBufferedBytes)},
		{"LEADHOUSE_MAX_BODY_BYTES", int64(c.MaxBodyBytes)},
		{"LEADHOUSE_MAX_CONCURRENT", int64(c.MaxConcurrent)},
		{"LEADHOUSE_WAL_SYNC_INTERVAL", int64(c.WALSyncInterval)},
		{"LEADHOUSE_WAL_MAX_BYTES", int64(c.WALMaxBytes)},
		{"LEADHOUSE_WAL_SEGMENT_BYTES", int64(c.WALSegmentBytes)},
		{"LEADHOUSE_SHUTDOWN_TIMEOUT", int64(c.ShutdownTimeout)},
		{"LEADHOUSE_WEBHOOK_TOLERANCE", int64(c.WebhookTolerance)},
		{"LEADHOUSE_WEBHOOK_MAX_IDS", int64(c.WebhookMaxIDs)},
		{"LEADHOUSE_RATE_BURST", int64(c.RateBurst)},
		{"LEADHOUSE_AUTH_FAILURE_INTERVAL", int64(c.AuthFailureInterval)},
	}
	for _, p := range positive {
		if p.v <= 0 {
			return fmt.Errorf("%s: expected a value greater than zero", p.name)
		}
	}
	if c.DataDir == "" {
		return errors.New("LEADHOUSE_DATA_DIR: expected a directory path")
	}
	c.Tokens = trimList(c.Tokens)
	return c.validateTrust()
}

// validateTrust checks the settings of signatures and abuse limits.
func (c *config) validateTrust() error {
	switch c.AuthRequire {
	case "all", "any":
	default:
		return fmt.Errorf("LEADHOUSE_AUTH_REQUIRE=%q: expected all or any", c.AuthRequire)
	}
	c.WebhookSecrets = trimList(c.WebhookSecrets)
	for i, s := range c.WebhookSecrets {
		if _, err := server.ParseWebhookSecret(s); err != nil {
			return fmt.Errorf("LEADHOUSE_WEBHOOK_SECRETS: secret %d: %w", i+1, err)
		}
	}
	c.HMACSecrets = trimList(c.HMACSecrets)
	switch c.HMACAlgorithm {
	case "sha1", "sha256", "sha384", "sha512":
	default:
		return fmt.Errorf("LEADHOUSE_HMAC_ALGORITHM=%q: expected sha1, sha256, sha384 or sha512", c.HMACAlgorithm)
	}
	switch c.HMACEncoding {
	case "hex", "base64":
	default:
		return fmt.Errorf("LEADHOUSE_HMAC_ENCODING=%q: expected hex or base64", c.HMACEncoding)
	}
	if c.HMACHeader == "" || strings.ContainsAny(c.HMACHeader, " :\t") {
		return fmt.Errorf("LEADHOUSE_HMAC_HEADER=%q: expected a header name such as X-Signature", c.HMACHeader)
	}
	if c.RateLimit < 0 {
		return errors.New("LEADHOUSE_RATE_LIMIT: expected requests per second, or 0 for no limit")
	}
	if c.AuthFailureBurst < 0 {
		return errors.New("LEADHOUSE_AUTH_FAILURE_BURST: expected a number of attempts, or 0 for no limit")
	}
	_, err := c.trustedProxies()
	return err
}

// trustedProxies parses LEADHOUSE_TRUSTED_PROXIES: networks, or addresses standing for themselves.
func (c *config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range trimList(c.TrustedProxies) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("LEADHOUSE_TRUSTED_PROXIES: %q: expected an address or a network such as 10.0.0.0/8", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

// trimList drops the spaces around the items of a comma-separated list, and empty items.
func trimList(items []string) []string {
	var out []string
	for _, t := range items {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// engineCluster is the cluster `leadhouse engine` is a node of, nil for none.
func (c *config) engineCluster() (*engine.Cluster, error) {
	if c.EngineNodes == "" {
		return nil, nil
	}
	if c.Cluster == "" {
		return nil, errors.New("LEADHOUSE_ENGINE_CLUSTER_NODES: the engine's cluster needs a name in LEADHOUSE_CLICKHOUSE_CLUSTER")
	}
	if c.EnginePassword == "" {
		return nil, errors.New("LEADHOUSE_ENGINE_CLUSTER_NODES: the nodes of a cluster share leadhouse's password: set LEADHOUSE_ENGINE_PASSWORD")
	}
	cl := &engine.Cluster{Name: c.Cluster, Shard: c.EngineShard, Replica: c.EngineReplica, Password: c.EnginePassword,
		InternalReplication: c.ClusterReplicated}
	for _, shard := range strings.Split(c.EngineNodes, ";") {
		var nodes []engine.Node
		for _, a := range strings.Split(shard, ",") {
			host, port, err := net.SplitHostPort(strings.TrimSpace(a))
			p, perr := strconv.Atoi(port)
			if err != nil || perr != nil || p < 1 || p > 65535 {
				return nil, fmt.Errorf("LEADHOUSE_ENGINE_CLUSTER_NODES=%q: expected host:port of each node's native port, shards separated by ; and replicas by ,", c.EngineNodes)
			}
			nodes = append(nodes, engine.Node{Host: host, Port: p})
		}
		cl.Shards = append(cl.Shards, nodes)
	}
	if c.EngineShard < 1 || c.EngineShard > len(cl.Shards) {
		return nil, fmt.Errorf("LEADHOUSE_ENGINE_SHARD=%d: expected a shard of LEADHOUSE_ENGINE_CLUSTER_NODES, 1 to %d", c.EngineShard, len(cl.Shards))
	}
	return cl, nil
}

// requireAuth is checked by serve only: other subcommands need no token.
func (c *config) requireAuth() error {
	if len(c.Tokens) == 0 && len(c.WebhookSecrets) == 0 && len(c.HMACSecrets) == 0 && !c.InsecureNoAuth {
		return errors.New("LEADHOUSE_TOKEN: expected at least one token, or signing secrets in LEADHOUSE_WEBHOOK_SECRETS or LEADHOUSE_HMAC_SECRETS (or LEADHOUSE_INSECURE_NO_AUTH=true for a private network)")
	}
	for _, t := range c.Tokens {
		if len(t) < 8 {
			return errors.New("LEADHOUSE_TOKEN: expected tokens of at least 8 characters")
		}
	}
	return nil
}

// explainEnvError turns caarlos0/env's error, which names Go struct fields, into one line naming
// the environment variable and the value it expects.
func explainEnvError(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) || len(agg.Errors) == 0 {
		return err
	}
	var pe env.ParseError
	if !errors.As(agg.Errors[0], &pe) {
		return agg.Errors[0]
	}
	f, ok := reflect.TypeFor[config]().FieldByName(pe.Name)
	if !ok {
		return err
	}
	name := f.Tag.Get("env")
	return fmt.Errorf("%s: expected %s (%v)", name, expectation(f.Type), pe.Err)
}

func expectation(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[time.Duration]():
		return "a duration such as 500ms, 1s or 2m"
	case reflect.TypeFor[byteSize]():
		return "a size in bytes such as 1048576, 512KiB, 16MiB or 4GiB"
	case reflect.TypeFor[retention]():
		return "a retention of at least an hour such as 365d, 90d or 720h"
	case reflect.TypeFor[bool]():
		return "true or false"
	case reflect.TypeFor[int]():
		return "a whole number"
	case reflect.TypeFor[float64]():
		return "a number such as 0.5 or 500"
	}
	return "a " + t.String()
}

// byteSize is a number of bytes written plainly or with a binary suffix (KiB, MiB, GiB).
type byteSize int64

func (b *byteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("invalid size %q", string(text))
	}
	*b = byteSize(n * mult)
	return nil
}

// retention is how long raw bodies are kept: whole days as "365d", or a Go duration such as
// "720h"; empty (0) keeps them for ever. Less than an hour is refused: it would empty the raw
// bodies of callbacks as they arrive, almost surely a typo.
type retention time.Duration

// maxRetentionDays keeps a retention's seconds within the engine's interval arithmetic.
const maxRetentionDays = 100 * 365

func (r *retention) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if s == "" || s == "0" {
		*r = 0
		return nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 32)
		if err != nil || n > maxRetentionDays {
			return fmt.Errorf("invalid retention %q", string(text))
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d > maxRetentionDays*24*time.Hour {
			return fmt.Errorf("invalid retention %q", string(text))
		}
	}
	if d < time.Hour {
		return fmt.Errorf("retention %q is under an hour", string(text))
	}
	*r = retention(d)
	return nil
}
