package stack

import (
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// outBatchLimit is how many packets one link.Write carries at most:
// wireguard-go's ideal batch.
const outBatchLimit = 128

// outBatch collects the packets of one loop iteration for one link.Write.
// Its buffers are kept and reused; packet i is bufs[i][Headroom:].
//
// Buffers come in three sizes. A packet with little payload (a SYN-ACK, an
// ACK, a FIN, a short reply) gets a small one. The first segment with data
// of a run of one flow's segments gets a whole 64 KiB one (size):
// wireguard-go's GRO coalesces the run into that buffer, so that a burst
// crosses to the kernel in one write. The other segments of the run get a
// medium one, a segment's size (outbatch_runs.go). Small and medium
// packets are never coalesced into, and many connections' worth of them
// must not pin 64 KiB each: 8 batches of 128 would be 64 MiB.
type outBatch struct {
	size                 int // capacity of a large buffer, Headroom included
	bufs                 [][]byte
	n                    int
	small, medium, large [][]byte // spare buffers of each size
	runs                 runTracker
	// flood counts the SYN-ACKs of SYN cookies in the batch, sent only
	// while a listener is flooded; heldSince is when a batch of nothing
	// else was first left for more to join (writer.go, holdFloodAnswers).
	flood     int
	heldSince time.Time
}

// smallPacket is the largest packet, headers included, that gets a small
// buffer.
const smallPacket = 512

// next returns the buffer for the next packet, with room for at least
// need bytes after the headroom; commit makes it part of the batch.
func (o *outBatch) next(need int) []byte {
	if o.n < len(o.bufs) {
		// A buffer taken by next but not committed: give it back.
		o.spare(o.bufs[o.n])
		o.bufs = o.bufs[:o.n]
	}
	var b []byte
	switch {
	case need <= smallPacket:
		b, o.small = take(o.small, Headroom+need)
		if b == nil {
			b = make([]byte, Headroom+smallPacket)
		}
	case need <= mediumPacket && o.runs.medium:
		b, o.medium = take(o.medium, Headroom+need)
		if b == nil {
			b = make([]byte, Headroom+mediumPacket)
		}
	default:
		b, o.large = take(o.large, Headroom+need)
		if b == nil {
			b = make([]byte, max(o.size, Headroom+need))
		}
	}
	b = b[:cap(b)]
	o.bufs = append(o.bufs, b)
	return b
}

// take removes from spares the smallest buffer with room for n bytes and
// returns it, or nil.
func take(spares [][]byte, n int) ([]byte, [][]byte) {
	if last := len(spares) - 1; last >= 0 && cap(spares[last]) >= n && cap(spares[last]) <= max(n, Headroom+maxPacket) {
		// The usual case: the last spare is a regular buffer that fits.
		b := spares[last]
		spares[last] = nil
		return b, spares[:last]
	}
	best := -1
	for i, b := range spares {
		if cap(b) >= n && (best < 0 || cap(b) < cap(spares[best])) {
			best = i
		}
	}
	if best < 0 {
		return nil, spares
	}
	b, last := spares[best], len(spares)-1
	spares[best], spares[last] = spares[last], nil
	return b, spares[:last]
}

// spare keeps b for a later packet of its size.
func (o *outBatch) spare(b []byte) {
	b = b[:cap(b)]
	switch {
	case cap(b) <= Headroom+smallPacket:
		o.small = append(o.small, b)
	case cap(b) < o.size:
		o.medium = append(o.medium, b)
	default:
		o.large = append(o.large, b)
	}
}

// commit adds the packet of n bytes just written into next's buffer.
func (o *outBatch) commit(n int) {
	o.bufs[o.n] = o.bufs[o.n][:Headroom+n]
	o.n++
}

func (o *outBatch) packets() [][]byte { return o.bufs[:o.n] }

func (o *outBatch) reset() {
	for _, b := range o.bufs {
		o.spare(b)
	}
	clear(o.bufs)
	o.bufs = o.bufs[:0]
	o.n = 0
	o.flood = 0
	o.heldSince = time.Time{}
	o.runs = runTracker{}
}

// sendTCP serializes seg from src to dst into the output batch; why is
// the reason it is sent, for the counters and the capture.
func (s *Stack) sendTCP(src, dst netip.Addr, seg *tcp.Segment, why tcp.Reason) bool {
	if !s.buildTCP(src, dst, seg) { // made.go
		return false
	}
	s.counters.segmentSent(seg.Flags, len(seg.Payload), why)
	s.capture.noteSent(s.out.n-1, why)
	return true
}

// sendReset answers a segment for which no connection or listener exists
// (RFC 9293 §3.10.7.1); a RST is never answered.
func (s *Stack) sendReset(id tcp.ID, seg *tcp.Segment) {
	rst, ok := tcp.ResetFor(seg)
	if !ok {
		return
	}
	rst.SrcPort, rst.DstPort = seg.DstPort, seg.SrcPort
	if s.sendTCP(id.Local.Addr(), id.Remote.Addr(), &rst, tcp.ReasonClosedRST) && s.events.active() {
		s.events.publish(segmentEvent(s.now, EventSegmentOut, id, nil, tcp.Closed, &rst, tcp.ReasonClosedRST))
	}
}

// engineHooks is the engine's Output and Observer: it serializes what the
// engine sends and records what it decides. It runs on the loop inside
// engine calls, so it touches only loop-owned state.
type engineHooks struct{ s *Stack }

func (h engineHooks) Output(c *tcp.Conn, seg *tcp.Segment, why tcp.Reason) {
	s := h.s
	if rules := s.faults.Rules(); rules != nil && s.faultOutbound(rules, c, seg, why) {
		return // faults.go
	}
	id := c.ID()
	if s.sendTCP(id.Local.Addr(), id.Remote.Addr(), seg, why) && s.events.wants(EventSegmentOut) {
		s.events.publish(segmentEvent(s.now, EventSegmentOut, id, connOf(c), c.State(), seg, why))
	}
}

func (h engineHooks) StateChange(c *tcp.Conn, from, to tcp.State, cause *tcp.Segment, why tcp.Reason) {
	s := h.s
	s.counters.stateChange(from, to)
	conn := connOf(c)
	if conn != nil {
		if len(conn.loopStates) == 0 {
			conn.loopStates = append(conn.loopStates, from)
		}
		conn.loopStates = append(conn.loopStates, to)
		conn.stateSince = s.now
	}
	if s.events.active() {
		ev := segmentEvent(s.now, EventStateChange, c.ID(), conn, to, cause, why)
		ev.From, ev.To = from, to
		s.events.publish(ev)
	}
}

func (h engineHooks) Drop(c *tcp.Conn, seg *tcp.Segment, why tcp.Reason) {
	s := h.s
	s.counters.engineDrop(why)
	s.capture.noteEngineDrop(why)
	if s.events.active() {
		s.events.publish(segmentEvent(s.now, EventDrop, c.ID(), connOf(c), c.State(), seg, why))
	}
}
