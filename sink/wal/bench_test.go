package wal

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend measures Append of 7 KB callbacks from 1, 8 and 64 concurrent appenders under
// each sync mode. ns/op is wall time per record across all appenders (its inverse is
// throughput); latency-ns is how long one Append call took on average.
func BenchmarkAppend(b *testing.B) {
	body := make([]byte, 7<<10)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	for _, mode := range []SyncMode{SyncAlways, SyncInterval} {
		for _, appenders := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/appenders=%d", mode, appenders), func(b *testing.B) {
				l, err := Open(Options{Dir: b.TempDir(), Sync: mode, MaxBytes: 1 << 62})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				ctx := context.Background()
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				var next, latency atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for range appenders {
					wg.Go(func() {
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							start := time.Now()
							p, err := l.Append(ctx, Record{ReceivedAt: start, Remote: testRemote, Body: body})
							latency.Add(int64(time.Since(start)))
							if err != nil {
								b.Error(err)
								return
							}
							// Keep the disk footprint bounded as the pipeline would.
							if i%4096 == 0 {
								if err := l.Commit(p); err != nil {
									b.Error(err)
									return
								}
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				s := l.Stats()
				b.ReportMetric(float64(latency.Load())/float64(b.N), "latency-ns")
				b.ReportMetric(float64(s.Fsyncs)/float64(b.N), "fsyncs/op")
			})
		}
	}
}
