package tundev

import (
	"encoding/binary"
	"net/netip"
)

// Minimal UDP/IP packets for the device tests. tundev carries packets
// without looking inside them, so these stay here rather than depend on the
// stack's packet code.

const (
	protoUDP     = 17
	ipv4HdrLen   = 20
	ipv6HdrLen   = 40
	udpHdrLen    = 8
	defaultHops  = 64
	ipv4Version  = 4
	ipv6Version  = 6
	ipv4IHLWords = ipv4HdrLen / 4
)

// udpPacket returns an IPv4 or IPv6 packet (after the family of src) that
// carries payload from src to dst, with valid checksums.
func udpPacket(src, dst netip.AddrPort, payload []byte) []byte {
	udpLen := udpHdrLen + len(payload)
	udp := make([]byte, udpLen)
	binary.BigEndian.PutUint16(udp[0:], src.Port())
	binary.BigEndian.PutUint16(udp[2:], dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(udpLen))
	copy(udp[udpHdrLen:], payload)

	s, d := src.Addr().AsSlice(), dst.Addr().AsSlice()
	pseudo := append(append(append([]byte{}, s...), d...), 0, protoUDP, byte(udpLen>>8), byte(udpLen))
	sum := ^checksumFold(checksumAdd(checksumAdd(0, pseudo), udp))
	if sum == 0 {
		sum = 0xffff // RFC 768: zero means "no checksum"
	}
	binary.BigEndian.PutUint16(udp[6:], sum)

	if src.Addr().Is4() {
		ip := make([]byte, ipv4HdrLen, ipv4HdrLen+udpLen)
		ip[0] = ipv4Version<<4 | ipv4IHLWords
		binary.BigEndian.PutUint16(ip[2:], uint16(ipv4HdrLen+udpLen))
		ip[8] = defaultHops
		ip[9] = protoUDP
		copy(ip[12:], s)
		copy(ip[16:], d)
		binary.BigEndian.PutUint16(ip[10:], ^checksumFold(checksumAdd(0, ip)))
		return append(ip, udp...)
	}
	ip := make([]byte, ipv6HdrLen, ipv6HdrLen+udpLen)
	ip[0] = ipv6Version << 4
	binary.BigEndian.PutUint16(ip[4:], uint16(udpLen))
	ip[6] = protoUDP
	ip[7] = defaultHops
	copy(ip[8:], s)
	copy(ip[24:], d)
	return append(ip, udp...)
}

// parseUDP returns the addresses and payload of a UDP/IP packet without
// extension headers or options; ok is false for anything else.
func parseUDP(pkt []byte) (src, dst netip.AddrPort, payload []byte, ok bool) {
	var srcAddr, dstAddr netip.Addr
	var udp []byte
	switch {
	case len(pkt) >= ipv4HdrLen && pkt[0] == ipv4Version<<4|ipv4IHLWords && pkt[9] == protoUDP:
		srcAddr = netip.AddrFrom4([4]byte(pkt[12:16]))
		dstAddr = netip.AddrFrom4([4]byte(pkt[16:20]))
		udp = pkt[ipv4HdrLen:]
	case len(pkt) >= ipv6HdrLen && pkt[0]>>4 == ipv6Version && pkt[6] == protoUDP:
		srcAddr = netip.AddrFrom16([16]byte(pkt[8:24]))
		dstAddr = netip.AddrFrom16([16]byte(pkt[24:40]))
		udp = pkt[ipv6HdrLen:]
	default:
		return src, dst, nil, false
	}
	if len(udp) < udpHdrLen {
		return src, dst, nil, false
	}
	src = netip.AddrPortFrom(srcAddr, binary.BigEndian.Uint16(udp[0:]))
	dst = netip.AddrPortFrom(dstAddr, binary.BigEndian.Uint16(udp[2:]))
	return src, dst, udp[udpHdrLen:], true
}

// checksumAdd adds b to the running one's complement sum.
func checksumAdd(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func checksumFold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}
