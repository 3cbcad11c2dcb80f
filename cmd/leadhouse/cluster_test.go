package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/schema"
	lhsql "github.com/leadhouse/leadhouse/sql"
)

// newCluster makes n `leadhouse engine` servers the shards of one cluster, lh, one replica each:
// every node's remote_servers lists all of them.
func newCluster(t *testing.T, bin string, n int) []*chServer {
	t.Helper()
	nodes := make([]*chServer, n)
	var addrs []string
	for i := range nodes {
		nodes[i] = newServer(t, bin)
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", nodes[i].tcp))
	}
	for i, s := range nodes {
		s.env = []string{"LEADHOUSE_CLICKHOUSE_CLUSTER=lh", "LEADHOUSE_ENGINE_CLUSTER_NODES=" + strings.Join(addrs, ";"),
			fmt.Sprintf("LEADHOUSE_ENGINE_SHARD=%d", i+1)}
		s.start(t)
	}
	return nodes
}

// clusterEnv is what a serve or a query needs to write to a cluster: every node's HTTP address,
// for the DDL that runs on each.
func clusterEnv(nodes []*chServer) []string {
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.addr())
	}
	return []string{"LEADHOUSE_CLICKHOUSE_ADDR=" + strings.Join(addrs, ","), "LEADHOUSE_CLICKHOUSE_CLUSTER=lh",
		"LEADHOUSE_CLICKHOUSE_USERNAME=leadhouse", "LEADHOUSE_CLICKHOUSE_PASSWORD=" + serverPassword}
}

// TestServeOnAThreeShardCluster runs serve against three shards: the migrations build every
// table and view on each node, the sample's callbacks read back through the views as on one
// node, and under load from eight clients one shard is killed with SIGKILL and started again:
// every acknowledged callback is stored exactly once.
func TestServeOnAThreeShardCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four processes under load")
	}
	bin := binary(t)
	nodes := newCluster(t, bin, 3)
	cenv := clusterEnv(nodes)
	dataDir := t.TempDir()
	env := serveEnv(dataDir, append(cenv, "LEADHOUSE_FLUSH_INTERVAL=100ms", "LEADHOUSE_RATE_LIMIT=0")...)
	inst := start(t, bin, env)
	// Every table and view has a local part and a Distributed table on every node (an
	// aggregating view's is NAME_shards); a state table's materialized view has only its local
	// part, which folds the node's own inserts into the node's state.
	names, err := lhsql.Names(lhsql.Files())
	if err != nil {
		t.Fatal(err)
	}
	mvs := len(schema.StateTables())
	for i, n := range nodes {
		want := fmt.Sprintf("%d\t%d\t%d", len(names)-mvs, len(names)-mvs, mvs)
		if got := queryEnv(t, bin, t.TempDir(), []string{"LEADHOUSE_CLICKHOUSE_ADDR=" + n.addr(), "LEADHOUSE_CLICKHOUSE_USERNAME=leadhouse", "LEADHOUSE_CLICKHOUSE_PASSWORD=" + serverPassword},
			"SELECT countIf(name LIKE '%_local' AND engine != 'MaterializedView'), countIf(engine = 'Distributed'), countIf(name LIKE '%_local' AND engine = 'MaterializedView') FROM system.tables WHERE database = 'leadhouse'"); got != want {
			t.Errorf("node %d tables (local, distributed, local materialized views): %q, want %q", i+1, got, want)
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	cb := inst.url + "/v1/callbacks"
	bearer := "Bearer " + testToken
	seed, variant := fixture(t, "seed_callback.json"), fixture(t, "variant_callback.json")
	for _, b := range [][]byte{seed, seed, variant} {
		if a := post(t, client, cb, bearer, b); a.status != http.StatusAccepted {
			t.Fatalf("callback: %d %v", a.status, a.body)
		}
	}
	q := func(sql string) string { return queryEnv(t, bin, dataDir, cenv, sql) }
	waitFor(t, func() bool { return q("SELECT count() FROM lead_updates_dedup") == "2" })
	if got := q("SELECT count() FROM notes_current WHERE lead_id = 1402361"); got != "7" {
		t.Errorf("notes of the sample's lead = %q, want 7", got)
	}
	if got := q("SELECT lead_status, callbacks FROM leads_current WHERE lead_id = 1402361"); got != "interested\t2" {
		t.Errorf("the sample's lead: %q, want interested with 2 callbacks (the sample's re-delivery counts once)", got)
	}

	d := newDriver(20000)
	d.target(cb)
	stop := make(chan struct{})
	wg := d.run(8, stop)
	time.Sleep(time.Second)
	nodes[2].kill()
	d.down.Store(true)
	time.Sleep(2 * time.Second)
	d.down.Store(false)
	nodes[2].start(t)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	waitFor(t, func() bool { return inst.readiness() == "ready" })
	inst.stop(t)
	lost, doubled := d.check(t, bin, dataDir, cenv...)
	per := []string{}
	for _, n := range nodes {
		per = append(per, queryEnv(t, bin, t.TempDir(), []string{"LEADHOUSE_CLICKHOUSE_ADDR=" + n.addr(), "LEADHOUSE_CLICKHOUSE_USERNAME=leadhouse", "LEADHOUSE_CLICKHOUSE_PASSWORD=" + serverPassword},
			"SELECT count() FROM leadhouse.lead_updates_local"))
	}
	if lost != 0 || doubled != 0 {
		t.Fatalf("lost %d, stored twice %d", lost, doubled)
	}

	// forget reaches every shard's local tables; the other leads stay.
	before := q("SELECT count() FROM leads_current")
	out := forgetEnv(t, bin, dataDir, cenv, "-lead-id", strconv.Itoa(forgottenLead), "-by", "e2e")
	if !strings.Contains(out, "lead 1402361 (named)") {
		t.Errorf("forget printed:\n%s", out)
	}
	if got := q(everywhere()); got != "0" {
		t.Errorf("the forgotten lead still has %s rows on the cluster", got)
	}
	if n, _ := strconv.Atoi(before); q("SELECT count() FROM leads_current") != strconv.Itoa(n-1) {
		t.Errorf("leads_current went from %s to %s leads, want one fewer", before, q("SELECT count() FROM leads_current"))
	}
	t.Logf("three shards: %d requests, %d acknowledged, %d of them while a shard was down, %d refused; lost %d, stored twice %d; lead_updates rows per shard %v",
		d.sent, len(d.acked), d.during, d.refused, lost, doubled, per)
}
