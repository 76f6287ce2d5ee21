package control_test

import (
	"context"
	"testing"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/clitest"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
)

func TestMemstatsOp(t *testing.T) {
	path, _, _ := clitest.StartFakeControl(t, nil)
	m, err := control.FetchMemstats(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if m.HeapInuse == 0 || m.StackInuse == 0 || m.Goroutines == 0 || m.RSS == 0 {
		t.Errorf("memstats = %+v: want heap, stacks, goroutines and RSS", m)
	}
	if m.GoMemory() != m.HeapInuse+m.StackInuse {
		t.Errorf("GoMemory = %d", m.GoMemory())
	}
	// The fake backend is no engine: no census of states.
	if m.States != nil {
		t.Errorf("states from a fake backend: %v", m.States)
	}
}
