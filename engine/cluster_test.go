package engine_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/engine/enginetest"
)

// Three engine processes configured as the shards of one cluster serve a Distributed table over
// a local table on each: rows inserted on one node spread over all three, through the nodes'
// native-protocol listeners, and any node answers for all of them.
func TestShardsOfAClusterServeADistributedTable(t *testing.T) {
	nodes := enginetest.StartCluster(t, "lh", 3)
	run := func(n *engine.Supervisor, q string) string {
		t.Helper()
		status, body := httpQuery(t, n.HTTPAddr(), engine.User, n.Password(), q)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", q, status, body)
		}
		return body
	}
	for i, n := range nodes {
		if got := run(n, "SELECT getMacro('shard'), getMacro('cluster')"); got != fmt.Sprintf("%d\tlh", i+1) {
			t.Errorf("node %d macros: %q", i, got)
		}
		run(n, "CREATE DATABASE IF NOT EXISTS c")
		run(n, "CREATE TABLE c.t_local (id UInt64) ENGINE = MergeTree ORDER BY id")
		run(n, "CREATE TABLE c.t AS c.t_local ENGINE = Distributed(lh, c, t_local, id)")
	}
	run(nodes[0], "INSERT INTO c.t SELECT number FROM numbers(300) SETTINGS distributed_foreground_insert = 1")
	// Background sends drain too (the nodes run a pool for them).
	run(nodes[1], "INSERT INTO c.t SELECT number + 1000 FROM numbers(30)")
	waitFor(t, func() bool { return run(nodes[2], "SELECT count() FROM c.t") == "330" })
	total := 0
	for i, n := range nodes {
		local, _ := strconv.Atoi(run(n, "SELECT count() FROM c.t_local"))
		if local == 0 {
			t.Errorf("shard %d holds no rows", i+1)
		}
		total += local
	}
	if total != 330 {
		t.Errorf("the shards hold %d rows in all, want 330", total)
	}
}
