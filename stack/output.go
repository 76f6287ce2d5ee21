package stack

import (
	"errors"
	"net/netip"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

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
		if cap(b) > o.size {
			b = make([]byte, o.size) // let a one-off large buffer go
		}
		o.bufs[i] = b[:cap(b)]
	}
	o.n = 0
}

// sendTCP serializes seg from src to dst into the output batch.
func (s *Stack) sendTCP(src, dst netip.Addr, seg *tcp.Segment) bool {
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
	s.counters.segmentsOut.Add(1)
	if seg.Flags.Has(tcp.FlagRST) {
		s.counters.rstsSent.Add(1)
	}
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
	if s.sendTCP(id.Local.Addr(), id.Remote.Addr(), &rst) && s.events.active() {
		s.events.publish(Event{Time: s.now, Kind: EventSegmentOut, Conn: id,
			Seg: summarize(&rst), Reason: tcp.ReasonClosedRST})
	}
}

// engineHooks is the engine's Output and Observer: it serializes what the
// engine sends and records what it decides. It runs on the loop inside
// engine calls, so it touches only loop-owned state.
type engineHooks struct{ s *Stack }

func (h engineHooks) Output(c *tcp.Conn, seg *tcp.Segment, why tcp.Reason) {
	s := h.s
	id := c.ID()
	if s.sendTCP(id.Local.Addr(), id.Remote.Addr(), seg) && s.events.active() {
		s.events.publish(Event{Time: s.now, Kind: EventSegmentOut, Conn: id,
			Seg: summarize(seg), Reason: why})
	}
}

func (h engineHooks) StateChange(c *tcp.Conn, from, to tcp.State, cause *tcp.Segment, why tcp.Reason) {
	if conn, ok := c.UserData().(*Conn); ok {
		if len(conn.loopStates) == 0 {
			conn.loopStates = append(conn.loopStates, from)
		}
		conn.loopStates = append(conn.loopStates, to)
	}
	s := h.s
	if s.events.active() {
		ev := Event{Time: s.now, Kind: EventStateChange, Conn: c.ID(), From: from, To: to, Reason: why}
		if cause != nil {
			ev.Seg = summarize(cause)
		}
		s.events.publish(ev)
	}
}

func (h engineHooks) Drop(c *tcp.Conn, seg *tcp.Segment, why tcp.Reason) {
	s := h.s
	s.counters.engineDrop(why)
	if s.events.active() {
		ev := Event{Time: s.now, Kind: EventDrop, Conn: c.ID(), Reason: why}
		if seg != nil {
			ev.Seg = summarize(seg)
		}
		s.events.publish(ev)
	}
}

func summarize(seg *tcp.Segment) SegmentSummary {
	return SegmentSummary{Flags: seg.Flags, Seq: seg.Seq, Ack: seg.Ack, Window: seg.Window, Len: len(seg.Payload)}
}
