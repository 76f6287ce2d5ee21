package wire

import (
	"encoding/binary"
	"net/netip"
)

// Codes of destination unreachable that mean "port unreachable": ICMPv4
// type 3 code 3 (RFC 792), ICMPv6 type 1 code 4 (RFC 4443 §3.1).
const (
	ICMPv4PortUnreachable = 3
	ICMPv6PortUnreachable = 4
)

// icmpv4MaxError is how long an ICMPv4 error may be, IP header included:
// RFC 1812 §4.3.2.3 has it quote as much of the original as fits in 576
// bytes, as Linux does.
const icmpv4MaxError = 576

// PortUnreachable writes into buf the ICMP port unreachable message that
// answers p, a datagram to a port nobody listens on (RFC 1122 §4.1.3.1,
// RFC 4443 §3.1), and returns its length: from p.Dst to p.Src, quoting as
// much of p as RFC 1812 §4.3.2.3 (576 bytes in all, IPv4) or RFC 4443
// §2.4(c) (1280, IPv6) allow. It refuses a p whose addresses are not
// unicast: no ICMP error goes to, or answers a packet sent to, a broadcast
// or multicast address (RFC 1122 §3.2.2, RFC 4443 §2.4(e)). buf must not
// overlap p.
func PortUnreachable(buf []byte, p *Packet) (int, error) {
	if p.Version == 6 {
		return unreachable(buf, p, p.Dst, ProtoICMPv6, ICMPv6Unreachable, ICMPv6PortUnreachable)
	}
	return unreachable(buf, p, p.Dst, ProtoICMPv4, ICMPv4Unreachable, ICMPv4PortUnreachable)
}

// What a router's destination unreachable says (RFC 1812 §5.2.7.1): no
// route to the destination's network, or no answer from the host.
type Unreachability uint8

const (
	NetUnreachable  Unreachability = iota // ICMPv4 code 0, ICMPv6 code 0 (no route): ENETUNREACH
	HostUnreachable                       // ICMPv4 code 1, ICMPv6 code 3 (address unreachable): EHOSTUNREACH
)

// DestinationUnreachable writes into buf the ICMP destination unreachable
// that a router at from sends for p, a packet it cannot deliver (RFC 792,
// RFC 1812 §5.2.7.1, RFC 4443 §3.1), quoting as PortUnreachable does, and
// returns its length. It refuses what PortUnreachable refuses.
func DestinationUnreachable(buf []byte, p *Packet, from netip.Addr, why Unreachability) (int, error) {
	if p.Version == 6 {
		code := uint8(0)
		if why == HostUnreachable {
			code = 3
		}
		return unreachable(buf, p, from, ProtoICMPv6, ICMPv6Unreachable, code)
	}
	return unreachable(buf, p, from, ProtoICMPv4, ICMPv4Unreachable, uint8(why))
}

func unreachable(buf []byte, p *Packet, from netip.Addr, protocol, typ, code uint8) (int, error) {
	src, dst := from, p.Src
	if !isUnicast(src) || !isUnicast(dst) || !isUnicast(p.Dst) {
		return 0, ErrBadAddress
	}
	ipLen, err := ipHeaderLen(src, dst)
	if err != nil {
		return 0, err
	}
	limit := icmpv4MaxError
	if protocol == ProtoICMPv6 {
		limit = ipv6MinMTU
	}
	quote := p.Raw[:min(len(p.Raw), limit-ipLen-icmpHeaderLen)]
	n, err := checkSpace(buf, ipLen, icmpHeaderLen+len(quote))
	if err != nil {
		return 0, err
	}
	b := buf[ipLen:n]
	copy(b[icmpHeaderLen:], quote)
	b[0], b[1] = typ, code
	clear(b[2:icmpHeaderLen]) // checksum, then 4 unused bytes
	seed := uint16(0)
	if protocol == ProtoICMPv6 {
		seed = PseudoHeaderSum(ProtoICMPv6, src, dst, len(b))
	}
	binary.BigEndian.PutUint16(b[2:4], Checksum(b, seed))
	writeIPHeader(buf, src, dst, protocol, 0, len(b))
	return n, nil
}
