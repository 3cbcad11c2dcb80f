package loadgen

import (
	"context"
	"fmt"
	"testing"

	"github.com/leadhouse/leadhouse/gen"
)

// BenchmarkCeiling measures the harness ceiling: the same client and generated
// bodies as a real run, against an in-process server that acknowledges at once
// (both share this machine's CPUs).
func BenchmarkCeiling(b *testing.B) {
	g := gen.New(gen.Options{Seed: 1})
	bodies := make([][]byte, 1000)
	for i := range bodies {
		bodies[i] = g.Next(nil)
	}
	for _, conns := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			res, err := Run(context.Background(), Options{Ceiling: true, Conns: conns, Count: b.N, Bodies: bodies})
			if err != nil {
				b.Fatal(err)
			}
			if res.OK != int64(b.N) {
				b.Fatalf("%d of %d accepted: %s", res.OK, b.N, res)
			}
			b.ReportMetric(res.CallbacksPerSec(), "callbacks/s")
			b.ReportMetric(res.MBPerSec(), "MB/s")
			b.ReportMetric(float64(res.Latency.Quantile(0.99).Microseconds()), "p99-µs")
		})
	}
}
