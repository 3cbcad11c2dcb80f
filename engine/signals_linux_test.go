//go:build linux && (amd64 || arm64)

package engine

import (
	"slices"
	"syscall"
	"testing"
)

func TestSignalRestoreUndoesForeignDisposition(t *testing.T) {
	saved := saveSignals()
	// SIGSYS stands in for the signals chDB resets: nothing in a test raises
	// it, so the moment it spends ignored is harmless.
	const sigIgn = 1
	rtSigaction(syscall.SIGSYS, &kernelSigaction{handler: sigIgn}, nil)
	restored := saved.restore()
	if !slices.Equal(restored, []syscall.Signal{syscall.SIGSYS}) {
		t.Errorf("restore() = %v, want [SIGSYS]", restored)
	}
	if again := saveSignals(); !slices.Equal(again, saved) {
		t.Errorf("dispositions after restore differ from saved:\n%+v\n%+v", again, saved)
	}
	if restored := saved.restore(); len(restored) != 0 {
		t.Errorf("second restore() = %v, want nothing to restore", restored)
	}
}

func TestGoOwnsGuardedSignals(t *testing.T) {
	// The Go runtime installs a handler for every guarded signal but
	// SIGTSTP, which it leaves at SIG_DFL until signal.Notify asks for it; if
	// this fails, saving them protects nothing.
	for i, sa := range saveSignals() {
		if guardedSignals[i] == syscall.SIGTSTP {
			continue
		}
		if sa.handler == 0 || sa.handler == 1 {
			t.Errorf("%v has disposition %d, want the Go runtime's handler", guardedSignals[i], sa.handler)
		}
	}
}
