package wire

import (
	"encoding/binary"
	"net/netip"
)

// icmpTimeExceededReassembly is the code of time exceeded that means
// "fragment reassembly time exceeded", in ICMPv4 (RFC 792) and ICMPv6
// (RFC 4443 §3.3) alike.
const icmpTimeExceededReassembly = 1

// ipv6MinMTU is the least MTU of an IPv6 link (RFC 8200 §5), which an
// ICMPv6 error must fit (RFC 4443 §2.4(c)).
const ipv6MinMTU = 1280

// ReassemblyTimeExceeded writes into buf an ICMP time exceeded message,
// code 1 "fragment reassembly time exceeded", from src to dst, quoting
// first, the first fragment of the datagram given up, and returns its
// length. It quotes what the RFCs ask: for IPv4 the header and the first 8
// bytes of data (RFC 792), for IPv6 as much as fits in 1280 bytes (RFC 4443
// §2.4(c)). Like EchoReply it refuses addresses that are not unicast (RFC
// 1122 §3.2.2: no ICMP error to a broadcast or multicast source).
func ReassemblyTimeExceeded(buf []byte, src, dst netip.Addr, first []byte) (int, error) {
	if !isUnicast(src) || !isUnicast(dst) || len(first) == 0 {
		return 0, ErrBadAddress
	}
	ipLen, err := ipHeaderLen(src, dst)
	if err != nil {
		return 0, err
	}
	quote := first
	protocol, typ, seed := uint8(ProtoICMPv4), uint8(ICMPv4TimeExceeded), uint16(0)
	if src.Is4() {
		if len(quote) >= IPv4HeaderLen {
			quote = quote[:min(len(quote), int(quote[0]&0x0f)*4+8)]
		}
	} else {
		protocol, typ = ProtoICMPv6, ICMPv6TimeExceeded
		quote = quote[:min(len(quote), ipv6MinMTU-IPv6HeaderLen-icmpHeaderLen)]
	}
	n, err := checkSpace(buf, ipLen, icmpHeaderLen+len(quote))
	if err != nil {
		return 0, err
	}
	b := buf[ipLen:n]
	copy(b[icmpHeaderLen:], quote)
	b[0], b[1] = typ, icmpTimeExceededReassembly
	clear(b[2:icmpHeaderLen]) // checksum, then 4 unused bytes
	if protocol == ProtoICMPv6 {
		seed = PseudoHeaderSum(ProtoICMPv6, src, dst, len(b))
	}
	binary.BigEndian.PutUint16(b[2:4], Checksum(b, seed))
	writeIPHeader(buf, src, dst, protocol, 0, len(b))
	return n, nil
}
