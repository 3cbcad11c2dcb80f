//go:build unix

package server

import (
	"syscall"
	"time"
)

// processCPU is the CPU time used by this process so far. The benchmarks divide it by their
// iterations because on a busy shared machine wall time mostly measures waiting for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
