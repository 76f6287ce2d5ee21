package stack

import (
	"net/netip"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// input handles one IP packet read from the link. A malformed packet is
// counted and dropped; nothing in it can make the loop fail.
func (s *Stack) input(b []byte) {
	s.counters.packetsIn.Add(1)
	s.counters.bytesIn.Add(uint64(len(b)))
	s.inputIP(b, false)
}

// inputIP handles one IP datagram: a packet read from the link, or one
// reassembled from fragments (fragments.go).
func (s *Stack) inputIP(b []byte, reassembled bool) {
	p, err := wire.ParseIP(b)
	if err == wire.ErrFragment {
		s.inputFragment(b, reassembled)
		return
	}
	if err != nil {
		s.dropPacket(wire.DropReason(err))
		return
	}
	// Martian packets make no state and draw no answer (martian.go).
	if why := s.refuse(&p); why != "" {
		s.dropPacketOf(&p, why)
		return
	}
	switch {
	case p.Protocol == wire.ProtoTCP:
		s.inputTCP(&p)
	case p.Protocol == wire.ProtoUDP:
		s.inputUDP(&p) // udp_input.go
	case p.Version == 4 && p.Protocol == wire.ProtoICMPv4,
		p.Version == 6 && p.Protocol == wire.ProtoICMPv6:
		s.inputICMP(&p)
	default:
		s.dropPacketOf(&p, dropUnknownProtocol)
	}
}

// inputICMP hands ICMP errors to their connection and answers echo
// requests; other ICMP messages are counted and dropped.
func (s *Stack) inputICMP(p *wire.Packet) {
	if s.inputICMPError(p) {
		return
	}
	if len(p.Raw) > s.frags.mtu {
		s.sendEchoReplyFragmented(p)
		return
	}
	buf := s.out.next(len(p.Raw))
	n, err := wire.EchoReply(buf[Headroom:], p)
	if err != nil {
		s.dropPacket(wire.DropReason(err))
		return
	}
	if !s.limits.icmp.allow(s.now) {
		s.dropPacketOf(p, dropICMPRateLimit)
		return
	}
	s.out.commit(n)
	s.counters.echoReplies.Add(1)
}

// inputTCP demultiplexes a segment: to its connection by 4-tuple, else to
// a listener by local address and port, else it answers with RST.
func (s *Stack) inputTCP(p *wire.Packet) {
	// The segment lives in the Stack: passed on to the engine's interfaces,
	// a local one would be allocated on the heap for every packet.
	seg := &s.inSeg
	// Direct calls, not a function value: through one, p would escape
	// to the heap on every packet.
	var err error
	if s.checksummed {
		err = wire.ParseTCPChecksummed(p, seg)
	} else {
		err = wire.ParseTCP(p, seg)
	}
	if err != nil {
		s.dropPacket(wire.DropReason(err))
		return
	}
	id := tcp.ID{
		Local:  netip.AddrPortFrom(p.Dst, seg.DstPort),
		Remote: netip.AddrPortFrom(p.Src, seg.SrcPort),
	}
	s.counters.segmentsIn.Add(1)
	s.counters.payloadIn.Add(uint64(len(seg.Payload)))
	if rules := s.faults.Rules(); rules != nil && s.faultInbound(rules, id, seg) {
		return // faults.go
	}
	s.deliverTCP(id, seg)
}

// deliverTCP hands a segment to its connection, its TIME-WAIT record or
// its listener, or answers it with RST.
func (s *Stack) deliverTCP(id tcp.ID, seg *tcp.Segment) {
	c, ok := s.conns[id]
	if s.events.wants(EventSegmentIn) {
		ev := segmentEvent(s.now, EventSegmentIn, id, c, s.inboundState(id, c), seg, tcp.ReasonNone)
		if e, tw := s.timeWait.get(id); tw && c == nil {
			ev.ISN = e.isns()
		}
		s.events.publish(ev)
	}
	if ok {
		s.batch(c)
		if !c.engine.ReopenTimeWait(seg) {
			before := c.engine.State()
			c.engine.InputBurst(s.now, seg)
			if c.engine.State() != before {
				s.service(c)
			} // else endBatch services c once for the whole burst
			return
		}
		s.service(c) // a new SYN ended TIME-WAIT: the listener takes it
	}
	if rec, ok := s.timeWait.get(id); ok && s.inputTimeWait(id, rec, seg) {
		return
	}
	if ln := s.listenerFor(id.Local); ln != nil {
		s.passiveOpen(ln, id, seg)
		return
	}
	if s.resetAllowed(id, seg) { // ratelimit.go
		s.dropSegment(id, seg, dropNoListener)
		s.sendReset(id, seg)
	}
}

// passiveOpen gives a segment for a listening port to a new connection in
// LISTEN and keeps the connection if the segment moved it on (a SYN did).
func (s *Stack) passiveOpen(ln *Listener, id tcp.ID, seg *tcp.Segment) {
	if ln.admit != nil && isBareSYN(seg) {
		s.holdSYN(ln, id, seg) // the application decides: admission.go
		return
	}
	if s.listenQueues(ln, id, seg) { // full queues and SYN cookies: listen_queue.go
		return
	}
	if isBareSYN(seg) && !s.admit(id, seg) {
		return
	}
	s.openPassive(ln, id, seg)
}

// openPassive makes the connection in LISTEN for a segment that passed the
// listener's queues and limits.
func (s *Stack) openPassive(ln *Listener, id tcp.ID, seg *tcp.Segment) {
	c := s.newConn(id)
	c.listener = ln
	if err := c.engine.OpenPassive(s.now); err != nil {
		s.log.Error("passive open", "conn", id, "err", err)
		s.releaseConn(c)
		return
	}
	c.engine.Input(s.now, seg)
	if st := c.engine.State(); st == tcp.Listen || st == tcp.Closed {
		s.releaseConn(c)
		return // answered (RST for an ACK) or dropped by the engine
	}
	s.register(c)
	ln.halfOpen++
	s.service(c)
}

// dropPacket counts a packet dropped before it reached TCP.
func (s *Stack) dropPacket(reason string) {
	s.counters.drop(reason)
	s.capture.noteDrop(reason)
	if s.events.active() {
		s.events.publish(Event{Time: s.now, Kind: EventDrop, Detail: reason})
	}
}

// dropSegment counts a segment dropped by the stack before any connection.
func (s *Stack) dropSegment(id tcp.ID, seg *tcp.Segment, reason string) {
	s.counters.drop(reason)
	s.capture.noteDrop(reason)
	if s.events.active() {
		ev := segmentEvent(s.now, EventDrop, id, nil, s.inboundState(id, nil), seg, tcp.ReasonNone)
		ev.Detail = reason
		s.events.publish(ev)
	}
}
