package stack

import (
	"errors"
	"net/netip"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// Segments that the stack makes on its own, for a decision of an
// application or a fault rather than of the engine (a RST that refuses a
// held SYN, one that a fault invents), carry a reason of their own, a
// string ("forward:refused", "fault:refuse"): in the trace and the ladder
// as Event.Detail, in the capture as CapturedPacket.SentDetail, in the
// counters under Counters.RSTsByReason for a RST.

// sendMade serializes seg from src to dst into the output batch, sent for
// detail; st is the state the event shows.
func (s *Stack) sendMade(id tcp.ID, seg *tcp.Segment, st tcp.State, detail string) bool {
	if !s.buildTCP(id.Local.Addr(), id.Remote.Addr(), seg) {
		return false
	}
	s.counters.madeSent(seg.Flags, detail)
	s.capture.noteSentDetail(s.out.n-1, detail)
	if s.events.wants(EventSegmentOut) {
		ev := segmentEvent(s.now, EventSegmentOut, id, s.conns[id], st, seg, tcp.ReasonNone)
		ev.Detail = detail
		s.events.publish(ev)
	}
	return true
}

// sendResetWhy answers seg with the RST a closed port would send (RFC
// 9293 §3.10.7.1), for detail.
func (s *Stack) sendResetWhy(id tcp.ID, seg *tcp.Segment, detail string) {
	rst, ok := tcp.ResetFor(seg)
	if !ok {
		return
	}
	rst.SrcPort, rst.DstPort = seg.DstPort, seg.SrcPort
	s.sendMade(id, &rst, tcp.Listen, detail)
}

// buildTCP serializes seg into the next buffer of the output batch and
// commits it; false if it could not be built (counted).
func (s *Stack) buildTCP(src, dst netip.Addr, seg *tcp.Segment) bool {
	if s.out.n >= outBatchLimit {
		s.flush() // bounded: the buffers are 64 KiB each
	}
	need := 120 + len(seg.Payload) // IPv6 header, TCP header with options
	if len(seg.Payload) > 0 {
		s.out.runs.add(src, dst, seg, need, s.out.size)
	}
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
	return true
}
