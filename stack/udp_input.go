package stack

import (
	"net/netip"
	"syscall"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// Drop reasons of UDP input.
const (
	// dropUDPNoPort: no socket takes the datagram (RFC 1122 §4.1.3.1:
	// answered with a port unreachable, within Options.ICMPRateLimit).
	dropUDPNoPort = "udp-no-port"
	// dropUDPQueueFull: the socket's receive queue is full.
	dropUDPQueueFull = "udp-receive-queue-full"
	// dropUDPBudget: the buffer budget has no room for the datagram.
	dropUDPBudget = "udp-budget"
	// dropUDPNotForwarded: a datagram to an address not the stack's that
	// Options.UDPForward did not accept.
	dropUDPNotForwarded = "udp-not-forwarded"
)

// udpDrops are this file's drop reasons, counted in a fixed slot each.
var udpDrops = []string{dropUDPNoPort, dropUDPQueueFull, dropUDPBudget, dropUDPNotForwarded}

// inputUDP demultiplexes a datagram to its socket by destination address
// and port (and source, for a connected socket); one that no socket takes
// draws a port unreachable, or goes to the gateway (udp_forward.go).
func (s *Stack) inputUDP(p *wire.Packet) {
	uc := &s.counters.udp
	var d wire.UDP
	if err := wire.ParseUDP(p, &d); err != nil {
		uc.inErrors.Add(1)
		if err == wire.ErrBadUDPChecksum || err == wire.ErrUDPZeroChecksum {
			uc.inCsumErrors.Add(1)
		}
		s.dropPacketOf(p, wire.DropReason(err))
		return
	}
	dst, src := netip.AddrPortFrom(p.Dst, d.DstPort), netip.AddrPortFrom(p.Src, d.SrcPort)
	c := s.udp.lookup(dst, src)
	if c == nil && !s.isLocal(p.Dst) {
		c = s.forwardUDP(dst, src, d.Payload)
		if c == nil {
			s.dropPacketOf(p, dropUDPNotForwarded)
			return
		}
	}
	if c == nil {
		s.udpNoPort(p)
		return
	}
	if why := c.deliver(src, dst, d.Payload); why != "" {
		if why == dropUDPNoPort {
			s.udpNoPort(p)
			return
		}
		uc.rcvbufErrors.Add(1)
		uc.inErrors.Add(1)
		s.dropPacketOf(p, why)
		return
	}
	uc.inDatagrams.Add(1)
}

// udpNoPort counts a datagram no socket takes and answers it with an ICMP
// port unreachable (RFC 1122 §4.1.3.1; RFC 1812 §4.3.2.8 and RFC 4443 §3.1
// code 4) within the ICMP rate limit (RFC 1812 §4.3.2.8, RFC 4443
// §2.4(f)). Martian sources never get here (refuse); the stack's own
// addresses are unicast, and wire refuses to answer a datagram to a
// broadcast or multicast address (RFC 1122 §3.2.2, RFC 4443 §2.4(e)).
func (s *Stack) udpNoPort(p *wire.Packet) {
	uc := &s.counters.udp
	uc.noPorts.Add(1)
	s.dropPacketOf(p, dropUDPNoPort)
	if !s.isLocal(p.Dst) {
		return // a gateway's flow closed just now: not ours to answer for
	}
	if !s.limits.icmp.allow(s.now) {
		uc.unreachLimited.Add(1)
		return
	}
	n, err := wire.PortUnreachable(s.icmpErrorBuffer(len(p.Raw)), p)
	if err != nil {
		return
	}
	s.out.commit(n)
	uc.unreachSent.Add(1)
}

// icmpErrorBuffer is room in the output batch for an ICMP error that
// quotes quoteLen bytes of a packet (at most 1,280 in all, RFC 4443
// §2.4(c)); what is written there is sent with s.out.commit. (The
// builders are called by their callers, not passed in: through a
// function value, the packet would escape to the heap on every input.)
func (s *Stack) icmpErrorBuffer(quoteLen int) []byte {
	if s.out.n >= outBatchLimit {
		s.flush()
	}
	return s.out.next(wire.IPv6HeaderLen + 8 + min(quoteLen, 1280))[Headroom:]
}

// inputUDPICMPError hands an ICMP error that quotes a datagram the stack
// sent to the socket that sent it. A connected socket's next Read or Write
// fails with the error Linux reports for it (ECONNREFUSED for a port
// unreachable); errors Linux calls soft, and every error for a socket
// that is not connected, are only counted, as Linux does without
// IP_RECVERR.
func (s *Stack) inputUDPICMPError(version uint8, m *wire.ICMP) {
	o := &m.Original
	local, remote := netip.AddrPortFrom(o.Src, o.SrcPort), netip.AddrPortFrom(o.Dst, o.DstPort)
	c := s.udp.lookup(local, remote)
	if c == nil {
		s.dropPacket(dropICMPNoConnection)
		return
	}
	s.counters.udp.icmpErrors.Add(1)
	var err error
	switch icmpErrorKind(version, m) {
	case tcp.ICMPPortUnreachable:
		err = syscall.ECONNREFUSED
	case tcp.ICMPAdminProhibited:
		err = syscall.EHOSTUNREACH
	}
	if err != nil && c.remote == remote {
		c.icmpError(err)
	}
}
