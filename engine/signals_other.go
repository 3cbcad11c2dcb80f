//go:build !(linux && (amd64 || arm64))

package engine

import "syscall"

// signalState is empty where the kernel sigaction layout is not known; there
// the engine relies on chdb_set_signal_handlers_enabled(0) alone.
type signalState struct{}

func saveSignals() signalState { return signalState{} }

func (signalState) restore() []syscall.Signal { return nil }
