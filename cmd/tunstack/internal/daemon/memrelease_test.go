package daemon

import (
	"runtime"
	"testing"
)

func TestReleaseTrigger(t *testing.T) {
	const MiB = 1 << 20
	r := newReleaseTrigger(0)
	steps := []struct {
		inUse   int64
		release bool
	}{
		{100 * MiB, false}, // growing
		{120 * MiB, false},
		{110 * MiB, false}, // fell 10 MiB, still falling
		{100 * MiB, true},  // 20 MiB under the high
		{95 * MiB, false},  // 5 MiB more, still falling
		{95 * MiB, true},   // and settled: the closing is over
		{95 * MiB, false},  // nothing new
		{95*MiB - 1000, false},
		{95*MiB - 1000, false}, // settled, but less than releaseMin fell
	}
	for i, s := range steps {
		if _, got := r.observe(s.inUse); got != s.release {
			t.Errorf("step %d (%d MiB in use): release %v, want %v", i, s.inUse/MiB, got, s.release)
		}
	}
}

// The soft memory limit leaves room for the budget and everything that
// is not buffers, and never falls below what is live.
func TestMemoryLimitTarget(t *testing.T) {
	runtime.GC()
	var rt runtimeMemory
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	const budget = 128 << 20
	if got := rt.target(budget, 0); got < budget+int64(ms.HeapAlloc)/2+memorySlack {
		t.Errorf("target %d with no buffers in use: less than the budget, the live heap and the slack", got)
	}
	if got := rt.target(1<<20, 1<<30); got < 1<<30+memorySlack {
		t.Errorf("target %d with buffers over a small budget: below them", got)
	}
}

// The relays' buffers count: when a burst of gateway flows ends, the
// memory goes back though the stack's buffers never moved.
func TestReleaseWatchesRelayBuffers(t *testing.T) {
	const MiB = 1 << 20
	var relays int64
	w := memoryWatch{inUse: func() int64 { return 0 }, outside: func() int64 { return relays }}
	r := newReleaseTrigger(w.held(w.inUse()))
	for i, s := range []struct {
		relays  int64
		release bool
	}{
		{128 * MiB, false}, // 1,024 flows
		{128 * MiB, false},
		{0, true}, // they ended
		{0, false},
	} {
		relays = s.relays
		if _, got := r.observe(w.held(w.inUse())); got != s.release {
			t.Errorf("step %d (%d MiB in relays): release %v, want %v", i, s.relays/MiB, got, s.release)
		}
	}
	if got := (memoryWatch{inUse: w.inUse}).held(5); got != 5 {
		t.Errorf("held with nothing outside the budget = %d, want the buffers (5)", got)
	}
}
