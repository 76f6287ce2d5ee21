package wire

import (
	"encoding/binary"
	"net/netip"

	"github.com/tunstack/tunstack/stack/tcp"
)

// ParseTCP parses the TCP segment that p carries (RFC 9293 §3.1) into seg,
// after verifying its checksum over the pseudo-header. seg.Payload is a
// sub-slice of p.Payload. On error seg holds partial results.
func ParseTCP(p *Packet, seg *tcp.Segment) error {
	return parseTCP(p, seg, true)
}

// ParseTCPChecksummed is ParseTCP without the checksum verification, for
// a segment whose checksum the device that delivered it has just computed
// over these very bytes (a TUN that split a GSO super-packet from the
// local kernel): verifying it again could only repeat that sum.
func ParseTCPChecksummed(p *Packet, seg *tcp.Segment) error {
	return parseTCP(p, seg, false)
}

func parseTCP(p *Packet, seg *tcp.Segment, verify bool) error {
	if p.Protocol != ProtoTCP {
		return ErrWrongProtocol
	}
	b := p.Payload
	if len(b) < TCPHeaderLen {
		return ErrTCPTruncated
	}
	if verify && Sum(b, PseudoHeaderSum(ProtoTCP, p.Src, p.Dst, len(b))) != 0xffff {
		return ErrBadTCPChecksum
	}
	dataOffset := int(b[12]>>4) * 4
	if dataOffset < TCPHeaderLen || dataOffset > len(b) {
		return ErrBadDataOffset
	}
	seg.SrcPort = binary.BigEndian.Uint16(b[0:2])
	seg.DstPort = binary.BigEndian.Uint16(b[2:4])
	seg.Seq = tcp.Seq(binary.BigEndian.Uint32(b[4:8]))
	seg.Ack = tcp.Seq(binary.BigEndian.Uint32(b[8:12]))
	seg.Flags = tcp.Flags(b[13]) // the control bits sit in tcp.Flags' order
	seg.Window = binary.BigEndian.Uint16(b[14:16])
	seg.Urgent = binary.BigEndian.Uint16(b[18:20])
	seg.Payload = b[dataOffset:len(b):len(b)]
	return parseOptions(b[TCPHeaderLen:dataOffset], &seg.Options)
}

// BuildTCP writes into buf an IPv4 or IPv6 packet, by the family of src and
// dst, carrying seg with its options and payload, fills in both checksums
// and returns the packet's length. ttl 0 means DefaultTTL. IPv4 packets have
// DF set and ID 0, which RFC 6864 §4.1 allows for atomic datagrams.
// IPv4-mapped IPv6 addresses count as IPv4: they never appear on the wire
// (RFC 4291 §2.5.5.2).
func BuildTCP(buf []byte, src, dst netip.Addr, seg *tcp.Segment, ttl uint8) (int, error) {
	src, dst = src.Unmap(), dst.Unmap()
	ipLen, err := ipHeaderLen(src, dst)
	if err != nil {
		return 0, err
	}
	optLen := optionsLen(&seg.Options)
	tcpLen := TCPHeaderLen + optLen + len(seg.Payload)
	n, err := checkSpace(buf, ipLen, tcpLen)
	if err != nil {
		return 0, err
	}
	writeIPHeader(buf, src, dst, ProtoTCP, ttl, tcpLen)
	b := buf[ipLen:n]
	binary.BigEndian.PutUint16(b[0:2], seg.SrcPort)
	binary.BigEndian.PutUint16(b[2:4], seg.DstPort)
	binary.BigEndian.PutUint32(b[4:8], uint32(seg.Seq))
	binary.BigEndian.PutUint32(b[8:12], uint32(seg.Ack))
	b[12] = uint8((TCPHeaderLen+optLen)/4) << 4 // data offset in 32-bit words
	b[13] = uint8(seg.Flags)
	binary.BigEndian.PutUint16(b[14:16], seg.Window)
	b[16], b[17] = 0, 0
	binary.BigEndian.PutUint16(b[18:20], seg.Urgent)
	writeOptions(b[TCPHeaderLen:], &seg.Options)
	copy(b[TCPHeaderLen+optLen:], seg.Payload)
	binary.BigEndian.PutUint16(b[16:18], Checksum(b, PseudoHeaderSum(ProtoTCP, src, dst, tcpLen)))
	return n, nil
}
