package stack

import (
	"container/heap"
	"math/bits"
	"time"
)

// timerWheel keeps every connection that has a timer running, keyed by its
// engine's Deadline, so the loop needs one Go timer for all of them. It is
// a hashed timing wheel (Varghese and Lauck): deadlines within the next
// wheelSlots*wheelTick fall into a slot by time, which makes scheduling,
// moving and cancelling O(1) — the common case, since retransmission,
// delayed-ACK and probe timers move on almost every segment. Deadlines
// further out (TIME-WAIT's 2MSL, keep-alive) wait in a heap and move into
// the wheel as it turns. A bitmap of non-empty slots finds the next
// deadline without walking empty ones.
//
// A Conn records where it is: timerSlot is its slot, onHeap for the heap,
// or notScheduled; timerIndex is its position there.
type timerWheel struct {
	slots  [wheelSlots][]*Conn
	used   [wheelSlots / 64]uint64 // bit i set: slots[i] is not empty
	far    farHeap
	origin int64 // tick number of the wheel's current position
	count  int
}

const (
	wheelTick  = time.Millisecond
	wheelSlots = 4096 // about 4 s of deadlines in the wheel

	notScheduled = -1
	onHeap       = -2
)

func tickOf(t time.Time) int64 { return t.UnixNano() / int64(wheelTick) }

// schedule puts c at deadline at, moves it, or takes it out when at is zero.
func (w *timerWheel) schedule(c *Conn, at time.Time) {
	if c.timerSlot != notScheduled {
		if at.Equal(c.timerAt) {
			return
		}
		w.remove(c)
	}
	if at.IsZero() {
		return
	}
	c.timerAt = at
	w.insert(c)
}

func (w *timerWheel) insert(c *Conn) {
	w.count++
	// origin never passes the loop's clock, so a deadline before it is
	// due and fires at the next popDue.
	tick := max(tickOf(c.timerAt), w.origin)
	if tick-w.origin >= wheelSlots {
		heap.Push(&w.far, c)
		return
	}
	slot := int(tick % wheelSlots)
	c.timerSlot, c.timerIndex = slot, len(w.slots[slot])
	w.slots[slot] = append(w.slots[slot], c)
	w.used[slot/64] |= 1 << (slot % 64)
}

func (w *timerWheel) remove(c *Conn) {
	w.count--
	if c.timerSlot == onHeap {
		heap.Remove(&w.far, c.timerIndex)
		c.timerSlot = notScheduled
		return
	}
	s := w.slots[c.timerSlot]
	last := len(s) - 1
	s[c.timerIndex] = s[last]
	s[c.timerIndex].timerIndex = c.timerIndex
	s[last] = nil
	w.slots[c.timerSlot] = s[:last]
	if last == 0 {
		w.used[c.timerSlot/64] &^= 1 << (c.timerSlot % 64)
	}
	c.timerSlot = notScheduled
}

// nextSlot is the first non-empty slot at or after the wheel's position,
// in wheel order, or -1.
func (w *timerWheel) nextSlot() int {
	start := int(w.origin % wheelSlots)
	for i := 0; i <= len(w.used); i++ {
		word := (start/64 + i) % len(w.used)
		bitsLeft := w.used[word]
		if i == 0 {
			bitsLeft &= ^uint64(0) << (start % 64)
		} else if i == len(w.used) {
			bitsLeft &= (1 << (start % 64)) - 1
		}
		if bitsLeft != 0 {
			return word*64 + bits.TrailingZeros64(bitsLeft)
		}
	}
	return -1
}

// next is the earliest deadline, zero if no timer runs.
func (w *timerWheel) next() time.Time {
	var at time.Time
	if slot := w.nextSlot(); slot >= 0 {
		for _, c := range w.slots[slot] {
			if at.IsZero() || c.timerAt.Before(at) {
				at = c.timerAt
			}
		}
	}
	if len(w.far) > 0 && (at.IsZero() || w.far[0].timerAt.Before(at)) {
		at = w.far[0].timerAt
	}
	return at
}

// popDue removes and returns every connection whose deadline is at or
// before now. Collecting them first means a connection whose deadline does
// not move after Tick fires again in the next loop iteration, not forever
// in this one.
func (w *timerWheel) popDue(now time.Time, due []*Conn) []*Conn {
	if w.count == 0 {
		w.origin = tickOf(now)
		return due
	}
	nowTick := tickOf(now)
	for w.origin <= nowTick {
		slot := w.nextSlot()
		if slot < 0 {
			w.origin = nowTick
			break
		}
		// Jump over empty slots: ticks from origin to the slot.
		w.origin += int64((slot - int(w.origin%wheelSlots) + wheelSlots) % wheelSlots)
		if w.origin > nowTick {
			w.origin = nowTick
			break
		}
		s := w.slots[slot]
		for i := 0; i < len(s); {
			if c := s[i]; !c.timerAt.After(now) {
				w.remove(c)
				due = append(due, c)
				s = w.slots[slot]
				continue
			}
			i++
		}
		if w.origin == nowTick {
			break
		}
		w.origin++
	}
	// Far deadlines that are now due or within the wheel's reach.
	for len(w.far) > 0 && tickOf(w.far[0].timerAt)-w.origin < wheelSlots {
		c := heap.Pop(&w.far).(*Conn)
		w.count--
		if !c.timerAt.After(now) {
			c.timerSlot = notScheduled
			due = append(due, c)
			continue
		}
		w.insert(c)
	}
	return due
}

// farHeap orders the deadlines beyond the wheel, earliest first.
type farHeap []*Conn

func (h farHeap) Len() int           { return len(h) }
func (h farHeap) Less(i, j int) bool { return h[i].timerAt.Before(h[j].timerAt) }
func (h farHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].timerIndex = i
	h[j].timerIndex = j
}

func (h *farHeap) Push(x any) {
	c := x.(*Conn)
	c.timerSlot, c.timerIndex = onHeap, len(*h)
	*h = append(*h, c)
}

func (h *farHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return c
}
