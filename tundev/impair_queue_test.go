package tundev

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestDueQueuePopsByDueThenArrival(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	var q dueQueue
	const n = 1000
	for i := range n {
		// Few distinct due times, so that many packets tie.
		due := base.Add(time.Duration(rng.IntN(20)) * time.Millisecond)
		q.push(heldPacket{due: due, seq: uint64(i)})
	}
	if q.len() != n {
		t.Fatalf("len = %d after %d pushes", q.len(), n)
	}
	prev := q.pop()
	for q.len() > 0 {
		p := q.pop()
		if p.due.Before(prev.due) || (p.due.Equal(prev.due) && p.seq < prev.seq) {
			t.Fatalf("popped (%v, seq %d) after (%v, seq %d)", p.due.Sub(base), p.seq, prev.due.Sub(base), prev.seq)
		}
		prev = p
	}
}

func TestDueQueuePushPopAllocatesNothing(t *testing.T) {
	var q dueQueue
	base := time.Now()
	for i := range 64 {
		q.push(heldPacket{due: base.Add(time.Duration(i)), seq: uint64(i)})
	}
	for range 64 {
		q.pop()
	}
	seq := uint64(0)
	allocs := testing.AllocsPerRun(100, func() {
		for range 32 {
			q.push(heldPacket{due: base.Add(time.Duration(seq % 7)), seq: seq})
			seq++
		}
		for range 32 {
			q.pop()
		}
	})
	if allocs != 0 {
		t.Errorf("push and pop allocated %v times per run, want 0", allocs)
	}
}
