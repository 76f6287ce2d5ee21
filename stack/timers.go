package stack

import (
	"container/heap"
	"time"
)

// timerHeap orders the connections that have a timer running by their
// engine's Deadline, earliest first, so the loop needs one Go timer for all
// of them. Each Conn remembers its index; -1 means not in the heap.
type timerHeap []*Conn

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].timerAt.Before(h[j].timerAt) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].timerIndex = i
	h[j].timerIndex = j
}

func (h *timerHeap) Push(x any) {
	c := x.(*Conn)
	c.timerIndex = len(*h)
	*h = append(*h, c)
}

func (h *timerHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	c.timerIndex = -1
	return c
}

// schedule puts c in the heap at its deadline, moves it, or takes it out
// when at is zero.
func (h *timerHeap) schedule(c *Conn, at time.Time) {
	switch {
	case at.IsZero():
		if c.timerIndex >= 0 {
			heap.Remove(h, c.timerIndex)
		}
	case c.timerIndex < 0:
		c.timerAt = at
		heap.Push(h, c)
	case !at.Equal(c.timerAt):
		c.timerAt = at
		heap.Fix(h, c.timerIndex)
	}
}

// next is the earliest deadline, zero if no timer runs.
func (h timerHeap) next() time.Time {
	if len(h) == 0 {
		return time.Time{}
	}
	return h[0].timerAt
}

// popDue removes and returns every connection whose deadline is at or
// before now. Collecting them first means a connection whose deadline does
// not move after Tick fires again in the next loop iteration, not forever
// in this one.
func (h *timerHeap) popDue(now time.Time, due []*Conn) []*Conn {
	for len(*h) > 0 && !(*h)[0].timerAt.After(now) {
		due = append(due, heap.Pop(h).(*Conn))
	}
	return due
}
