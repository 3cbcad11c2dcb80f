//go:build unix

package flatten_test

import (
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time this process has used. Benchmarks report it per operation beside
// wall time because on a shared machine wall time also counts the time spent waiting for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ns/op and callbacks/cpu-s (callbacks per second of one core) to b.
func reportCPU(b *testing.B, start time.Duration) {
	cpu := processCPU() - start
	if cpu <= 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "callbacks/cpu-s")
}
