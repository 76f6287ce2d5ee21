package main

import (
	"context"
	"testing"
)

func TestMemstatsOp(t *testing.T) {
	path, _, _ := startFakeControl(t, nil)
	m, err := requestMemstats(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if m.HeapInuse == 0 || m.StackInuse == 0 || m.Goroutines == 0 || m.RSS == 0 {
		t.Errorf("memstats = %+v: want heap, stacks, goroutines and RSS", m)
	}
	if m.goMemory() != m.HeapInuse+m.StackInuse {
		t.Errorf("goMemory = %d", m.goMemory())
	}
	// The fake backend is no engine: no census of states.
	if m.States != nil {
		t.Errorf("states from a fake backend: %v", m.States)
	}
}
