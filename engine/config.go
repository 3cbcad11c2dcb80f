package engine

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Config describes one engine: where it keeps its data, where it listens and who may log in.
// Write turns it into the configuration files the engine process reads.
type Config struct {
	// DataDir is leadhouse's data directory. The engine keeps its databases in DataDir/chdb (the
	// directory the in-process engine of earlier versions used, so their data carries over) and
	// its configuration, credentials and logs in DataDir/engine. Required.
	DataDir string
	// Listen lists the addresses the native and HTTP servers listen on. Default ["127.0.0.1"]:
	// nothing outside this machine can connect until the operator says so.
	Listen []string
	// TCPPort is the native-protocol port (clickhouse-client, clickhouse-go, Grafana's plugin);
	// HTTPPort the HTTP interface's (curl, JDBC, leadhouse itself). Defaults 9000 and 8123, the
	// ports ClickHouse clients assume.
	TCPPort  int
	HTTPPort int
	// Database is the database the analyst user may read. Default "leadhouse".
	Database string
	// Password is the password of the user leadhouse writes as (User). Empty: a random one,
	// generated on first use. Either is kept in DataDir/engine/leadhouse.password, readable by
	// its owner only, where other leadhouse commands on the same data directory find it.
	Password string
	// AnalystPassword enables the read-only analyst user (AnalystUser) with this password.
	// Empty: no analyst user. It has the role AnalystRole: the masked views only.
	AnalystPassword string
	// PIIAnalystPassword enables the read-only PIIAnalystUser with this password. Empty: no such
	// user. It has the role PIIRole: the whole database, personal data included.
	PIIAnalystPassword string
	// LogLevel is the engine's own log level in DataDir/engine/log; default "warning".
	LogLevel string
	// Cluster, when set, makes the engine a node of a cluster: its <remote_servers> entry, which
	// Distributed tables and ON CLUSTER name, and its {cluster}, {shard} and {replica} macros.
	Cluster *Cluster
	// ZooKeeper lists the ZooKeeper (or ClickHouse Keeper) nodes Replicated tables keep their
	// metadata in. clickhouse-local opens no interserver port, so its replicated tables can be
	// created but not written: this is for checking their definitions.
	ZooKeeper []Node
}

// Cluster describes the cluster an engine belongs to, as every node's configuration repeats it.
type Cluster struct {
	// Name is the cluster's name in <remote_servers>. Required.
	Name string
	// Shards lists, per shard, its replicas' native-protocol addresses. Required.
	Shards [][]Node
	// Shard and Replica are this node's macros: its shard's number (1-based) and its replica's
	// name within the shard. Required.
	Shard   int
	Replica string
	// Password is the password of User on every node: one node's Distributed tables connect to
	// the others as User. Required.
	Password string
	// InternalReplication is set when the shards' tables replicate themselves
	// (Replicated*MergeTree): a Distributed insert then writes one replica of a shard, not all.
	InternalReplication bool
	// PasswordEnv, for ClusterConfig, names the environment variable the servers read Password
	// from instead of the file holding it.
	PasswordEnv string
}

// Node is one replica's native-protocol address.
type Node struct {
	Host string
	Port int
}

const (
	// User is the engine user leadhouse writes as: it owns the database and manages access.
	User = "leadhouse"
	// AnalystUser is the read-only user for analysts and BI tools, with AnalystRole.
	AnalystUser = "analyst"
	// PIIAnalystUser is the read-only user of those allowed to see personal data, with PIIRole.
	PIIAnalystUser = "pii_analyst"
)

// The roles of the users who read the warehouse. The engine keeps users and roles in its
// users.xml only: clickhouse-local, which the engine is, reads no other access storage, so
// neither can be created, nor a role granted, with SQL. deploy/clickhouse/users.xml defines the
// same roles for a ClickHouse server, where the operator grants them to users created with SQL.
const (
	// AnalystRole may SELECT the masked views (masked_*) of the database and nothing else: the
	// views run as their definer, so no other privilege is needed to read them.
	AnalystRole = "analyst_masked"
	// PIIRole may SELECT everything in the database: personal data in full.
	PIIRole = "analyst_pii"
)

