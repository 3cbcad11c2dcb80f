package sql

import (
	"bytes"
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/engine/enginetest"
	"github.com/leadhouse/leadhouse/gen"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
)

// clusterNodes starts a cluster of n engine processes, each a shard, and returns a store on the
// same database of each.
func clusterNodes(t *testing.T, n int) []*clickhouse.Store {
	t.Helper()
	var out []*clickhouse.Store
	for _, sup := range enginetest.StartCluster(t, "lh", n) {
		s, err := clickhouse.New(clickhouse.Options{Addr: []string{sup.HTTPAddr()}, Database: "warehouse", Username: engine.User, Password: sup.Password()})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateDatabase(context.Background()); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func dbs(stores []*clickhouse.Store) []DB {
	out := make([]DB, len(stores))
	for i, s := range stores {
		out[i] = s
	}
	return out
}

// The views are the same on a cluster of three shards as on one node for the same callbacks:
// every view's every row, read through another node than the one the rows were written to.
func TestClusterViewsAnswerAsOneNode(t *testing.T) {
	ctx := context.Background()
	single := migrated(t)
	nodes := clusterNodes(t, 3)
	if _, err := MigrateCluster(ctx, dbs(nodes), Cluster{Name: "lh"}, nil); err != nil {
		t.Fatal(err)
	}
	g := gen.New(gen.Options{Seed: 11, Leads: 60})
	start := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	var ds []delivery
	for i := range 400 {
		ds = append(ds, delivery{body: g.Next(nil), at: start.Add(time.Duration(i) * time.Minute)})
	}
	// Re-deliveries, which every view counts once.
	ds = append(ds, ds[3], ds[50], ds[51])
	deliver(t, single, ds...)
	deliver(t, nodes[0], ds...)
	for _, tb := range []string{"lead_updates", "events", "notes", "calls", "dispositions", "status_transitions", "booking_docs"} {
		exec(t, nodes[0], "SYSTEM FLUSH DISTRIBUTED "+tb)
	}
	// A lead's rows are on one shard, and every shard has some.
	count := func(db DB, q string) int {
		n, err := strconv.Atoi(strings.TrimSpace(queryString(t, db, q)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	perShard := 0
	for i, n := range nodes {
		c := count(n, "SELECT uniqExact(lead_id) FROM lead_updates_local")
		if c == 0 {
			t.Errorf("shard %d holds no lead", i+1)
		}
		perShard += c
	}
	if total := count(single, "SELECT uniqExact(lead_id) FROM lead_updates"); perShard != total {
		t.Errorf("the shards hold %d leads between them, one node %d: a lead is on two shards", perShard, total)
	}
	// The masked views hash under the cluster's one key, the same whichever node reads it; the
	// comparison below gives the cluster the single node's key.
	for i, n := range nodes {
		if got := count(n, "SELECT count() FROM pii_key"); got != 1 {
			t.Fatalf("node %d reads %d keys of the masked views, want the cluster's one", i+1, got)
		}
	}
	for _, n := range nodes {
		exec(t, n, "TRUNCATE TABLE pii_key_local")
	}
	for _, k := range query(t, single, "SELECT k0, k1, toUnixTimestamp64Milli(created_at) FROM pii_key") {
		exec(t, nodes[1], fmt.Sprintf("INSERT INTO pii_key SETTINGS distributed_foreground_insert = 1 VALUES (%s, %s, fromUnixTimestamp64Milli(%s, 'UTC'))", k[0], k[1], k[2]))
	}
	for _, v := range viewNames(t, single) {
		t.Run(v, func(t *testing.T) {
			q := "SELECT * FROM " + v + " ORDER BY ALL"
			want, got := queryString(t, single, q), queryString(t, nodes[2], q)
			if got != want {
				t.Errorf("%s on the cluster differs from one node:\ncluster %d lines, one node %d lines\n%s", v,
					strings.Count(got, "\n"), strings.Count(want, "\n"), firstDiff(got, want))
			}
		})
	}
}

func viewNames(t *testing.T, db DB) []string {
	t.Helper()
	var out []string
	for _, r := range query(t, db, "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine = 'View' ORDER BY name") {
		out = append(out, r[0])
	}
	return out
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n cluster:  " + x + "\n one node: " + y
		}
	}
	return ""
}

// The statements a cluster runs, replicated or not, are golden files, and each one is a
// statement the engine's parser takes.
func TestClusterStatementsAreGoldenAndParse(t *testing.T) {
	known, err := Names(Files())
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	for _, c := range []struct {
		name string
		cl   Cluster
	}{
		{"cluster_sharded", Cluster{Name: "lh"}},
		{"cluster_replicated", Cluster{Name: "lh", Replicated: true, OnCluster: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			for _, f := range Files() {
				st, err := f.Statements()
				if err != nil {
					t.Fatal(err)
				}
				for _, stmt := range st {
					out, err := c.cl.Rewrite(stmt.SQL, known)
					if err != nil {
						t.Fatalf("%s line %d: %v", f.Name, stmt.Line, err)
					}
					for _, q := range out {
						b.WriteString("-- " + f.Name + "\n" + q + ";\n\n")
						if got := queryString(t, s, "SELECT length(formatQuery("+quoteString(q)+")) > 0"); got != "1\n" {
							t.Errorf("the parser refuses %s", firstLine(q))
						}
					}
				}
			}
			golden := filepath.Join("testdata", c.name+".sql")
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./sql -run TestClusterStatements -update)", err)
			}
			if b.String() != string(want) {
				t.Errorf("cluster statements differ from %s; run go test ./sql -run TestClusterStatements -update and review the diff", golden)
			}
		})
	}
}

// Every view is either per callback, lead or entity, or listed in AggregatingViews with every
// column it has: a new view that counts across leads must say how its shards' rows combine.
func TestAggregatingViewsNameEveryColumn(t *testing.T) {
	s := migrated(t)
	for v, spec := range AggregatingViews {
		var cols, named []string
		for _, r := range query(t, s, "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = '"+v+"' ORDER BY position") {
			cols = append(cols, r[0])
		}
		for _, c := range spec {
			named = append(named, c.Name)
		}
		if !slices.Equal(cols, named) {
			t.Errorf("%s has columns %v; AggregatingViews names %v", v, cols, named)
		}
	}
}

// The replicated cluster's tables are created for real on a node that keeps their metadata in a
// ZooKeeper server: the engine takes them, each local table is a Replicated engine under the path
// the {shard} and {database} macros make, with the {replica} macro's name, and ZooKeeper holds
// them. clickhouse-local opens no interserver port, so a replicated table is read-only here: it
// takes no ALTER and no row. The tables are therefore created as the migrations leave them (read
// back from a node migrated without a cluster) and made replicated by the cluster's rule; the
// statements themselves are the golden files' (TestClusterStatementsAreGoldenAndParse), and
// docker-compose.cluster.yml runs them for real.
func TestReplicatedClusterTablesAreCreatedUnderZooKeeper(t *testing.T) {
	zk := enginetest.ZooKeeper(t)
	sups := enginetest.StartClusterWith(t, "lh", 1, []engine.Node{zk})
	s, err := clickhouse.New(clickhouse.Options{Addr: []string{sups[0].HTTPAddr()}, Database: "warehouse", Username: engine.User, Password: sups[0].Password()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.CreateDatabase(ctx); err != nil {
		t.Fatal(err)
	}
	single := migrated(t)
	c := Cluster{Name: "lh", Replicated: true}
	known, err := Names(Files())
	if err != nil {
		t.Fatal(err)
	}
	qualified := regexp.MustCompile(`^CREATE TABLE \w+\.(\w+)`)
	for _, r := range query(t, single, "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree' AND name != 'schema_migrations' ORDER BY name") {
		create := qualified.ReplaceAllString(query(t, single, "SHOW CREATE TABLE "+r[0])[0][0], "CREATE TABLE IF NOT EXISTS $1")
		stmts, err := c.Rewrite(create, known)
		if err != nil {
			t.Fatalf("%s: %v", r[0], err)
		}
		for _, st := range stmts {
			if err := s.Exec(ctx, st); err != nil {
				t.Fatalf("%s: %v\n%s", r[0], err, st)
			}
		}
	}
	names := known
	tables := 0
	for _, r := range query(t, s, "SELECT name FROM system.tables WHERE database = 'warehouse' AND engine LIKE '%MergeTree' AND name LIKE '%_local' ORDER BY name") {
		tables++
		got := queryString(t, s, "SELECT engine LIKE 'Replicated%', zookeeper_path, replica_name FROM system.replicas WHERE database = 'warehouse' AND table = '"+r[0]+"'")
		if want := "1\t/clickhouse/tables/1/warehouse/" + r[0] + "\tr1\n"; got != want {
			t.Errorf("%s: replica %q, want %q", r[0], got, want)
		}
		if !names[strings.TrimSuffix(r[0], LocalSuffix)] {
			t.Errorf("unexpected table %s", r[0])
		}
	}
	if tables < 8 {
		t.Errorf("%d replicated local tables, want one per table of the warehouse", tables)
	}
	// ZooKeeper's own client lists what the engine made there.
	out, err := osexec.Command("/usr/share/zookeeper/bin/zkCli.sh", "-server", fmt.Sprintf("%s:%d", zk.Host, zk.Port),
		"ls", "/clickhouse/tables/1/warehouse").CombinedOutput()
	if err != nil {
		t.Fatalf("zkCli: %v\n%s", err, out)
	}
	listed := regexp.MustCompile(`\[([a-z_, ]*)\]\s*$`).FindSubmatch(bytes.TrimSpace(out))
	if listed == nil || len(strings.Split(string(listed[1]), ", ")) != tables {
		t.Errorf("ZooKeeper lists under /clickhouse/tables/1/warehouse:\n%s\nwant the %d local tables", out, tables)
	}
}

// Writes on a cluster of three shards.
func TestClusterWrites(t *testing.T) {
	ctx := context.Background()
	nodes := clusterNodes(t, 3)
	c := Cluster{Name: "lh"}
	if _, err := MigrateCluster(ctx, dbs(nodes), c, nil); err != nil {
		t.Fatal(err)
	}
	// A batch written again under its token (a retry, a replay after a crash) is stored once:
	// the Distributed table passes the token to each shard with its part.
	t.Run("a batch under the same token through any node is stored once", func(t *testing.T) {
		insert := "INSERT INTO lead_updates (lead_id, callback_id) SETTINGS distributed_foreground_insert = 1, insert_deduplication_token = 'batch-1' VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e'), (6, 'f')"
		for range 2 {
			exec(t, nodes[0], insert)
		}
		exec(t, nodes[1], insert)
		for i, n := range nodes {
			if got := strings.TrimSpace(queryString(t, n, "SELECT count() FROM lead_updates_local")); got != "2" {
				t.Errorf("shard %d holds %s rows, want 2 (its part, once)", i+1, got)
			}
		}
	})
	// The raw bodies' TTL is the local tables', which hold the rows, on every node.
	t.Run("raw body retention is set on every node's local tables", func(t *testing.T) {
		changed, err := SetRetentionCluster(ctx, dbs(nodes), c, 365*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(changed) != "[lead_updates.raw dead_letters.body]" {
			t.Errorf("changed %v", changed)
		}
		for i, n := range nodes {
			for _, tb := range []string{"lead_updates_local", "dead_letters_local"} {
				if ttl, err := columnTTL(ctx, n, tb, map[string]string{"lead_updates_local": "raw", "dead_letters_local": "body"}[tb]); err != nil || ttl != "received_at + toIntervalSecond(31536000)" {
					t.Errorf("node %d %s: TTL %q, %v", i+1, tb, ttl, err)
				}
			}
		}
		if again, err := SetRetentionCluster(ctx, dbs(nodes), c, 365*24*time.Hour); err != nil || len(again) != 0 {
			t.Errorf("the same retention again changed %v, %v", again, err)
		}
	})
}
