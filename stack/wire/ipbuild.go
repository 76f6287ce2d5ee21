package wire

import (
	"encoding/binary"
	"net/netip"
)

// ipHeaderLen is the length of the header writeIPHeader writes from src to
// dst, or ErrBadAddress if they are not two valid addresses of one family.
// Both must be unmapped.
func ipHeaderLen(src, dst netip.Addr) (int, error) {
	switch {
	case !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4():
		return 0, ErrBadAddress
	case src.Is4():
		return IPv4HeaderLen, nil
	}
	return IPv6HeaderLen, nil
}

// checkSpace returns the length of a packet of an ipLen-byte header and
// payloadLen bytes after it, or an error if the IP length field cannot hold
// it or buf cannot.
func checkSpace(buf []byte, ipLen, payloadLen int) (int, error) {
	total := ipLen + payloadLen
	// IPv4 counts the header in its length field; IPv6 does not.
	if payloadLen > 0xffff || ipLen == IPv4HeaderLen && total > 0xffff {
		return 0, ErrPacketTooLong
	}
	if total > len(buf) {
		return 0, ErrBufferTooSmall
	}
	return total, nil
}

// writeIPHeader writes at the start of buf the IP header of a packet from
// src to dst carrying payloadLen bytes of protocol. src and dst are
// unmapped and of one family (ipHeaderLen checked them), and buf has room
// (checkSpace checked it). ttl 0 means DefaultTTL.
func writeIPHeader(buf []byte, src, dst netip.Addr, protocol uint8, ttl uint8, payloadLen int) {
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if src.Is4() {
		h := buf[:IPv4HeaderLen]
		h[0] = 4<<4 | IPv4HeaderLen/4
		h[1] = 0 // DSCP and ECN
		binary.BigEndian.PutUint16(h[2:4], uint16(IPv4HeaderLen+payloadLen))
		binary.BigEndian.PutUint16(h[4:6], 0) // ID: the packet is atomic (RFC 6864 §4.1)
		binary.BigEndian.PutUint16(h[6:8], ipv4DontFragment)
		h[8] = ttl
		h[9] = protocol
		h[10], h[11] = 0, 0
		s, d := src.As4(), dst.As4()
		copy(h[12:16], s[:])
		copy(h[16:20], d[:])
		binary.BigEndian.PutUint16(h[10:12], Checksum(h, 0))
		return
	}
	h := buf[:IPv6HeaderLen]
	binary.BigEndian.PutUint32(h[0:4], 6<<28) // traffic class and flow label 0
	binary.BigEndian.PutUint16(h[4:6], uint16(payloadLen))
	h[6] = protocol
	h[7] = ttl
	s, d := src.As16(), dst.As16()
	copy(h[8:24], s[:])
	copy(h[24:40], d[:])
}
