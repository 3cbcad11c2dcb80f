package erasure_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/engine/enginetest"
	"github.com/leadhouse/leadhouse/erasure"
	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
	"github.com/leadhouse/leadhouse/sql"
)

// TestForgetOnAClusterDeletesFromEveryShard: on a cluster the tables are Distributed, which take
// no mutation; Forget deletes from every node's local tables, whichever shard holds the lead, and
// leaves the other leads on every shard alone.
func TestForgetOnAClusterDeletesFromEveryShard(t *testing.T) {
	ctx := context.Background()
	sups := enginetest.StartCluster(t, "lh", 2)
	var nodes []*clickhouse.Store
	var dbs []sql.DB
	var shards []erasure.DB
	for _, sup := range sups {
		s, err := clickhouse.New(clickhouse.Options{Addr: []string{sup.HTTPAddr()}, Database: "warehouse", Username: engine.User,
			Password: sup.Password(), Settings: map[string]string{"distributed_foreground_insert": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.CreateDatabase(ctx); err != nil {
			t.Fatal(err)
		}
		nodes, dbs, shards = append(nodes, s), append(dbs, s), append(shards, s)
	}
	if _, err := sql.MigrateCluster(ctx, dbs, sql.Cluster{Name: "lh"}, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	walDir := filepath.Join(dir, "wal")
	// Lead ids of both parities: sharded by lead_id over two shards, each lead is on another one.
	serve(t, nodes[0], walDir, [][]byte{
		sample(t, "1402361", "+919999999988"), sample(t, "1500000", "+91 99999-99988"),
		sample(t, "77", "+918888888888"), sample(t, "78", "+917777777777"),
	}, nil)
	leadsOn := func(n *clickhouse.Store) string {
		return queryString(t, n, "SELECT arrayStringConcat(arraySort(groupUniqArray(toString(lead_id))), ' ') FROM lead_updates_local")
	}
	if a, b := leadsOn(nodes[0]), leadsOn(nodes[1]); a != "1500000 78" || b != "1402361 77" {
		t.Fatalf("leads by shard %q and %q: not one forgotten lead on each", a, b)
	}

	f := &erasure.Forgetter{
		DB:     nodes[1],
		Shards: erasure.Shards{Nodes: shards, Suffix: sql.LocalSuffix},
		Store:  erasure.NewStore(filepath.Join(dir, "erasure")),
		WALDir: walDir,
		Decode: flatten.New().Flatten,
	}
	rep, err := f.Forget(ctx, erasure.Request{LeadID: 1402361, Phone: "+919999999988", By: "dpo@example"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Leads) != 2 || rep.Removed["lead_updates"] != 2 || rep.Removed["notes"] != 14 {
		t.Errorf("report: leads %+v, removed %s", rep.Leads, rep.Removed.JSON())
	}
	for i, n := range nodes {
		for _, tb := range schema.Tables() {
			if _, ok := tb.ColumnIndex("lead_id"); !ok || tb == schema.Erasures {
				continue
			}
			if got := queryString(t, n, "SELECT count() FROM "+tb.Name+sql.LocalSuffix+" WHERE lead_id IN (1402361, 1500000)"); got != "0" {
				t.Errorf("node %d: %s%s still holds %s rows of the forgotten leads", i+1, tb.Name, sql.LocalSuffix, got)
			}
		}
	}
	if a, b := leadsOn(nodes[0]), leadsOn(nodes[1]); a != "78" || b != "77" {
		t.Errorf("leads left by shard %q and %q, want 78 and 77", a, b)
	}
	// The scenario counts, aggregated per shard, are counted again on every shard without them.
	if got := queryString(t, nodes[0], "SELECT scenario, sum(callbacks), sum(leads) FROM scenario_counts GROUP BY scenario"); got != "sales_booking_done\t2\t2" {
		t.Errorf("scenario counts after Forget: %q, want leads 77 and 78 alone", got)
	}
	for i, n := range nodes {
		if got := queryString(t, n, "SELECT count() FROM leads_state_local WHERE lead_id IN (1402361, 1500000)"); got != "0" {
			t.Errorf("node %d: leads_state_local still holds %s rows of the forgotten leads", i+1, got)
		}
	}
	if got := queryString(t, nodes[0], "SELECT count() FROM erasures"); got != "2" {
		t.Errorf("the cluster's audit has %s rows, want 2", got)
	}
}
