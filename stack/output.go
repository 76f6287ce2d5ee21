package stack

import (
	"errors"
	"net/netip"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// outBatchLimit is how many packets one link.Write carries at most:
// wireguard-go's ideal batch.
const outBatchLimit = 128

// outBatch collects the packets of one loop iteration for one link.Write.
// Its buffers are kept and reused; packet i is bufs[i][Headroom:].
type outBatch struct {
	size int // capacity of a regular buffer, Headroom included
	bufs [][]byte
	n    int
}

// next returns the buffer for the next packet, with room for at least
// need bytes after the headroom; commit makes it part of the batch.
func (o *outBatch) next(need int) []byte {
	if o.n == len(o.bufs) {
		o.bufs = append(o.bufs, make([]byte, o.size))
	}
	b := o.bufs[o.n]
	if cap(b) < Headroom+need {
		b = make([]byte, Headroom+need)
		o.bufs[o.n] = b
	}
	return b[:cap(b)]
}

// commit adds the packet of n bytes just written into next's buffer.
func (o *outBatch) commit(n int) {
	o.bufs[o.n] = o.bufs[o.n][:Headroom+n]
	o.n++
}

func (o *outBatch) packets() [][]byte { return o.bufs[:o.n] }

func (o *outBatch) reset() {
	for i, b := range o.bufs[:o.n] {
		o.bufs[i] = b[:cap(b)]
	}
	o.n = 0
}

// sendTCP serializes seg from src to dst into the output batch; why is
// the reason it is sent, for the counters and the capture.
func (s *Stack) sendTCP(src, dst netip.Addr, seg *tcp.Segment, why tcp.Reason) bool {
	if s.out.n >= outBatchLimit {
		s.flush() // bounded: the buffers are 64 KiB each
	}
	need := 120 + len(seg.Payload) // IPv6 header, TCP header with options
	buf := s.out.next(need)
	n, err := wire.BuildTCP(buf[Headroom:], src, dst, seg, wire.DefaultTTL)
	if errors.Is(err, wire.ErrBufferTooSmall) {
		buf = s.out.next(maxPacket)
		n, err = wire.BuildTCP(buf[Headroom:], src, dst, seg, wire.DefaultTTL)
	}
	if err != nil {
		s.counters.drop("build:" + wire.DropReason(err))
		s.log.Error("building a TCP segment", "src", src, "dst", dst, "seg", seg.String(), "err", err)
		return false
	}
	s.out.commit(n)
	s.counters.segmentSent(seg.Flags, why)
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
	id := c.ID()
	if s.sendTCP(id.Local.Addr(), id.Remote.Addr(), seg, why) && s.events.active() {
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
