package testkit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Packet is an IP packet as Decode finds it.
type Packet struct {
	Version  int // 4 or 6
	Src, Dst netip.Addr
	TTL      uint8 // the hop limit, for IPv6
	// ID is the IPv4 Identification, or the IPv6 fragment header's.
	ID           uint32
	DontFragment bool // IPv4's DF flag
	// IsFragment says the packet is a fragment: an IPv4 one with MF or an
	// offset, an IPv6 one with a fragment header. Its upper layer is not
	// decoded.
	IsFragment     bool
	FragmentOffset int // in bytes
	MoreFragments  bool
	// HeaderChecksumOK: the IPv4 header checksum verifies (always true for
	// IPv6, which has none).
	HeaderChecksumOK bool
	// Protocol is the upper layer: IPv4's protocol, or the header that
	// follows IPv6's extension headers (a fragment's next header).
	Protocol uint8
	// Payload is the upper-layer message, or a fragment's data.
	Payload []byte
	// ChecksumOK: the upper layer's checksum verifies (TCP, UDP, ICMP).
	ChecksumOK bool
	// One of these is set for a whole TCP, UDP or ICMP message.
	TCP  *Segment
	UDP  *Datagram
	ICMP *ICMPMessage
}

// Datagram is a UDP datagram as Decode finds it.
type Datagram struct {
	SrcPort, DstPort uint16
	Payload          []byte
}

// ICMPMessage is an ICMP or ICMPv6 message as Decode finds it.
type ICMPMessage struct {
	Version    int // of the IP packet: 4 for ICMP, 6 for ICMPv6
	Type, Code uint8
	Rest       uint32 // the header's second word
	Data       []byte
}

