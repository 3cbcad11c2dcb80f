// Package enginetest runs one engine process per test binary, through engine.Supervisor, and gives each test a database on it.
//
// A test binary is its own engine process: Main runs the engine instead of the tests when the
// binary is started as one (Command), so every package tests the real engine over the same
// protocol and supervision leadhouse uses, without building anything first.
package enginetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
)

// RequireEnv names the variable that turns a missing engine library from a skip into a
// failure; `make test` sets it to 1.
const RequireEnv = "LEADHOUSE_REQUIRE_CHDB"

// childEnv, set to a configuration file, makes a test binary an engine process.
const childEnv = "LEADHOUSE_ENGINETEST_CONFIG"

// shared is the test binary's engine. It is package-global because it is per process: Main
// stops it once every test has run.
var shared struct {
	once sync.Once
	sup  *engine.Supervisor
	dir  string
	err  error
}

var dbSeq atomic.Uint64

// Main runs m, or the engine when this test binary was started as an engine process, and exits.
// Call it from TestMain of every package whose tests use the engine.
func Main(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		if err := engine.ServeChild(cfg, true); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if shared.sup != nil {
		if err := shared.sup.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "enginetest:", err)
		}
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// Command runs this test binary as an engine process for configPath: Options.Command for a
// Supervisor in tests.
func Command(configPath string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+configPath)
	return cmd
}

// Engine returns the test binary's engine, starting it on first use in a fresh directory with
// free ports. When the engine library cannot be found it skips the test, or fails it if
// LEADHOUSE_REQUIRE_CHDB=1.
func Engine(tb testing.TB) *engine.Supervisor {
	tb.Helper()
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "leadhouse-enginetest-"); shared.err != nil {
			return
		}
		shared.sup, shared.err = start(context.Background(), engine.Config{DataDir: shared.dir}, nil)
	})
	if shared.err != nil {
		if errors.Is(shared.err, engine.ErrLibraryMissing) && os.Getenv(RequireEnv) != "1" {
			tb.Skipf("skipping: %v", shared.err)
		}
		tb.Fatalf("enginetest: %v", shared.err)
	}
	return shared.sup
}

// Start starts an engine of its own for a test on cfg (free ports when cfg names none), stopped
// when the test ends: for tests that stop, kill or restart it. log, if not nil, receives the
// supervisor's log.
func Start(tb testing.TB, cfg engine.Config, log *slog.Logger) *engine.Supervisor {
	tb.Helper()
	if _, err := engine.FindLibrary(); err != nil {
		if os.Getenv(RequireEnv) != "1" {
			tb.Skipf("skipping: %v", err)
		}
		tb.Fatal(err)
	}
	sup, err := start(context.Background(), cfg, log)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := sup.Stop(context.Background()); err != nil {
			tb.Errorf("stop engine: %v", err)
		}
	})
	return sup
}

func start(ctx context.Context, cfg engine.Config, log *slog.Logger) (*engine.Supervisor, error) {
	if _, err := engine.FindLibrary(); err != nil {
		return nil, err
	}
	// Free ports are found by binding port 0, so another process may take one before the
	// engine does: a start that finds its port taken is tried again with new ones.
	pick := cfg.TCPPort == 0 && cfg.HTTPPort == 0
	var err error
	for range 5 {
		if pick {
			ports, perr := FreePorts(2)
			if perr != nil {
				return nil, perr
			}
			cfg.TCPPort, cfg.HTTPPort = ports[0], ports[1]
		}
		var sup *engine.Supervisor
		sup, err = engine.Start(ctx, engine.Options{
			Config:       cfg,
			Command:      Command,
			RestartMin:   100 * time.Millisecond,
			RestartMax:   time.Second,
			ReadyTimeout: time.Minute,
			Logger:       log,
		})
		if err == nil {
			return sup, nil
		}
		if !pick || !strings.Contains(err.Error(), "Address already in use") {
			return nil, err
		}
	}
	return nil, err
}

// FreePorts returns n TCP ports free on 127.0.0.1 at the time of the call.
func FreePorts(n int) ([]int, error) { return engine.FreeLoopbackPorts(n) }

