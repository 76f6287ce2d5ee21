package tundev

import "time"

// heldPacket is a packet an impaired direction holds until it is due.
type heldPacket struct {
	due time.Time
	seq uint64 // order of arrival: packets due at once leave in this order
	pkt []byte
}

// dueQueue is a binary min-heap of held packets by due time, then arrival.
// It is written out rather than built on container/heap so that pushing
// and popping a packet allocate nothing.
type dueQueue struct {
	items []heldPacket
}

func (q *dueQueue) len() int { return len(q.items) }

// peek returns the packet due first; the queue must not be empty.
func (q *dueQueue) peek() *heldPacket { return &q.items[0] }

func (q *dueQueue) push(p heldPacket) {
	q.items = append(q.items, p)
	i := len(q.items) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !q.before(i, parent) {
			break
		}
		q.items[i], q.items[parent] = q.items[parent], q.items[i]
		i = parent
	}
}

// pop removes and returns the packet due first; the queue must not be empty.
func (q *dueQueue) pop() heldPacket {
	first := q.items[0]
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items[last] = heldPacket{} // let the buffer go with the packet
	q.items = q.items[:last]
	i := 0
	for {
		smallest := i
		if left := 2*i + 1; left < len(q.items) && q.before(left, smallest) {
			smallest = left
		}
		if right := 2*i + 2; right < len(q.items) && q.before(right, smallest) {
			smallest = right
		}
		if smallest == i {
			return first
		}
		q.items[i], q.items[smallest] = q.items[smallest], q.items[i]
		i = smallest
	}
}

func (q *dueQueue) before(i, j int) bool {
	a, b := &q.items[i], &q.items[j]
	if !a.due.Equal(b.due) {
		return a.due.Before(b.due)
	}
	return a.seq < b.seq
}
