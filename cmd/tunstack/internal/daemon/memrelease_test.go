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