// Decode decodes the IP packet b: the IPv4 or IPv6 header (IPv6 extension
// headers skipped), and a whole TCP segment (header and options decoded by
// gopacket), UDP datagram or ICMP message. Checksums are reported, not
// enforced. Slices in the result point into b. It fails on anything that
// does not parse: a bad version or length, a header cut short, TCP
// options whose lengths do not add up.
func Decode(b []byte) (*Packet, error) {
	if len(b) == 0 {
		return nil, errTruncated
	}
	var p *Packet
	var err error
	switch b[0] >> 4 {
	case 4:
		p, err = decodeIPv4(b)
	case 6:
		p, err = decodeIPv6(b)
	default:
		return nil, fmt.Errorf("IP version %d", b[0]>>4)
	}
	if err != nil || p.IsFragment {
		return p, err
	}
	p.ChecksumOK = upperChecksumOK(p.Payload, p.Protocol, p.Src, p.Dst)
	switch {
	case p.Protocol == ProtoTCP:
		p.TCP, err = decodeTCP(p.Payload)
	case p.Protocol == ProtoUDP:
		p.UDP, err = decodeUDP(p.Payload)
	case p.Protocol == ProtoICMPv4 && p.Version == 4, p.Protocol == ProtoICMPv6 && p.Version == 6:
		if len(p.Payload) < 8 {
			return nil, fmt.Errorf("ICMP: %w", errTruncated)
		}
		p.ICMP = &ICMPMessage{Version: p.Version, Type: p.Payload[0], Code: p.Payload[1],
			Rest: binary.BigEndian.Uint32(p.Payload[4:]), Data: p.Payload[8:]}
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

func decodeIPv4(b []byte) (*Packet, error) {
	if len(b) < IPv4HeaderLen {
		return nil, fmt.Errorf("IPv4: %w", errTruncated)
	}
	ihl, total := int(b[0]&0x0f)*4, int(binary.BigEndian.Uint16(b[2:]))
	if ihl < IPv4HeaderLen || total < ihl || total > len(b) {
		return nil, fmt.Errorf("IPv4: header length %d, total length %d in %d bytes", ihl, total, len(b))
	}
	flags := binary.BigEndian.Uint16(b[6:])
	return &Packet{
		Version: 4, Src: netip.AddrFrom4([4]byte(b[12:16])), Dst: netip.AddrFrom4([4]byte(b[16:20])),
		TTL: b[8], ID: uint32(binary.BigEndian.Uint16(b[4:])), DontFragment: flags&0x4000 != 0,
		IsFragment: flags&0x3fff != 0, FragmentOffset: int(flags&0x1fff) * 8, MoreFragments: flags&0x2000 != 0,
		HeaderChecksumOK: Checksum(b[:ihl], 0) == 0,
		Protocol:         b[9], Payload: b[ihl:total],
	}, nil
}

func decodeIPv6(b []byte) (*Packet, error) {
	if len(b) < IPv6HeaderLen {
		return nil, fmt.Errorf("IPv6: %w", errTruncated)
	}
	end := IPv6HeaderLen + int(binary.BigEndian.Uint16(b[4:]))
	if end > len(b) {
		return nil, fmt.Errorf("IPv6: payload length %d in %d bytes", end-IPv6HeaderLen, len(b))
	}
	b = b[:end]
	protocol, at, err := skipExtensions(b)
	if err != nil {
		return nil, fmt.Errorf("IPv6 extension headers: %w", err)
	}
	p := &Packet{Version: 6, Src: netip.AddrFrom16([16]byte(b[8:24])), Dst: netip.AddrFrom16([16]byte(b[24:40])),
		TTL: b[7], HeaderChecksumOK: true, Protocol: protocol, Payload: b[at:]}
	if protocol == ExtFragment {
		if len(p.Payload) < 8 {
			return nil, fmt.Errorf("IPv6 fragment header: %w", errTruncated)
		}
		f := p.Payload
		offset := binary.BigEndian.Uint16(f[2:])
		p.IsFragment, p.Protocol = true, f[0]
		p.FragmentOffset, p.MoreFragments = int(offset>>3)*8, offset&1 != 0
		p.ID, p.Payload = binary.BigEndian.Uint32(f[4:]), f[8:]
	}
	return p, nil
}

func decodeUDP(b []byte) (*Datagram, error) {
	if len(b) < 8 || int(binary.BigEndian.Uint16(b[4:])) != len(b) {
		return nil, fmt.Errorf("UDP: length field does not match %d bytes", len(b))
	}
	return &Datagram{SrcPort: binary.BigEndian.Uint16(b), DstPort: binary.BigEndian.Uint16(b[2:]), Payload: b[8:]}, nil
}

// errBadOptions: the option bytes do not parse as options.
var errBadOptions = errors.New("TCP options do not parse")

// decodeTCP decodes a TCP segment with gopacket, which implements the
// header and its options apart from stack/wire.
func decodeTCP(b []byte) (*Segment, error) {
	var l layers.TCP
	if err := l.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		return nil, fmt.Errorf("TCP: %w", err)
	}
	s := &Segment{
		SrcPort: uint16(l.SrcPort), DstPort: uint16(l.DstPort), Seq: l.Seq, Ack: l.Ack,
		Flags: Flags(b[13]), Window: l.Window, Urgent: l.Urgent,
		RawOptions: b[20 : int(l.DataOffset)*4], Payload: l.Payload,
	}
	ended := false
	for _, o := range l.Options {
		if err := s.Options.add(o); err != nil {
			return nil, err
		}
		ended = ended || o.OptionType == layers.TCPOptionKindEndList
	}
	if !ended && len(l.Padding) > 0 {
		// gopacket stopped at an option whose length runs past the end.
		return nil, fmt.Errorf("%w: %x", errBadOptions, l.Padding)
	}
	return s, nil
}

// add records one option gopacket decoded, checking its length.
func (o *Options) add(opt layers.TCPOption) error {
	data := opt.OptionData
	bad := func() error {
		return fmt.Errorf("%w: kind %d with %d bytes of data", errBadOptions, opt.OptionType, len(data))
	}
	switch opt.OptionType {
	case layers.TCPOptionKindEndList, layers.TCPOptionKindNop:
	case OptMSS:
		if len(data) != 2 {
			return bad()
		}
		o.MSS = binary.BigEndian.Uint16(data)
	case OptWindowScale:
		if len(data) != 1 {
			return bad()
		}
		o.WindowScale, o.HasWindowScale = data[0], true
	case OptSACKPermitted:
		if len(data) != 0 {
			return bad()
		}
		o.SACKPermitted = true
	case OptSACK:
		if len(data) == 0 || len(data)%8 != 0 {
			return bad()
		}
		for i := 0; i < len(data); i += 8 {
			o.SACK = append(o.SACK, SACKBlock{binary.BigEndian.Uint32(data[i:]), binary.BigEndian.Uint32(data[i+4:])})
		}
	case OptTimestamps:
		if len(data) != 8 {
			return bad()
		}
		o.TSVal, o.TSEcr, o.HasTimestamps = binary.BigEndian.Uint32(data), binary.BigEndian.Uint32(data[4:]), true
	default:
		o.Other = append(o.Other, uint8(opt.OptionType))
	}
	return nil
}
