package stack

import (
	"math/rand"
	"sort"
	"testing"
	"time"
)

func newTimerConn() *Conn { return &Conn{timerSlot: notScheduled} }

// TestTimerWheelAgainstReference schedules, moves and cancels deadlines at
// random, near and far, and checks next and popDue against a plain map.
func TestTimerWheelAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	var w timerWheel
	conns := make([]*Conn, 300)
	for i := range conns {
		conns[i] = newTimerConn()
	}
	want := map[*Conn]time.Time{}
	now := time.Unix(1_700_000_000, 0)
	var due []*Conn
	for step := 0; step < 20000; step++ {
		c := conns[rng.Intn(len(conns))]
		switch rng.Intn(4) {
		case 0: // cancel
			w.schedule(c, time.Time{})
			delete(want, c)
		default: // schedule or move: mostly near, sometimes beyond the wheel
			d := time.Duration(rng.Intn(500)) * time.Millisecond
			if rng.Intn(10) == 0 {
				d = time.Duration(rng.Intn(120)) * time.Second
			}
			at := now.Add(d + time.Duration(rng.Intn(1000))*time.Microsecond)
			w.schedule(c, at)
			want[c] = at
		}
		if rng.Intn(5) == 0 {
			now = now.Add(time.Duration(rng.Intn(300)) * time.Millisecond)
			due = w.popDue(now, due[:0])
			var wantDue []*Conn
			for c, at := range want {
				if !at.After(now) {
					wantDue = append(wantDue, c)
					delete(want, c)
				}
			}
			if len(due) != len(wantDue) {
				t.Fatalf("step %d: %d due, want %d", step, len(due), len(wantDue))
			}
		}
		var earliest time.Time
		for _, at := range want {
			if earliest.IsZero() || at.Before(earliest) {
				earliest = at
			}
		}
		if got := w.next(); !got.Equal(earliest) {
			t.Fatalf("step %d: next %v, want %v", step, got, earliest)
		}
	}
	if w.count != len(want) {
		t.Fatalf("count %d, want %d", w.count, len(want))
	}
}

func TestTimerWheelPopsInOrderOfTime(t *testing.T) {
	var w timerWheel
	now := time.Unix(1_700_000_000, 0)
	w.popDue(now, nil)
	for _, d := range []time.Duration{5 * time.Second, 3 * time.Millisecond, 60 * time.Second, 1 * time.Millisecond} {
		w.schedule(newTimerConn(), now.Add(d))
	}
	var fired []time.Duration
	for len(fired) < 4 {
		next := w.next()
		for _, c := range w.popDue(next, nil) {
			fired = append(fired, c.timerAt.Sub(now))
		}
	}
	if !sort.SliceIsSorted(fired, func(i, j int) bool { return fired[i] < fired[j] }) {
		t.Fatalf("fired in order %v", fired)
	}
}

func BenchmarkTimerWheelReschedule(b *testing.B) {
	var w timerWheel
	now := time.Unix(1_700_000_000, 0)
	w.popDue(now, nil)
	conns := make([]*Conn, 10000)
	for i := range conns {
		conns[i] = newTimerConn()
		w.schedule(conns[i], now.Add(time.Duration(i%400)*time.Millisecond))
	}
	var due []*Conn
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := conns[i%len(conns)]
		w.schedule(c, now.Add(time.Duration(200+i%300)*time.Millisecond))
		if i%1000 == 0 {
			now = now.Add(time.Millisecond)
			due = w.popDue(now, due[:0])
			for _, c := range due {
				w.schedule(c, now.Add(300*time.Millisecond))
			}
		}
	}
}
