package wire

import (
	"encoding/binary"
	"net/netip"
)

// UDPHeaderLen is the size of the UDP header (RFC 768).
const UDPHeaderLen = 8

// Largest UDP payloads an IP length field allows: IPv4 counts its header in
// its 16-bit total length, IPv6 does not (RFC 8200 §3; jumbograms, RFC
// 2675, are not supported).
const (
	MaxUDPPayload4 = 0xffff - IPv4HeaderLen - UDPHeaderLen
	MaxUDPPayload6 = 0xffff - UDPHeaderLen
)

// UDP is a parsed UDP datagram. Payload points into the packet.
type UDP struct {
	SrcPort, DstPort uint16
	Payload          []byte
}

// ParseUDP parses the UDP datagram that p carries (RFC 768) into d. It
// checks the length field, which may be less than the IP payload (the rest
// is ignored, as padding) but not more, and the checksum: in IPv4 a zero
// checksum means the sender computed none (RFC 768); in IPv6 the checksum
// is mandatory and a zero one is an error (RFC 8200 §8.1: "IPv6 receivers
// must discard UDP packets containing a zero checksum").
func ParseUDP(p *Packet, d *UDP) error {
	if p.Protocol != ProtoUDP {
		return ErrWrongProtocol
	}
	b := p.Payload
	if len(b) < UDPHeaderLen {
		return ErrUDPTruncated
	}
	length := int(binary.BigEndian.Uint16(b[4:6]))
	if length < UDPHeaderLen || length > len(b) {
		return ErrBadUDPLength
	}
	b = b[:length:length]
	switch sum := binary.BigEndian.Uint16(b[6:8]); {
	case sum == 0 && p.Version == 4:
	case sum == 0:
		return ErrUDPZeroChecksum
	case Sum(b, PseudoHeaderSum(ProtoUDP, p.Src, p.Dst, length)) != 0xffff:
		return ErrBadUDPChecksum
	}
	d.SrcPort = binary.BigEndian.Uint16(b[0:2])
	d.DstPort = binary.BigEndian.Uint16(b[2:4])
	d.Payload = b[UDPHeaderLen:]
	return nil
}

// UDPPacketLen is the length of the IP packet BuildUDP writes for
// payloadLen bytes from an address of src's family.
func UDPPacketLen(src netip.Addr, payloadLen int) int {
	if src.Unmap().Is4() {
		return IPv4HeaderLen + UDPHeaderLen + payloadLen
	}
	return IPv6HeaderLen + UDPHeaderLen + payloadLen
}

// BuildUDP writes into buf an IPv4 or IPv6 packet, by the family of src
// and dst, carrying a UDP datagram with payload, and returns its length.
// It always computes the checksum, and sends a computed zero as 0xffff
// (RFC 768; RFC 8200 §8.1), since zero means "none". IPv4 packets have DF
// set and ID 0, as BuildTCP's: a packet larger than the link's MTU is cut
// with BuildFragment, which gives the fragments an ID and clears DF.
func BuildUDP(buf []byte, src, dst netip.AddrPort, payload []byte) (int, error) {
	sa, da := src.Addr().Unmap(), dst.Addr().Unmap()
	if !isUnicast(sa) || !isUnicast(da) {
		return 0, ErrBadAddress
	}
	ipLen, err := ipHeaderLen(sa, da)
	if err != nil {
		return 0, err
	}
	udpLen := UDPHeaderLen + len(payload)
	if udpLen > 0xffff {
		return 0, ErrPacketTooLong
	}
	n, err := checkSpace(buf, ipLen, udpLen)
	if err != nil {
		return 0, err
	}
	b := buf[ipLen:n]
	copy(b[UDPHeaderLen:], payload) // payload may not overlap buf's header
	binary.BigEndian.PutUint16(b[0:2], src.Port())
	binary.BigEndian.PutUint16(b[2:4], dst.Port())
	binary.BigEndian.PutUint16(b[4:6], uint16(udpLen))
	b[6], b[7] = 0, 0
	sum := Checksum(b, PseudoHeaderSum(ProtoUDP, sa, da, udpLen))
	if sum == 0 {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(b[6:8], sum)
	writeIPHeader(buf, sa, da, ProtoUDP, 0, udpLen)
	return n, nil
}
