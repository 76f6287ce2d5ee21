package wire

import (
	"encoding/binary"
	"net/netip"
)

// Header sizes and protocol numbers.
const (
	IPv4HeaderLen = 20 // without options
	IPv6HeaderLen = 40 // without extension headers
	TCPHeaderLen  = 20 // without options

	ProtoICMPv4 = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58

	// DefaultTTL is the TTL and hop limit of the packets the stack builds
	// (RFC 1700's recommendation, and what Linux uses).
	DefaultTTL = 64
)

// IPv6 extension headers that ParseIP knows (RFC 8200 §4).
const (
	ipv6HopByHop    = 0
	ipv6Routing     = 43
	ipv6Fragment    = 44
	ipv6DestOptions = 60
)

// IPv4 flags and fragment offset (RFC 791 §3.1).
const (
	ipv4DontFragment  = 0x4000
	ipv4MoreFragments = 0x2000
	ipv4OffsetMask    = 0x1fff
)

// Packet is a parsed IP packet. Its slices point into the buffer given to
// ParseIP.
type Packet struct {
	Version  uint8 // 4 or 6
	Src, Dst netip.Addr
	// Protocol is the IPv4 protocol, or for IPv6 the next header after the
	// extension headers ParseIP skipped.
	Protocol uint8
	// TTL is the IPv4 time to live or the IPv6 hop limit.
	TTL uint8
	// HeaderLen is the length of the IPv4 header with its options, or of the
	// IPv6 header with its extension headers: where Payload starts in Raw.
	HeaderLen int
	// Payload is the upper-layer message, without link padding.
	Payload []byte
	// Raw is the whole IP packet, without link padding.
	Raw []byte
}

// ParseIP parses the IP header at the start of b, which holds one IPv4 or
// IPv6 packet and perhaps link padding after it. It verifies the IPv4
// header checksum; upper-layer checksums are for ParseTCP and ParseICMP.
func ParseIP(b []byte) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, ErrTruncated
	}
	switch b[0] >> 4 {
	case 4:
		return parseIPv4(b)
	case 6:
		return parseIPv6(b)
	}
	return Packet{}, ErrBadVersion
}

// parseIPv4 parses an IPv4 header (RFC 791 §3.1).
func parseIPv4(b []byte) (Packet, error) {
	headerLen, total, err := checkIPv4(b)
	if err != nil {
		return Packet{}, err
	}
	if binary.BigEndian.Uint16(b[6:8])&(ipv4MoreFragments|ipv4OffsetMask) != 0 {
		return Packet{}, ErrFragment
	}
	b = b[:total:total]
	return Packet{
		Version:   4,
		Src:       netip.AddrFrom4([4]byte(b[12:16])),
		Dst:       netip.AddrFrom4([4]byte(b[16:20])),
		Protocol:  b[9],
		TTL:       b[8],
		HeaderLen: headerLen,
		Payload:   b[headerLen:],
		Raw:       b,
	}, nil
}

// checkIPv4 checks the IPv4 header at the start of b: its length, checksum
// and total length; it returns the header's length and the packet's.
func checkIPv4(b []byte) (headerLen, total int, err error) {
	if len(b) < IPv4HeaderLen {
		return 0, 0, ErrTruncated
	}
	headerLen = int(b[0]&0x0f) * 4
	if headerLen < IPv4HeaderLen {
		return 0, 0, ErrBadHeaderLength
	}
	if headerLen > len(b) {
		return 0, 0, ErrTruncated
	}
	if Sum(b[:headerLen], 0) != 0xffff {
		return 0, 0, ErrBadIPChecksum
	}
	total = int(binary.BigEndian.Uint16(b[2:4]))
	if total < headerLen || total > len(b) {
		return 0, 0, ErrBadLength
	}
	return headerLen, total, nil
}

// parseIPv6 parses an IPv6 header (RFC 8200 §3) and skips the extension
// headers a host processes and then ignores.
func parseIPv6(b []byte) (Packet, error) {
	if len(b) < IPv6HeaderLen {
		return Packet{}, ErrTruncated
	}
	total := IPv6HeaderLen + int(binary.BigEndian.Uint16(b[4:6]))
	if total > len(b) {
		return Packet{}, ErrBadLength
	}
	b = b[:total:total]
	protocol, headerLen, err := skipIPv6Extensions(b, b[6])
	if err != nil {
		return Packet{}, err
	}
	return Packet{
		Version:   6,
		Src:       netip.AddrFrom16([16]byte(b[8:24])),
		Dst:       netip.AddrFrom16([16]byte(b[24:40])),
		Protocol:  protocol,
		TTL:       b[7],
		HeaderLen: headerLen,
		Payload:   b[headerLen:],
		Raw:       b,
	}, nil
}

// skipIPv6Extensions walks the extension headers after the fixed IPv6
// header in b, starting with next header next, and returns the upper-layer
// protocol and where it starts. The options of hop-by-hop and destination
// options headers are ignored: the stack implements none of them, and an
// option whose type says "discard if unrecognized" is so rare that ignoring
// it is the pragmatic choice.
func skipIPv6Extensions(b []byte, next uint8) (protocol uint8, offset int, err error) {
	protocol, offset, _, err = walkIPv6Extensions(b, next)
	if err == nil && protocol == ipv6Fragment {
		return 0, 0, ErrFragment
	}
	return protocol, offset, err
}

// walkIPv6Extensions skips the extension headers that skipIPv6Extensions
// skips and stops at the first other header: the upper-layer header or a
// fragment header. It returns that header's type, where it starts, and
// where the next-header byte that names it is (6, in the fixed header, if
// no extension header came before it).
func walkIPv6Extensions(b []byte, next uint8) (header uint8, offset, nextAt int, err error) {
	offset, nextAt = IPv6HeaderLen, 6
	for {
		switch next {
		case ipv6HopByHop, ipv6Routing, ipv6DestOptions:
		default:
			return next, offset, nextAt, nil
		}
		// Every header here starts with next header and a length in
		// 8-byte units not counting the first 8 (RFC 8200 §4.3–§4.6).
		if offset+8 > len(b) {
			return 0, 0, 0, ErrTruncated
		}
		length := (int(b[offset+1]) + 1) * 8
		if offset+length > len(b) {
			return 0, 0, 0, ErrTruncated
		}
		// Segments left non-zero means this host is not the final
		// destination; RFC 8200 §4.4 has it forward or reject.
		if next == ipv6Routing && b[offset+3] != 0 {
			return 0, 0, 0, ErrRoutingHeader
		}
		next, nextAt = b[offset], offset
		offset += length
	}
}
