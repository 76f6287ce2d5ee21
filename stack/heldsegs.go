package stack

import (
	"container/heap"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// heldSegment is a segment a fault holds (latency, bandwidth, reorder,
// delay_synack, slow_close, slicer): an inbound one as the engine will
// see it, an outbound one serialized, as it will leave.
type heldSegment struct {
	at      time.Time
	order   uint64 // segments due at once leave in the order they came
	inbound bool
	id      tcp.ID
	seg     tcp.Segment // inbound
	pkt     []byte      // outbound: the IP packet
	flags   tcp.Flags
	why     tcp.Reason
	detail  string
	size    int
	payload int // outbound: the segment's payload octets, for the counters
}

// maxHeldBytes bounds what faults hold at once: a bandwidth fault below
// what the engine sends would otherwise queue without bound. Beyond it, a
// segment is dropped, as a router's full queue does.
const maxHeldBytes = 32 << 20

// heldQueue is the held segments, earliest first. Loop-owned.
type heldQueue struct {
	items heldHeap
	bytes int
	order uint64
}

func (q *heldQueue) push(h *heldSegment) bool {
	if q.bytes+h.size > maxHeldBytes {
		return false
	}
	q.order++
	h.order = q.order
	q.bytes += h.size
	heap.Push(&q.items, h)
	return true
}

// popDue removes and returns the earliest segment due at now, or nil.
func (q *heldQueue) popDue(now time.Time) *heldSegment {
	if len(q.items) == 0 || q.items[0].at.After(now) {
		return nil
	}
	h := heap.Pop(&q.items).(*heldSegment)
	q.bytes -= h.size
	return h
}

// next is when the earliest is due; zero if none.
func (q *heldQueue) next() time.Time {
	if len(q.items) == 0 {
		return time.Time{}
	}
	return q.items[0].at
}

type heldHeap []*heldSegment

func (h heldHeap) Len() int { return len(h) }
func (h heldHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].order < h[j].order
	}
	return h[i].at.Before(h[j].at)
}
func (h heldHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *heldHeap) Push(x any)   { *h = append(*h, x.(*heldSegment)) }
func (h *heldHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return x
}