// Store returns a Store as leadhouse's user on a new, empty database of the test binary's
// engine, dropped when the test ends. Tests isolate their tables by it.
func Store(tb testing.TB) *clickhouse.Store {
	tb.Helper()
	sup := Engine(tb)
	name := DatabaseName(tb.Name(), dbSeq.Add(1))
	s, err := clickhouse.New(clickhouse.Options{
		Addr:     []string{sup.HTTPAddr()},
		Database: name,
		Username: engine.User,
		Password: sup.Password(),
	})
	if err != nil {
		tb.Fatalf("enginetest: %v", err)
	}
	ctx := context.Background()
	if err := s.CreateDatabase(ctx); err != nil {
		tb.Fatalf("enginetest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" SYNC"); err != nil {
			tb.Errorf("enginetest: %v", err)
		}
		s.Close()
	})
	return s
}

// DatabaseName derives a readable identifier that needs no quoting from a test name, e.g.
// "TestInsert/dedup" -> "t_testinsert_dedup_7".
func DatabaseName(test string, seq uint64) string {
	var b strings.Builder
	b.WriteString("t_")
	for _, r := range strings.ToLower(test) {
		if b.Len() >= 48 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	b.WriteString("_" + strconv.FormatUint(seq, 10))
	return b.String()
}

// ProcessCPU is the user plus system CPU time process pid has used so far, its threads
// included, or 0 when it cannot be read. Benchmarks report it per operation for leadhouse's
// process and the engine's apart: on a shared machine it is steadier than wall time.
func ProcessCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces; the fields after it are fixed.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	// Linux reports clock ticks of USER_HZ, 100 per second on every architecture Go supports.
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// ZooKeeper starts a ZooKeeper server (Debian's zookeeper package) on a free port for the test
// and returns its address. Without the package it skips the test, or fails it if
// LEADHOUSE_REQUIRE_CHDB=1, as `make test` sets it (.ci/run installs the package).
func ZooKeeper(tb testing.TB) engine.Node {
	tb.Helper()
	const script = "/usr/share/zookeeper/bin/zkServer.sh"
	if _, err := os.Stat(script); err != nil {
		if os.Getenv(RequireEnv) != "1" {
			tb.Skipf("skipping: ZooKeeper is not installed (apt-get install zookeeper): %v", err)
		}
		tb.Fatalf("ZooKeeper is not installed (apt-get install zookeeper; .ci/run does): %v", err)
	}
	ports, err := FreePorts(1)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	cfg := fmt.Sprintf("tickTime=2000\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=ruok\n", dir, ports[0])
	cfgPath := dir + "/zoo.cfg"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(script, "start-foreground", cfgPath)
	cmd.Env = append(os.Environ(), "ZOO_LOG_DIR="+dir)
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	deadline := time.Now().Add(time.Minute)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_, _ = c.Write([]byte("ruok"))
			b := make([]byte, 4)
			n, _ := io.ReadFull(c, b)
			c.Close()
			if string(b[:n]) == "imok" {
				return engine.Node{Host: "127.0.0.1", Port: ports[0]}
			}
		}
		select {
		case err := <-exited:
			tb.Fatalf("ZooKeeper exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatal("ZooKeeper did not answer within a minute")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ClusterPassword is the password of engine.User on every node StartCluster starts.
const ClusterPassword = "enginetest-cluster-password"

// StartCluster starts shards engines of their own on free ports of this machine, one replica per
// shard, as the nodes of a cluster named name: each one's <remote_servers> lists them all, so a
// Distributed table on any of them spreads rows over all. They are stopped when the test ends.
func StartCluster(tb testing.TB, name string, shards int) []*engine.Supervisor {
	tb.Helper()
	return StartClusterWith(tb, name, shards, nil)
}

// StartClusterWith is StartCluster with the ZooKeeper nodes every node is given.
func StartClusterWith(tb testing.TB, name string, shards int, zk []engine.Node) []*engine.Supervisor {
	tb.Helper()
	ports, err := FreePorts(2 * shards)
	if err != nil {
		tb.Fatal(err)
	}
	cl := engine.Cluster{Name: name, Password: ClusterPassword}
	for i := range shards {
		cl.Shards = append(cl.Shards, []engine.Node{{Host: "127.0.0.1", Port: ports[2*i+1]}})
	}
	sups := make([]*engine.Supervisor, shards)
	for i := range shards {
		node := cl
		node.Shard, node.Replica = i+1, "r1"
		sups[i] = Start(tb, engine.Config{
			DataDir:   tb.TempDir(),
			HTTPPort:  ports[2*i],
			TCPPort:   ports[2*i+1],
			Cluster:   &node,
			ZooKeeper: zk,
		}, nil)
	}
	return sups
}
