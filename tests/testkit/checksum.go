package testkit

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers the builders and checkers know.
const (
	ProtoICMPv4 = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// IPv6 extension header types (RFC 8200 §4).
const (
	ExtHopByHop    = 0
	ExtRouting     = 43
	ExtFragment    = 44
	ExtDestOptions = 60
)

// Checksum is the Internet checksum of RFC 1071 over b, seeded with the
// sum of a pseudo-header (0 for none): the ones' complement of the ones'
// complement sum of the 16-bit words, an odd last byte padded with zero.
// It is the textbook loop, slow and plain on purpose: the reference that
// stack/wire's fast sum is checked against.
func Checksum(b []byte, seed uint16) uint16 {
	return ^sum(b, seed)
}

// sum is the ones' complement sum of b's 16-bit words and initial.
func sum(b []byte, initial uint16) uint16 {
	s := uint32(initial)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// PseudoHeaderSum is the ones' complement sum (not its complement) of the
// pseudo-header that TCP, UDP and ICMPv6 checksums cover: RFC 9293 §3.1 for
// IPv4, RFC 8200 §8.1 for IPv6. length is the upper-layer message's.
func PseudoHeaderSum(protocol uint8, src, dst netip.Addr, length int) uint16 {
	return sum(pseudoHeader(protocol, src, dst, length), 0)
}

// pseudoHeader spells the pseudo-header out byte by byte.
func pseudoHeader(protocol uint8, src, dst netip.Addr, length int) []byte {
	b := append(src.AsSlice(), dst.AsSlice()...)
	if src.Is4() {
		return append(b, 0, protocol, byte(length>>8), byte(length))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(length))
	return append(b, 0, 0, 0, protocol)
}

// checksumAt is where an upper-layer protocol keeps its checksum, and
// whether the checksum covers the pseudo-header. ok is false for a
// protocol without one that the builders know (or ICMP of the other
// family).
func checksumAt(protocol uint8, version int) (at int, pseudo, ok bool) {
	switch {
	case protocol == ProtoTCP:
		return 16, true, true
	case protocol == ProtoUDP:
		return 6, true, true
	case protocol == ProtoICMPv4 && version == 4:
		return 2, false, true
	case protocol == ProtoICMPv6 && version == 6:
		return 2, true, true
	}
	return 0, false, false
}

// setUpperChecksum writes the checksum of the upper-layer message msg of
// protocol, sent from src to dst.
func setUpperChecksum(msg []byte, protocol uint8, src, dst netip.Addr) {
	version := 4
	if src.Is6() {
		version = 6
	}
	at, pseudo, ok := checksumAt(protocol, version)
	if !ok || len(msg) < at+2 {
		return
	}
	msg[at], msg[at+1] = 0, 0
	var seed uint16
	if pseudo {
		seed = PseudoHeaderSum(protocol, src, dst, len(msg))
	}
	c := Checksum(msg, seed)
	if c == 0 && protocol == ProtoUDP {
		c = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(msg[at:], c)
}

// upperChecksumOK reports whether the checksum of the upper-layer message
// msg verifies; a UDP datagram over IPv4 with no checksum (0) does.
func upperChecksumOK(msg []byte, protocol uint8, src, dst netip.Addr) bool {
	version := 4
	if src.Is6() {
		version = 6
	}
	at, pseudo, ok := checksumAt(protocol, version)
	if !ok || len(msg) < at+2 {
		return false
	}
	if protocol == ProtoUDP && version == 4 && msg[at] == 0 && msg[at+1] == 0 {
		return true
	}
	var seed uint16
	if pseudo {
		seed = PseudoHeaderSum(protocol, src, dst, len(msg))
	}
	return Checksum(msg, seed) == 0
}

// FixChecksums makes the checksums of the IP packet p right after a test
// changed it: the IPv4 header's, and the TCP, UDP, ICMP or ICMPv6
// checksum of a packet that is not a fragment and whose header says which
// (after IPv6 extension headers). Lengths are taken from the headers as far
// as p holds them; what p is too short for is left alone, so that a fuzz
// target can call it on anything.
func FixChecksums(p []byte) {
	if len(p) == 0 {
		return
	}
	switch p[0] >> 4 {
	case 4:
		ihl := int(p[0]&0x0f) * 4
		if len(p) < 20 || ihl < 20 || ihl > len(p) {
			return
		}
		setIPv4HeaderChecksum(p[:ihl])
		end := min(int(binary.BigEndian.Uint16(p[2:])), len(p))
		if binary.BigEndian.Uint16(p[6:])&0x3fff != 0 || end < ihl {
			return // a fragment, or a length shorter than the header
		}
		src, dst := netip.AddrFrom4([4]byte(p[12:16])), netip.AddrFrom4([4]byte(p[16:20]))
		setUpperChecksum(p[ihl:end], p[9], src, dst)
	case 6:
		if len(p) < 40 {
			return
		}
		end := min(40+int(binary.BigEndian.Uint16(p[4:])), len(p))
		protocol, at, err := skipExtensions(p[:end])
		if err != nil || protocol == ExtFragment {
			return
		}
		src, dst := netip.AddrFrom16([16]byte(p[8:24])), netip.AddrFrom16([16]byte(p[24:40]))
		setUpperChecksum(p[at:end], protocol, src, dst)
	}
}

// setIPv4HeaderChecksum writes the checksum of the IPv4 header h.
func setIPv4HeaderChecksum(h []byte) {
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:], Checksum(h, 0))
}

// FixIPv4HeaderChecksum makes the header checksum of the IPv4 packet p
// right after a test changed a header field, and leaves the rest as it is
// (an upper-layer checksum the change made wrong stays wrong). The header
// is as long as its IHL says, as far as p holds it.
func FixIPv4HeaderChecksum(p []byte) {
	ihl := min(int(p[0]&0x0f)*4, len(p))
	p[10], p[11] = 0, 0
	binary.BigEndian.PutUint16(p[10:], Checksum(p[:ihl], 0))
}

// SetIPLength sets the length field of the IP packet p to fit len(p): the
// total length for IPv4 (and its header checksum), the payload length for
// IPv6.
func SetIPLength(p []byte) {
	if p[0]>>4 == 4 {
		binary.BigEndian.PutUint16(p[2:4], uint16(len(p)))
		setIPv4HeaderChecksum(p[:int(p[0]&0x0f)*4])
		return
	}
	binary.BigEndian.PutUint16(p[4:6], uint16(len(p)-40))
}
