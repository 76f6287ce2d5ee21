package tcp

import (
	"math/rand"
	"testing"
	"time"
)

// firstLost, which starts from a remembered index, finds what a scan of
// the whole scoreboard finds, whatever the sequence of sends, ACKs, SACKs,
// losses and retransmissions.
func TestScoreboardFirstLostMatchesAFullScan(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var b scoreboard
	var una, nxt Seq = 1000, 1000
	now := time.Unix(0, 0)
	scan := func() *txSegment {
		for i := 0; i < b.len(); i++ {
			if s := b.at(i); s.lost {
				return s
			}
		}
		return nil
	}
	for step := 0; step < 20000; step++ {
		switch op := rng.Intn(6); {
		case op <= 1 && b.len() < 200:
			size := uint32(1 + rng.Intn(1460))
			b.add(nxt, nxt.Add(size), now)
			nxt = nxt.Add(size)
		case op == 2 && !b.empty():
			b.markLost(b.at(rng.Intn(b.len())))
		case op == 3 && !b.empty():
			una = b.at(rng.Intn(b.len())).start
			b.ackTo(una, func(*txSegment) {})
		case op == 4 && !b.empty():
			s := b.at(rng.Intn(b.len()))
			b.markSACKed([]SACKBlock{{s.start, s.end}}, una, nxt, func(*txSegment) {})
		case op == 5:
			if s := b.firstLost(); s != nil {
				b.retransmitted(s, now)
			}
		}
		if got, want := b.firstLost(), scan(); got != want {
			t.Fatalf("step %d: firstLost = %v, a full scan finds %v", step, got, want)
		}
	}
}
