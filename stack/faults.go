package stack

import (
	"time"

	"github.com/tunstack/tunstack/stack/fault"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// This file carries out what the faults of stack/fault decide, on the
// loop: it drops, holds, copies, slices and rewrites a port's segments,
// answers SYNs with RST, and resets, forgets or holds back connections.
// A port with no fault costs one atomic load per segment (faults.Rules).

// Faults is the set of faults in force, which the control socket changes
// while the stack runs.
func (s *Stack) Faults() *fault.Set { return s.faults }

// faultInbound applies the faults of a segment's port before the segment
// is demultiplexed. It reports whether it took the segment: dropped,
// held for later, or answered.
func (s *Stack) faultInbound(rules *fault.Rules, id tcp.ID, seg *tcp.Segment) bool {
	v := s.faultTrack.Inbound(s.now, rules, id, seg)
	if v.Reason == "" {
		return false
	}
	s.counters.fault(v.Reason)
	switch {
	case v.Refuse:
		s.publishSegmentIn(id, seg)
		s.dropSegment(id, seg, v.Reason)
		s.sendResetWhy(id, seg, v.Reason)
		return true
	case v.Drop:
		s.publishSegmentIn(id, seg)
		s.dropSegment(id, seg, v.Reason)
		s.runFaultActions()
		return true
	case v.Forget:
		if c := s.conns[id]; c != nil {
			s.endByFault(c, fault.Action{ID: id, Kind: fault.ActForget, Reason: v.Reason})
		}
	}
	for range v.Copies {
		s.holdInbound(id, seg, 0, v.Reason)
	}
	if v.Delay > 0 {
		s.holdInbound(id, seg, v.Delay, v.Reason)
		return true
	}
	return false
}

// publishSegmentIn is the segment-in event of a segment a fault takes
// before demultiplexing.
func (s *Stack) publishSegmentIn(id tcp.ID, seg *tcp.Segment) {
	if s.events.wants(EventSegmentIn) {
		c := s.conns[id]
		s.events.publish(segmentEvent(s.now, EventSegmentIn, id, c, s.inboundState(id, c), seg, tcp.ReasonNone))
	}
}

// faultOutbound applies the faults of a connection's port to a segment
// the engine sends. It reports whether it took the segment (sent it
// changed, sliced, held or dropped it); false sends it as it is.
func (s *Stack) faultOutbound(rules *fault.Rules, c *tcp.Conn, seg *tcp.Segment, why tcp.Reason) bool {
	id := c.ID()
	cp := *seg
	v := s.faultTrack.Outbound(s.now, rules, id, &cp)
	if v.Reason == "" {
		return false
	}
	s.counters.fault(v.Reason)
	conn := connOf(c)
	if v.Drop {
		s.counters.drop(v.Reason)
		if s.events.active() {
			ev := segmentEvent(s.now, EventDrop, id, conn, c.State(), &cp, why)
			ev.Detail = v.Reason
			s.events.publish(ev)
		}
		return true
	}
	if v.Slices == nil {
		v.Slices = []int{len(cp.Payload)}
	}
	payload, flags := cp.Payload, cp.Flags
	off := 0
	for i, n := range v.Slices {
		piece := cp
		piece.Seq = cp.Seq.Add(uint32(off))
		piece.Payload = payload[off : off+n]
		off += n
		if i < len(v.Slices)-1 {
			piece.Flags = flags &^ (tcp.FlagFIN | tcp.FlagPSH)
		} else if off < len(payload) {
			piece.Flags = flags &^ tcp.FlagFIN // cut short (limit_data): the FIN was for the rest
		}
		delay := v.Delay + time.Duration(i)*v.Gap
		for copies := 0; copies <= v.Copies; copies++ {
			if delay > 0 {
				s.holdOutbound(id, &piece, why, delay, v.Reason)
			} else if s.sendTCP(id.Local.Addr(), id.Remote.Addr(), &piece, why) {
				s.capture.noteSentDetail(s.out.n-1, v.Reason)
			}
			if s.events.wants(EventSegmentOut) {
				ev := segmentEvent(s.now, EventSegmentOut, id, conn, c.State(), &piece, why)
				ev.Detail = v.Reason
				if delay > 0 {
					ev.Detail += " (held " + delay.String() + ")"
				}
				s.events.publish(ev)
			}
		}
	}
	return true
}

// runFaultActions carries out the faults' actions that are due: resets,
// forgotten connections, held accepts that end.
func (s *Stack) runFaultActions() {
	if s.faultTrack.Next().IsZero() {
		return
	}
	s.faultDue = s.faultTrack.Due(s.now, s.faultDue[:0])
	for _, a := range s.faultDue {
		c := s.conns[a.ID]
		if c == nil {
			continue
		}
		if a.Kind == fault.ActReleaseAccept {
			c.acceptHeld = false
			s.service(c)
			continue
		}
		s.endByFault(c, a)
	}
	clear(s.faultDue)
}

// endByFault ends c at a fault's word, without the engine: reset sends a
// RST at the sequence number the peer expects, forget sends nothing, so
// that the peer's next segment meets a RST. The application learns that
// the connection was reset.
func (s *Stack) endByFault(c *Conn, a fault.Action) {
	e := c.engine
	from := e.State()
	if a.Kind == fault.ActReset {
		st := e.Status()
		rst := tcp.Segment{SrcPort: c.ID().Local.Port(), DstPort: c.ID().Remote.Port(), Seq: st.SndNxt, Ack: st.RcvNxt, Flags: tcp.FlagRST | tcp.FlagACK}
		if a.HasSeq {
			rst.Seq = a.Seq
		}
		s.sendMade(c.ID(), &rst, from, a.Reason)
	}
	s.counters.stateChange(from, tcp.Closed)
	c.loopStates = append(c.loopStates, tcp.Closed)
	if s.events.active() {
		ev := segmentEvent(s.now, EventStateChange, c.ID(), c, tcp.Closed, nil, tcp.ReasonNone)
		ev.From, ev.To, ev.Detail = from, tcp.Closed, a.Reason
		s.events.publish(ev)
	}
	c.mu.Lock()
	c.state = tcp.Closed
	c.states = append(c.states, tcp.Closed)
	c.finished = true
	if c.err == nil {
		c.err = tcp.ErrConnectionReset
	}
	c.notifyLocked()
	c.mu.Unlock()
	s.unregister(c)
}

// holdAccept reports whether a connection that just became established
// waits before Accept (accept_hold); runFaultActions lets it go.
func (s *Stack) holdAccept(c *Conn) bool {
	rules := s.faults.Rules()
	if rules == nil {
		return false
	}
	if d := s.faultTrack.AcceptDelay(s.now, rules, c.ID()); d > 0 {
		c.acceptHeld = true
		s.counters.fault(fault.AcceptHold.Reason())
	}
	return c.acceptHeld
}

// holdInbound keeps a copy of seg to deliver after delay.
func (s *Stack) holdInbound(id tcp.ID, seg *tcp.Segment, delay time.Duration, reason string) {
	cp := *seg
	cp.Payload = append([]byte(nil), seg.Payload...)
	if !s.held.push(&heldSegment{at: s.now.Add(delay), inbound: true, id: id, seg: cp, size: len(cp.Payload)}) {
		s.counters.drop(reason)
		s.dropSegment(id, seg, reason)
	}
}

// holdOutbound serializes seg and keeps it to send after delay.
func (s *Stack) holdOutbound(id tcp.ID, seg *tcp.Segment, why tcp.Reason, delay time.Duration, reason string) {
	buf := make([]byte, 120+len(seg.Payload))
	n, err := wire.BuildTCP(buf, id.Local.Addr(), id.Remote.Addr(), seg, wire.DefaultTTL)
	if err != nil {
		s.counters.drop("build:" + wire.DropReason(err))
		return
	}
	h := &heldSegment{at: s.now.Add(delay), id: id, pkt: buf[:n], size: n, payload: len(seg.Payload), flags: seg.Flags, why: why, detail: reason}
	if !s.held.push(h) {
		s.counters.drop(reason)
	}
}

// releaseHeld delivers and sends the held segments that are due.
func (s *Stack) releaseHeld() {
	delivered := false
	defer func() {
		if delivered {
			s.endBatch() // the engine holds its answers to a burst until then
		}
	}()
	for {
		h := s.held.popDue(s.now)
		if h == nil {
			return
		}
		if h.inbound {
			s.deliverTCP(h.id, &h.seg)
			delivered = true
			continue
		}
		buf := s.out.next(len(h.pkt))
		copy(buf[Headroom:], h.pkt)
		s.out.commit(len(h.pkt))
		s.counters.segmentSent(h.flags, h.payload, h.why)
		s.capture.noteSent(s.out.n-1, h.why)
		s.capture.noteSentDetail(s.out.n-1, h.detail)
		if s.out.n >= outBatchLimit {
			s.flush()
		}
	}
}

// faultDeadline is when held segments or fault actions are next due.
func (s *Stack) faultDeadline() time.Time {
	next := s.held.next()
	if a := s.faultTrack.Next(); !a.IsZero() && (next.IsZero() || a.Before(next)) {
		next = a
	}
	return next
}
