package stack

import (
	"net/netip"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// inputICMPError hands an ICMP error to the connection whose segment it
// quotes (RFC 9293 §3.9.1); it reports whether it was one.
func (s *Stack) inputICMPError(p *wire.Packet) bool {
	var m wire.ICMP
	if err := wire.ParseICMP(p, &m); err != nil || !m.Kind.IsError() {
		return false
	}
	o := &m.Original
	if o.Protocol == wire.ProtoUDP && o.HasPorts {
		s.inputUDPICMPError(p.Version, &m) // udp_input.go
		return true
	}
	if o.Protocol != wire.ProtoTCP || !o.HasPorts {
		s.dropPacket(dropICMPNoConnection)
		return true
	}
	id := tcp.ID{Local: netip.AddrPortFrom(o.Src, o.SrcPort), Remote: netip.AddrPortFrom(o.Dst, o.DstPort)}
	c, ok := s.conns[id]
	if !ok {
		s.dropPacket(dropICMPNoConnection)
		return true
	}
	c.engine.ICMP(s.now, tcp.ICMPError{Kind: icmpErrorKind(p.Version, &m), Seq: o.Seq, MTU: int(m.MTU)})
	s.service(c)
	return true
}

// icmpErrorKind maps ICMPv4 (RFC 792, RFC 1122 §3.2.2.1) and ICMPv6
// (RFC 4443 §3) types and codes to what TCP does with them.
func icmpErrorKind(version uint8, m *wire.ICMP) tcp.ICMPErrorKind {
	switch m.Kind {
	case wire.ICMPPacketTooBig:
		return tcp.ICMPPacketTooBig
	case wire.ICMPTimeExceeded:
		return tcp.ICMPTimeExceeded
	}
	if version == 4 {
		switch m.Code {
		case 0, 6: // net unreachable, destination network unknown
			return tcp.ICMPNetUnreachable
		case 2, 3: // protocol, port unreachable
			return tcp.ICMPPortUnreachable
		case 9, 10, 13: // administratively prohibited
			return tcp.ICMPAdminProhibited
		}
		return tcp.ICMPHostUnreachable
	}
	switch m.Code {
	case 0: // no route to destination
		return tcp.ICMPNetUnreachable
	case 1, 5, 6: // administratively prohibited, policy, reject route
		return tcp.ICMPAdminProhibited
	case 4: // port unreachable
		return tcp.ICMPPortUnreachable
	}
	return tcp.ICMPHostUnreachable
}

// dropICMPNoConnection counts ICMP errors that quote no connection of ours.
const dropICMPNoConnection = "icmp-no-connection"
