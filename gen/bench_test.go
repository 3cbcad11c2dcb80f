package gen

import "testing"

// BenchmarkNext reports generation throughput; payloads/s is the figure a load
// generator feeding 50k callbacks/s needs to beat.
func BenchmarkNext(b *testing.B) {
	g := New(Options{Seed: 1})
	buf := make([]byte, 0, 256<<10)
	var total int64
	b.ReportAllocs()
	for b.Loop() {
		buf = g.Next(buf[:0])
		total += int64(len(buf))
	}
	b.SetBytes(total / int64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payloads/s")
}
