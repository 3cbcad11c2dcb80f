//go:build linux && (amd64 || arm64)

package engine

import (
	"syscall"
	"unsafe"
)

// kernelSigaction is the kernel's struct sigaction on amd64 and arm64, which
// differs from libc's: the mask is one 64-bit word and comes last.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// guardedSignals are the signals whose Go handlers chDB may reset to SIG_DFL
// when its own handlers are switched off (upstream resets exactly these). A
// Go runtime without them turns a nil dereference into a silent kernel kill,
// or into a hang while a chDB handler is installed.
var guardedSignals = []syscall.Signal{
	syscall.SIGABRT, syscall.SIGSEGV, syscall.SIGILL, syscall.SIGBUS,
	syscall.SIGSYS, syscall.SIGFPE, syscall.SIGTSTP, syscall.SIGTRAP,
}

// signalState holds the dispositions of guardedSignals at one moment.
type signalState []kernelSigaction

// saveSignals reads the current dispositions of guardedSignals. It talks to
// the kernel directly because os/signal cannot express "whatever the Go
// runtime installed".
func saveSignals() signalState {
	s := make(signalState, len(guardedSignals))
	for i, sig := range guardedSignals {
		rtSigaction(sig, nil, &s[i])
	}
	return s
}

// restore puts back every disposition that changed since s was saved and
// reports which signals it had to restore.
func (s signalState) restore() []syscall.Signal {
	var restored []syscall.Signal
	for i, sig := range guardedSignals {
		var cur kernelSigaction
		rtSigaction(sig, nil, &cur)
		if cur != s[i] {
			rtSigaction(sig, &s[i], nil)
			restored = append(restored, sig)
		}
	}
	return restored
}

func rtSigaction(sig syscall.Signal, act, old *kernelSigaction) {
	// The last argument is sizeof(sigset_t) as the kernel sees it: 8 bytes.
	// Errors are impossible for these valid, catchable signals.
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
}
