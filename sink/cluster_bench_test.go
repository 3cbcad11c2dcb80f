package sink_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/leadhouse/leadhouse/engine"
	"github.com/leadhouse/leadhouse/engine/enginetest"
	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink"
	"github.com/leadhouse/leadhouse/sink/clickhouse"
	"github.com/leadhouse/leadhouse/sql"
)

// BenchmarkClusterInsert compares the two ways of writing a generation to a three-shard cluster
// (1,000 callbacks, every table, a fresh token each time, every insert at once as the flusher
// runs them):
//
//	distributed  one insert per table into the Distributed table of the first node, which
//	             splits the block by lead_id and sends each shard its part before it answers
//	             (distributed_foreground_insert = 1, what leadhouse does)
//	routed       the rows split by lead_id in this process, as the Distributed table would, and
//	             one insert per table and shard into that shard's local table, the shards at once
//
// engine-µs/callback is the CPU of the three engine processes together, go-µs/callback this
// process's. The split is done before the loop: a routing pipeline would build per-shard batches
// as the rows arrive, at about no cost.
func BenchmarkClusterInsert(b *testing.B) {
	const shards, callbacks = 3, 1000
	sups := enginetest.StartCluster(b, "lh", shards)
	ctx := context.Background()
	var nodes []*clickhouse.Store
	var dbs []sql.DB
	for _, sup := range sups {
		s, err := clickhouse.New(clickhouse.Options{Addr: []string{sup.HTTPAddr()}, Database: "bench", Username: engine.User,
			Password: sup.Password(), Settings: map[string]string{"distributed_foreground_insert": "1"}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		if err := s.CreateDatabase(ctx); err != nil {
			b.Fatal(err)
		}
		nodes, dbs = append(nodes, s), append(dbs, s)
	}
	if _, err := sql.MigrateCluster(ctx, dbs, sql.Cluster{Name: "lh"}, nil); err != nil {
		b.Fatal(err)
	}
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	all := map[*schema.Table]*array.RecordBuilder{}
	per := make([]map[*schema.Table]*array.RecordBuilder, shards)
	for i := range per {
		per[i] = map[*schema.Table]*array.RecordBuilder{}
	}
	for i := range callbacks {
		r, err := flatten.Flatten(fixture(b, 7_000_000+i), at)
		if err != nil {
			b.Fatal(err)
		}
		appendRows(all, r)
		// Distributed(..., lead_id) over shards of weight 1: shard lead_id % 3.
		appendRows(per[r.Lead.LeadID%shards], r)
	}
	type part struct {
		t   *schema.Table
		rec arrow.RecordBatch
	}
	records := func(m map[*schema.Table]*array.RecordBuilder) []part {
		var out []part
		for _, t := range schema.RowTables() {
			if rb := m[t]; rb != nil {
				rec := rb.NewRecordBatch()
				b.Cleanup(rec.Release)
				out = append(out, part{t, rec})
			}
		}
		return out
	}
	whole := records(all)
	routed := make([][]part, shards)
	for i := range routed {
		routed[i] = records(per[i])
		for j := range routed[i] {
			local := *routed[i][j].t
			local.Name += sql.LocalSuffix
			routed[i][j].t = &local
		}
	}

	run := func(b *testing.B, write func(i int) error) {
		var pids []int
		for _, sup := range sups {
			pids = append(pids, sup.PID())
		}
		engineCPU := func() time.Duration {
			var d time.Duration
			for _, p := range pids {
				d += enginetest.ProcessCPU(p)
			}
			return d
		}
		self0, engine0 := enginetest.ProcessCPU(os.Getpid()), engineCPU()
		i := 0
		for b.Loop() {
			i++
			if err := write(i); err != nil {
				b.Fatal(err)
			}
		}
		n := float64(callbacks * b.N)
		b.ReportMetric(n/b.Elapsed().Seconds(), "callbacks/s")
		b.ReportMetric(float64((enginetest.ProcessCPU(os.Getpid())-self0).Microseconds())/n, "go-µs/callback")
		b.ReportMetric(float64((engineCPU()-engine0).Microseconds())/n, "engine-µs/callback")
	}
	// Every insert of a generation at once, as the pipeline's flusher runs a table per connection.
	parallel := func(i int, stores []*clickhouse.Store, parts [][]part) error {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var first error
		for s, ps := range parts {
			for _, p := range ps {
				wg.Go(func() {
					err := stores[s].Insert(ctx, p.t, sink.Batch{Chunks: []arrow.RecordBatch{p.rec}}, fmt.Sprintf("%s-%d", p.t.Name, i))
					mu.Lock()
					defer mu.Unlock()
					if err != nil && first == nil {
						first = err
					}
				})
			}
		}
		wg.Wait()
		return first
	}
	b.Run("distributed", func(b *testing.B) {
		run(b, func(i int) error { return parallel(i, nodes[:1], [][]part{whole}) })
	})
	b.Run("routed", func(b *testing.B) {
		run(b, func(i int) error { return parallel(i, nodes, routed) })
	})
}
