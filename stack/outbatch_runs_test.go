package stack

import (
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
)

// The first segment of each run of one flow gets a large buffer, for GRO
// to coalesce the run into; the others, and the runs past the batch's
// bound, get medium ones.
func TestOutBatchRunsTakeOneLargeBuffer(t *testing.T) {
	o := &outBatch{size: Headroom + maxPacket}
	seg := func(port uint16, psh bool) *tcp.Segment {
		s := &tcp.Segment{SrcPort: 7, DstPort: port, Payload: make([]byte, 1460)}
		if psh {
			s.Flags = tcp.FlagPSH
		}
		return s
	}
	var large, medium int
	send := func(s *tcp.Segment) {
		need := 120 + len(s.Payload)
		o.runs.add(stackAddr4, peerAddr4, s, need, o.size)
		b := o.next(need)
		switch {
		case cap(b) >= o.size:
			large++
		case cap(b) == Headroom+mediumPacket:
			medium++
		default:
			t.Fatalf("a %d-byte segment got a %d-byte buffer", need, cap(b))
		}
		o.commit(need)
	}
	// One bulk flow: 100 segments fill three 64 KiB buffers (44 in each).
	for range 100 {
		send(seg(40000, false))
	}
	if large != 3 || medium != 97 {
		t.Errorf("one flow's 100 segments: %d large and %d medium buffers, want 3 and 97", large, medium)
	}
	// A PSH ends a run: GRO does not coalesce past it.
	o.reset()
	large, medium = 0, 0
	send(seg(40000, true))
	send(seg(40000, false))
	if large != 2 {
		t.Errorf("a segment after a PSH got no large buffer of its own (%d large)", large)
	}
	// Many flows, one segment each: 16 large buffers, then medium ones.
	o.reset()
	large, medium = 0, 0
	for port := range uint16(100) {
		send(seg(30000+port, false))
	}
	if large != maxRunHeads || medium != 100-maxRunHeads {
		t.Errorf("100 flows: %d large and %d medium buffers, want %d and %d", large, medium, maxRunHeads, 100-maxRunHeads)
	}
}