func (c *Config) setDefaults() error {
	if c.DataDir == "" {
		return errors.New("engine config: DataDir is required")
	}
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("engine config: data dir %s: %w", c.DataDir, err)
	}
	c.DataDir = dir
	if len(c.Listen) == 0 {
		c.Listen = []string{"127.0.0.1"}
	}
	for _, h := range c.Listen {
		if net.ParseIP(h) == nil && h != "localhost" {
			return fmt.Errorf("engine config: listen address %q is not an IP address", h)
		}
	}
	if c.TCPPort == 0 {
		c.TCPPort = 9000
	}
	if c.HTTPPort == 0 {
		c.HTTPPort = 8123
	}
	for _, p := range []int{c.TCPPort, c.HTTPPort} {
		if p < 1 || p > 65535 {
			return fmt.Errorf("engine config: port %d outside 1..65535", p)
		}
	}
	if c.TCPPort == c.HTTPPort {
		return fmt.Errorf("engine config: the native and HTTP ports are both %d", c.TCPPort)
	}
	if c.Database == "" {
		c.Database = "leadhouse"
	}
	if c.LogLevel == "" {
		c.LogLevel = "warning"
	}
	if cl := c.Cluster; cl != nil {
		switch {
		case cl.Name == "" || !identifier.MatchString(cl.Name):
			return fmt.Errorf("engine config: cluster name %q is not an identifier", cl.Name)
		case len(cl.Shards) == 0:
			return errors.New("engine config: a cluster of no shards")
		case cl.Shard < 1 || cl.Shard > len(cl.Shards):
			return fmt.Errorf("engine config: shard %d of a cluster of %d", cl.Shard, len(cl.Shards))
		case cl.Replica == "":
			return errors.New("engine config: the replica's name is required")
		case cl.Password == "":
			return errors.New("engine config: a cluster needs the password of its nodes' user")
		}
		if c.Password == "" {
			c.Password = cl.Password
		}
	}
	return nil
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// StoreDir is where the engine keeps its databases.
func (c *Config) StoreDir() string { return filepath.Join(c.DataDir, "chdb") }

// ConfigDir is where the engine's configuration, credentials, state and logs are.
func (c *Config) ConfigDir() string { return filepath.Join(c.DataDir, "engine") }

// Files are what Write produced.
type Files struct {
	// Config is the configuration file to give the engine process (Run).
	Config string
	// Password is the password of User.
	Password string
}

// Write writes the engine's configuration (config.xml), users (users.xml) and client-facing
// addresses (listen.json) under ConfigDir, readable by their owner only, and returns the
// configuration file and the password of User.
//
// Who can log in: User with Password; AnalystUser, read-only and masked, with AnalystPassword;
// PIIAnalystUser, read-only, with PIIAnalystPassword; nobody else.
// clickhouse-local runs its own command line as the user "default" with an empty password from
// 127.0.0.1, and no option changes that, so "default" must exist without a password. What keeps
// anyone from logging in as "default" over the network is that the engine's own session holds
// the only session that user may have (max_sessions_for_user = 1) for as long as the servers
// listen: any other login as "default" is refused with USER_SESSION_LIMIT_EXCEEDED. Besides,
// "default" may only come from 127.0.0.1 and may do nothing but what starting the servers needs.
func (c *Config) Write() (Files, error) {
	if err := c.setDefaults(); err != nil {
		return Files{}, err
	}
	dir := c.ConfigDir()
	for _, d := range []string{dir, c.logDir(), c.StoreDir()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return Files{}, fmt.Errorf("engine config: %w", err)
		}
	}
	password, err := c.password()
	if err != nil {
		return Files{}, err
	}
	usersPath := filepath.Join(dir, "users.xml")
	users, err := xmlDocument(c.users(password))
	if err != nil {
		return Files{}, err
	}
	if err := writeFileAtomic(usersPath, users, 0o600); err != nil {
		return Files{}, fmt.Errorf("engine config: %w", err)
	}
	listen, err := json.MarshalIndent(listenConfig{Listen: c.Listen, TCPPort: c.TCPPort, HTTPPort: c.HTTPPort}, "", "  ")
	if err != nil {
		return Files{}, fmt.Errorf("engine config: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, listenFile), append(listen, '\n'), 0o600); err != nil {
		return Files{}, fmt.Errorf("engine config: %w", err)
	}
	configPath := filepath.Join(dir, "config.xml")
	conf, err := xmlDocument(c.server(usersPath))
	if err != nil {
		return Files{}, err
	}
	if err := writeFileAtomic(configPath, conf, 0o600); err != nil {
		return Files{}, fmt.Errorf("engine config: %w", err)
	}
	return Files{Config: configPath, Password: password}, nil
}

