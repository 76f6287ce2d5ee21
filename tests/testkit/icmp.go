package testkit

import (
	"encoding/binary"
	"net/netip"
)

// ICMP and ICMPv6 message types the tests use (RFC 792, RFC 4443).
const (
	ICMPv4EchoReply    = 0
	ICMPv4Unreachable  = 3
	ICMPv4EchoRequest  = 8
	ICMPv4TimeExceeded = 11
	ICMPv6Unreachable  = 1
	ICMPv6PacketTooBig = 2
	ICMPv6TimeExceeded = 3
	ICMPv6EchoRequest  = 128
	ICMPv6EchoReply    = 129
)

// ICMPPacket builds an ICMP message (ICMPv6 if src is IPv6) of type typ
// and code from src to dst: rest is the second word of its header (an
// echo's identifier and sequence number, an error's MTU or pointer), data
// what follows. Its checksum is right.
func ICMPPacket(src, dst netip.Addr, typ, code uint8, rest uint32, data []byte) []byte {
	msg := make([]byte, 8+len(data))
	msg[0], msg[1] = typ, code
	binary.BigEndian.PutUint32(msg[4:], rest)
	copy(msg[8:], data)
	protocol := uint8(ProtoICMPv4)
	if src.Is6() {
		protocol = ProtoICMPv6
	}
	setUpperChecksum(msg, protocol, src, dst)
	return IPPacket(src, dst, protocol, msg)
}

// EchoRequest builds an ICMP or ICMPv6 echo request from src to dst.
func EchoRequest(src, dst netip.Addr, id, seq uint16, data []byte) []byte {
	typ := uint8(ICMPv4EchoRequest)
	if src.Is6() {
		typ = ICMPv6EchoRequest
	}
	return ICMPPacket(src, dst, typ, 0, uint32(id)<<16|uint32(seq), data)
}

// maxQuoted is how much of the packet that caused it an ICMPError quotes:
// an IP header and the start of what it carries (RFC 792 asks for 8
// bytes of it; the ports and sequence number of a TCP segment are in the
// first 8).
const maxQuoted = 56

// ICMPError builds an ICMP error from src about the packet offending, sent
// back to offending's source: type typ, code code, rest the second word
// (for a "fragmentation needed" or "packet too big", the MTU), and the
// start of offending quoted.
func ICMPError(src netip.Addr, typ, code uint8, rest uint32, offending []byte) []byte {
	return ICMPPacket(src, sourceOf(offending), typ, code, rest, offending[:min(len(offending), maxQuoted)])
}

// sourceOf is the source address of the IP packet p.
func sourceOf(p []byte) netip.Addr {
	if p[0]>>4 == 4 {
		return netip.AddrFrom4([4]byte(p[12:16]))
	}
	return netip.AddrFrom16([16]byte(p[8:24]))
}

// UDPPacket builds an IPv4 or IPv6 packet (after src's family) carrying a
// UDP datagram from src to dst, with its checksums right (RFC 768).
func UDPPacket(src, dst netip.AddrPort, payload []byte) []byte {
	msg := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(msg[0:], src.Port())
	binary.BigEndian.PutUint16(msg[2:], dst.Port())
	binary.BigEndian.PutUint16(msg[4:], uint16(len(msg)))
	copy(msg[8:], payload)
	setUpperChecksum(msg, ProtoUDP, src.Addr(), dst.Addr())
	return IPPacket(src.Addr(), dst.Addr(), ProtoUDP, msg)
}
