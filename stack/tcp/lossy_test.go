package tcp

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"
)

// lossyLink carries segments between two engines with a one-way delay,
// dropping, duplicating and reordering some, all on the virtual clock.
type lossyLink struct {
	rng                *rand.Rand
	delay              time.Duration
	loss, dup, reorder float64
	inFlight           []flight
	// seen, if set, sees every segment sent, before the link decides
	// its fate.
	seen func(from *harness, s *Segment)
}

type flight struct {
	at  time.Time
	seg Segment
	to  *harness
}

func (l *lossyLink) carry(from, to *harness, now time.Time) {
	for _, s := range from.out {
		if l.seen != nil {
			l.seen(from, &s.Segment)
		}
		if l.rng.Float64() < l.loss {
			continue
		}
		at := now.Add(l.delay)
		if l.rng.Float64() < l.reorder {
			at = at.Add(time.Duration(l.rng.Intn(10)+1) * time.Millisecond)
		}
		l.inFlight = append(l.inFlight, flight{at, s.Segment, to})
		if l.rng.Float64() < l.dup {
			l.inFlight = append(l.inFlight, flight{at.Add(time.Millisecond), s.Segment, to})
		}
	}
	from.out = nil
}

// run plays the two engines against each other until done says so or
// the virtual deadline passes.
func (l *lossyLink) run(t *testing.T, a, b *harness, limit time.Duration, step func(), done func() bool) time.Duration {
	t.Helper()
	start := a.now
	for now := a.now; now.Sub(start) < limit; {
		step()
		l.carry(a, b, now)
		l.carry(b, a, now)
		if done() {
			return now.Sub(start)
		}
		// Next event: a delivery or a timer.
		next := now.Add(time.Second)
		for _, f := range l.inFlight {
			if f.at.Before(next) {
				next = f.at
			}
		}
		for _, h := range []*harness{a, b} {
			if d := h.c.Deadline(); !d.IsZero() && d.Before(next) {
				next = d
			}
		}
		if next.Before(now) {
			next = now
		}
		now = next
		a.now, b.now = now, now
		sort.SliceStable(l.inFlight, func(i, j int) bool { return l.inFlight[i].at.Before(l.inFlight[j].at) })
		var keep []flight
		for _, f := range l.inFlight {
			if !f.at.After(now) {
				f.to.c.Input(now, &f.seg)
			} else {
				keep = append(keep, f)
			}
		}
		l.inFlight = keep
		for _, h := range []*harness{a, b} {
			if d := h.c.Deadline(); !d.IsZero() && !d.After(now) {
				h.c.Tick(now)
			}
		}
	}
	t.Fatalf("not done after %v of virtual time: a %+v\nb %+v", limit, a.c.Status(), b.c.Status())
	return 0
}

func TestTransferUnderImpairment(t *testing.T) {
	for _, cc := range []CongestionControl{CUBIC, NewReno} {
		for _, sack := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/sack=%v", cc, sack), func(t *testing.T) {
				ca, cb := testConfig(), testConfig()
				ca.Congestion, cb.Congestion = cc, cc
				ca.DisableSACK = !sack
				a, b := pair(t, ca, cb)
				link := &lossyLink{rng: rand.New(rand.NewSource(42)), delay: 20 * time.Millisecond, loss: 0.02, dup: 0.01, reorder: 0.01}
				payload := make([]byte, 1<<20)
				rand.New(rand.NewSource(1)).Read(payload)
				x := newExchange(payload)
				elapsed := link.run(t, a, b, 10*time.Minute, func() { x.step(a, b) }, x.done)
				if !x.intact() {
					t.Fatal("data corrupted under impairment")
				}
				st := a.c.Status()
				t.Logf("1 MiB each way in %v of virtual time, %d retransmissions", elapsed, st.Retransmits)
			})
		}
	}
}
