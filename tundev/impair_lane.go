package tundev

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// ImpairCounters count what an impaired direction did to its packets.
// Every packet that entered is lost, overflowed, held, delivered or failed,
// and a duplicate counts as one more packet that entered:
//
//	Packets + Duplicated = Lost + Overflow + Held + Delivered + Failed
type ImpairCounters struct {
	Packets    uint64 // packets that entered the direction
	Lost       uint64 // dropped by the Loss draw
	Duplicated uint64 // copied by the Duplicate draw
	Reordered  uint64 // held back by the Reorder draw
	Overflow   uint64 // dropped because Limit packets were held already
	Held       uint64 // held now: waiting to be due, or being written
	Delivered  uint64 // returned by Read, or written to the device
	Failed     uint64 // not handed on: the inner Write failed, or Read's buffer was too small
}

// lane is one direction of an impaired link: it decides each packet's fate
// as it arrives and holds the survivors, in order of due time, until they
// are released.
type lane struct {
	imp   Impairment
	clock impairClock
	limit int
	wake  chan struct{} // signalled when a packet is held; capacity 1

	mu      sync.Mutex
	rng     *rand.Rand
	queue   dueQueue
	seq     uint64
	lastDue time.Time // of the latest packet not held back by Reorder
	free    [][]byte  // buffers of released packets, for reuse
	writing int       // released packets the transmit goroutine is writing

	packets, lost, duplicated, reordered, overflow, delivered, failed atomic.Uint64
}

func newLane(imp Impairment, clock impairClock, seed, stream uint64, limit int) *lane {
	return &lane{
		imp:   imp,
		clock: clock,
		limit: limit,
		wake:  make(chan struct{}, 1),
		rng:   rand.New(rand.NewPCG(seed, stream)),
	}
}

// admit decides the fate of pkt, copying it into the queue unless it is
// lost. It does not keep pkt.
func (l *lane) admit(pkt []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Counted once its fate is settled, so that a reader of the counters
	// who sees the packet counted sees it queued too.
	defer l.packets.Add(1)
	if l.draw(l.imp.Loss) {
		l.lost.Add(1)
		return
	}
	copies := 1
	if l.draw(l.imp.Duplicate) {
		copies = 2
		l.duplicated.Add(1)
	}
	due := l.clock.Now().Add(l.delay())
	// Jitter must not reorder: a packet is due no sooner than the one
	// before it.
	if due.Before(l.lastDue) {
		due = l.lastDue
	}
	if l.draw(l.imp.Reorder) {
		l.reordered.Add(1)
		due = due.Add(l.imp.hold())
	} else {
		l.lastDue = due
	}
	for range copies {
		if l.queue.len() >= l.limit {
			l.overflow.Add(1)
			continue
		}
		l.queue.push(heldPacket{due: due, seq: l.seq, pkt: l.copyOf(pkt)})
		l.seq++
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// draw reports true with the given percent probability. It draws nothing
// when the percentage is zero, so an impairment left out costs nothing.
func (l *lane) draw(percent float64) bool {
	return percent > 0 && l.rng.Float64()*100 < percent
}

// delay draws one packet's delay: Delay, plus or minus up to Jitter.
func (l *lane) delay() time.Duration {
	d := l.imp.Delay
	if j := l.imp.Jitter; j > 0 {
		d += time.Duration(l.rng.Int64N(int64(2*j)+1)) - j
	}
	return max(d, 0)
}

// copyOf returns pkt in a buffer of its own, reusing a released one.
func (l *lane) copyOf(pkt []byte) []byte {
	var buf []byte
	if n := len(l.free); n > 0 {
		buf = l.free[n-1]
		l.free[n-1] = nil
		l.free = l.free[:n-1]
	}
	if cap(buf) < len(pkt) {
		buf = make([]byte, len(pkt), max(len(pkt), 2048))
	}
	buf = buf[:len(pkt)]
	copy(buf, pkt)
	return buf
}

// due returns the first held packet if it is due at now, without
// removing it. The caller holds mu.
func (l *lane) due(now time.Time) ([]byte, bool) {
	if l.queue.len() == 0 || l.queue.peek().due.After(now) {
		return nil, false
	}
	return l.queue.peek().pkt, true
}

// release removes the first held packet, which due returned and the caller
// has copied, and keeps its buffer for reuse. The caller holds mu.
func (l *lane) release() {
	buf := l.queue.pop().pkt
	if len(l.free) < l.limit {
		l.free = append(l.free, buf)
	}
}

// nextDue is when the first held packet is due; ok is false when none is
// held.
func (l *lane) nextDue() (due time.Time, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.queue.len() == 0 {
		return time.Time{}, false
	}
	return l.queue.peek().due, true
}

// arm points timer at the next due packet, or stops it when none is held.
func (l *lane) arm(timer impairTimer) {
	if due, ok := l.nextDue(); ok {
		timer.ResetAt(due)
	} else {
		timer.Stop()
	}
}

func (l *lane) counters() ImpairCounters {
	l.mu.Lock()
	held := l.queue.len() + l.writing
	l.mu.Unlock()
	return ImpairCounters{
		Packets:    l.packets.Load(),
		Lost:       l.lost.Load(),
		Duplicated: l.duplicated.Load(),
		Reordered:  l.reordered.Load(),
		Overflow:   l.overflow.Load(),
		Held:       uint64(held),
		Delivered:  l.delivered.Load(),
		Failed:     l.failed.Load(),
	}
}