func (c *Config) logDir() string { return filepath.Join(c.ConfigDir(), "log") }

func (c *Config) passwordFile() string { return filepath.Join(c.ConfigDir(), "leadhouse.password") }

// password returns c.Password, or the generated one kept in passwordFile; either way it is in
// passwordFile afterwards, for other commands on the data directory.
func (c *Config) password() (string, error) {
	if c.Password != "" {
		if b, err := os.ReadFile(c.passwordFile()); err == nil && strings.TrimSpace(string(b)) == c.Password {
			return c.Password, nil
		}
		if err := writeFileAtomic(c.passwordFile(), []byte(c.Password+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("engine credentials: %w", err)
		}
		return c.Password, nil
	}
	if b, err := os.ReadFile(c.passwordFile()); err == nil {
		if p := strings.TrimSpace(string(b)); p != "" {
			return p, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("engine credentials: %w", err)
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("engine credentials: %w", err)
	}
	p := hex.EncodeToString(raw[:])
	if err := writeFileAtomic(c.passwordFile(), []byte(p+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("engine credentials: %w", err)
	}
	return p, nil
}

// PasswordFile is where the password of User of the engine of dataDir is kept.
func PasswordFile(dataDir string) string {
	c := Config{DataDir: dataDir}
	if err := c.setDefaults(); err != nil {
		return filepath.Join(dataDir, "engine", "leadhouse.password")
	}
	return c.passwordFile()
}

// ReadPassword returns the password of User that Write generated for the engine of dataDir, for
// commands that connect to a running engine.
func ReadPassword(dataDir string) (string, error) {
	b, err := os.ReadFile(PasswordFile(dataDir))
	if err != nil {
		return "", fmt.Errorf("engine credentials: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// listenFile, beside the engine's configuration file, holds the addresses its clients use.
const listenFile = "listen.json"

type listenConfig struct {
	Listen   []string `json:"listen"`
	TCPPort  int      `json:"native_port"`
	HTTPPort int      `json:"http_port"`
}

func readListenConfig(configPath string) (listenConfig, error) {
	var lc listenConfig
	b, err := os.ReadFile(filepath.Join(filepath.Dir(configPath), listenFile))
	if err != nil {
		return lc, fmt.Errorf("engine config: %w", err)
	}
	if err := json.Unmarshal(b, &lc); err != nil {
		return lc, fmt.Errorf("engine config %s: %w", listenFile, err)
	}
	if len(lc.Listen) == 0 || lc.TCPPort == 0 || lc.HTTPPort == 0 {
		return lc, fmt.Errorf("engine config %s: no listen address or port", listenFile)
	}
	return lc, nil
}

// The XML below is ClickHouse's server configuration, as much of it as the engine needs.

type xmlServer struct {
	XMLName       xml.Name  `xml:"clickhouse"`
	Path          string    `xml:"path"`
	TmpPath       string    `xml:"tmp_path"`
	UserFilesPath string    `xml:"user_files_path"`
	ListenHost    string    `xml:"listen_host"`
	Logger        xmlLogger `xml:"logger"`
	xmlClusterParts
	Users struct {
		UsersXML struct {
			Path string `xml:"path"`
		} `xml:"users_xml"`
		LocalDirectory struct {
			Path string `xml:"path"`
		} `xml:"local_directory"`
	} `xml:"user_directories"`
}

// xmlClusterParts are what makes a server a node of a cluster.
type xmlClusterParts struct {
	DistributedPool int           `xml:"background_distributed_schedule_pool_size,omitempty"`
	ZooKeeper       *xmlZooKeeper `xml:"zookeeper,omitempty"`
	RemoteServers   *xmlRemotes   `xml:"remote_servers,omitempty"`
	Macros          *xmlMacros    `xml:"macros,omitempty"`
}

func clusterParts(cl *Cluster, zk []Node) xmlClusterParts {
	var s xmlClusterParts
	if len(zk) > 0 {
		s.ZooKeeper = &xmlZooKeeper{}
		for _, n := range zk {
			s.ZooKeeper.Nodes = append(s.ZooKeeper.Nodes, xmlZKNode(n))
		}
	}
	if cl == nil {
		return s
	}
	// clickhouse-local runs no pool for Distributed tables' background sends unless told:
	// without one, rows inserted into a Distributed table wait in its queue for good.
	s.DistributedPool = 4
	rc := xmlCluster{XMLName: xml.Name{Local: cl.Name}}
	for _, shard := range cl.Shards {
		xs := xmlShard{InternalReplication: cl.InternalReplication}
		for _, n := range shard {
			r := xmlReplica{Host: n.Host, Port: n.Port, User: User, Password: &xmlSecret{Value: cl.Password}}
			if cl.PasswordEnv != "" {
				r.Password = &xmlSecret{FromEnv: cl.PasswordEnv}
			}
			xs.Replicas = append(xs.Replicas, r)
		}
		rc.Shards = append(rc.Shards, xs)
	}
	s.RemoteServers = &xmlRemotes{Cluster: rc}
	s.Macros = &xmlMacros{Cluster: cl.Name, Shard: cl.Shard, Replica: cl.Replica}
	return s
}

// ClusterConfig is the configuration file (config.d) that makes a ClickHouse server the node of
// cl it names (Shard, Replica), with its ZooKeeper or Keeper nodes: the same <remote_servers>,
// <macros> and <zookeeper> an engine of Config with that Cluster gets, for servers leadhouse does
// not run itself (docker-compose.cluster.yml's are made with it).
func ClusterConfig(cl Cluster, zk []Node) ([]byte, error) {
	doc := struct {
		XMLName xml.Name `xml:"clickhouse"`
		xmlClusterParts
	}{xmlClusterParts: clusterParts(&cl, zk)}
	doc.DistributedPool = 0 // a server runs its pool anyway
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cluster config: %w", err)
	}
	return append([]byte("<?xml version=\"1.0\"?>\n<!-- Made by leadhouse's engine.ClusterConfig, as its engines' own: do not edit. -->\n"), append(b, '\n')...), nil
}

// xmlRemotes is <remote_servers> with one cluster; its element is named after the cluster.
type xmlRemotes struct {
	Cluster xmlCluster
}

type xmlCluster struct {
	XMLName xml.Name
	Shards  []xmlShard `xml:"shard"`
}

type xmlShard struct {
	InternalReplication bool         `xml:"internal_replication"`
	Replicas            []xmlReplica `xml:"replica"`
}

type xmlReplica struct {
	Host     string     `xml:"host"`
	Port     int        `xml:"port"`
	User     string     `xml:"user"`
	Password *xmlSecret `xml:"password"`
}

// xmlSecret is a value given in the file or, with from_env, read by the server from its
// environment.
type xmlSecret struct {
	FromEnv string `xml:"from_env,attr,omitempty"`
	Value   string `xml:",chardata"`
}

type xmlZooKeeper struct {
	Nodes []xmlZKNode `xml:"node"`
}

type xmlZKNode struct {
	Host string `xml:"host"`
	Port int    `xml:"port"`
}

type xmlMacros struct {
	Cluster string `xml:"cluster"`
	Shard   int    `xml:"shard"`
	Replica string `xml:"replica"`
}

type xmlLogger struct {
	Level    string `xml:"level"`
	Log      string `xml:"log"`
	ErrorLog string `xml:"errorlog"`
	Size     string `xml:"size"`
	Count    int    `xml:"count"`
	Console  int    `xml:"console"`
}

func (c *Config) server(usersPath string) xmlServer {
	s := xmlServer{
		Path:    c.StoreDir() + "/",
		TmpPath: filepath.Join(c.StoreDir(), "tmp") + "/",
		// Nothing of the engine's own is readable through file(); the engine's session reads
		// its stop pipe by an absolute path, which is not checked against this.
		UserFilesPath: filepath.Join(c.StoreDir(), "user_files") + "/",
		// The engine's own servers listen on this machine only, on ports the engine process
		// picks (Run); the addresses clients use are the engine process's (see listeners).
		ListenHost: "127.0.0.1",
		Logger: xmlLogger{
			Level:    c.LogLevel,
			Log:      filepath.Join(c.logDir(), "clickhouse.log"),
			ErrorLog: filepath.Join(c.logDir(), "clickhouse.err.log"),
			Size:     "50M",
			Count:    3,
		},
	}
	s.Users.UsersXML.Path = usersPath
	s.xmlClusterParts = clusterParts(c.Cluster, c.ZooKeeper)
	// Users and roles created with SQL (by User) are kept with the data.
	s.Users.LocalDirectory.Path = filepath.Join(c.StoreDir(), "access") + "/"
	return s
}

type xmlUsers struct {
	XMLName  xml.Name `xml:"clickhouse"`
	Profiles struct {
		Default   struct{}        `xml:"default"`
		Bootstrap xmlBootProfile  `xml:"bootstrap"`
		Analyst   xmlReadonlyProf `xml:"analyst"`
	} `xml:"profiles"`
	Quotas struct {
		Default struct{} `xml:"default"`
	} `xml:"quotas"`
	Roles struct {
		Masked xmlRole `xml:"analyst_masked"`
		PII    xmlRole `xml:"analyst_pii"`
	} `xml:"roles"`
	Users struct {
		Default    xmlUser  `xml:"default"`
		Leadhouse  xmlUser  `xml:"leadhouse"`
		Analyst    *xmlUser `xml:"analyst,omitempty"`
		PIIAnalyst *xmlUser `xml:"pii_analyst,omitempty"`
	} `xml:"users"`
}

type xmlRole struct {
	Grants xmlGrants `xml:"grants"`
}

type xmlBootProfile struct {
	MaxSessionsForUser int `xml:"max_sessions_for_user"`
}

type xmlReadonlyProf struct {
	// 2: reads and settings only. BI tools (JDBC, Grafana) send settings with their queries,
	// which readonly=1 would refuse; writes and DDL are refused either way.
	Readonly int `xml:"readonly"`
}

type xmlUser struct {
	NoPassword        *struct{} `xml:"no_password,omitempty"`
	PasswordSHA256Hex string    `xml:"password_sha256_hex,omitempty"`
	Networks          struct {
		IP []string `xml:"ip"`
	} `xml:"networks"`
	Profile          string     `xml:"profile"`
	Quota            string     `xml:"quota"`
	AccessManagement int        `xml:"access_management,omitempty"`
	Grants           *xmlGrants `xml:"grants,omitempty"`
}

type xmlGrants struct {
	Query []string `xml:"query"`
}

func (c *Config) users(password string) xmlUsers {
	var u xmlUsers
	u.Profiles.Bootstrap.MaxSessionsForUser = 1
	u.Profiles.Analyst.Readonly = 2
	u.Users.Default = xmlUser{
		NoPassword: &struct{}{},
		Profile:    "bootstrap",
		Quota:      "default",
		// SYSTEM START LISTEN, and reading the stop pipe through file().
		Grants: &xmlGrants{Query: []string{"GRANT SYSTEM LISTEN ON *.*", "GRANT CREATE TEMPORARY TABLE ON *.*", "GRANT READ ON FILE"}},
	}
	u.Users.Default.Networks.IP = []string{"127.0.0.1"}
	u.Users.Leadhouse = xmlUser{
		PasswordSHA256Hex: sha256Hex(password),
		Profile:           "default",
		Quota:             "default",
		AccessManagement:  1,
	}
	u.Users.Leadhouse.Networks.IP = []string{"::/0"}
	u.Roles.Masked.Grants.Query = []string{"GRANT SELECT ON " + quoteIdent(c.Database) + ".masked_*"}
	u.Roles.PII.Grants.Query = []string{"GRANT SELECT ON " + quoteIdent(c.Database) + ".*"}
	reader := func(password, role string) *xmlUser {
		a := xmlUser{
			PasswordSHA256Hex: sha256Hex(password),
			Profile:           "analyst",
			Quota:             "default",
			Grants:            &xmlGrants{Query: []string{"GRANT " + role}},
		}
		a.Networks.IP = []string{"::/0"}
		return &a
	}
	if c.AnalystPassword != "" {
		u.Users.Analyst = reader(c.AnalystPassword, AnalystRole)
	}
	if c.PIIAnalystPassword != "" {
		u.Users.PIIAnalyst = reader(c.PIIAnalystPassword, PIIRole)
	}
	return u
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func xmlDocument(v any) ([]byte, error) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("engine config: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString("<?xml version=\"1.0\"?>\n<!-- Written by leadhouse at every engine start; edits are overwritten. -->\n")
	buf.Write(b)
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// writeFileAtomic replaces path with data, so the engine never reads a half-written file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// quoteIdent quotes a ClickHouse identifier with backquotes.
func quoteIdent(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}

// quoteString quotes a ClickHouse string literal.
func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
