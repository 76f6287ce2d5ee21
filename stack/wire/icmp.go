package wire

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/tunstack/tunstack/stack/tcp"
)

// ICMP types and codes that ParseICMP interprets (RFC 792, RFC 1191,
// RFC 4443).
const (
	ICMPv4EchoReply           = 0
	ICMPv4Unreachable         = 3
	ICMPv4EchoRequest         = 8
	ICMPv4TimeExceeded        = 11
	ICMPv4FragmentationNeeded = 4 // a code of ICMPv4Unreachable

	ICMPv6Unreachable  = 1
	ICMPv6PacketTooBig = 2
	ICMPv6TimeExceeded = 3
	ICMPv6EchoRequest  = 128
	ICMPv6EchoReply    = 129
)

// icmpHeaderLen is the type, code, checksum and the 4 bytes whose meaning
// depends on the type, common to every ICMPv4 and ICMPv6 message the stack
// looks at.
const icmpHeaderLen = 8

// ICMPKind is what an ICMP message means to the stack, the same for both IP
// versions.
type ICMPKind uint8

// ICMP kinds.
const (
	ICMPOther ICMPKind = iota
	ICMPEchoRequest
	ICMPEchoReply
	ICMPUnreachable  // destination unreachable, except fragmentation needed
	ICMPPacketTooBig // ICMPv6 packet too big, ICMPv4 fragmentation needed
	ICMPTimeExceeded
)

var icmpKindNames = [...]string{"other", "echo-request", "echo-reply", "unreachable", "packet-too-big", "time-exceeded"}

func (k ICMPKind) String() string {
	if int(k) < len(icmpKindNames) {
		return icmpKindNames[k]
	}
	return "ICMPKind(" + strconv.Itoa(int(k)) + ")"
}

// IsError reports whether messages of kind k quote the packet that caused
// them.
func (k ICMPKind) IsError() bool {
	return k == ICMPUnreachable || k == ICMPPacketTooBig || k == ICMPTimeExceeded
}

// ICMP is a parsed ICMPv4 or ICMPv6 message. Its slices point into the
// packet.
type ICMP struct {
	Kind       ICMPKind
	Type, Code uint8
	// ID and Seq identify an echo request or reply.
	ID, Seq uint16
	// MTU is the next-hop MTU of ICMPPacketTooBig; routers older than
	// RFC 1191 send 0 in ICMPv4.
	MTU uint32
	// Original is the packet an error message quotes (Kind.IsError).
	Original Original
	// Data follows the 8-byte header: echo data, or the quoted packet.
	Data []byte
}

// Original is what an ICMP error quotes of the packet that caused it: the
// IP header and at least the first 8 bytes after it (RFC 792, RFC 4443
// §2.4(c)). For a segment the stack sent, Src is the stack's address.
type Original struct {
	Src, Dst netip.Addr
	Protocol uint8
	// SrcPort, DstPort and, for TCP, Seq are valid if HasPorts: the quoted
	// packet was TCP or UDP and quoted far enough.
	SrcPort, DstPort uint16
	Seq              tcp.Seq
	HasPorts         bool
}

// ParseICMP verifies the checksum of the ICMPv4 or ICMPv6 message that p
// carries and parses it into m.
func ParseICMP(p *Packet, m *ICMP) error {
	protocol, seed := uint8(ProtoICMPv4), uint16(0)
	if p.Version == 6 {
		protocol = ProtoICMPv6
		seed = PseudoHeaderSum(ProtoICMPv6, p.Src, p.Dst, len(p.Payload))
	}
	if p.Protocol != protocol {
		return ErrWrongProtocol
	}
	b := p.Payload
	if len(b) < icmpHeaderLen {
		return ErrICMPTruncated
	}
	if Sum(b, seed) != 0xffff {
		return ErrBadICMPChecksum
	}
	*m = ICMP{
		Kind: icmpKind(p.Version, b[0], b[1]),
		Type: b[0],
		Code: b[1],
		Data: b[icmpHeaderLen:],
	}
	switch m.Kind {
	case ICMPEchoRequest, ICMPEchoReply:
		m.ID = binary.BigEndian.Uint16(b[4:6])
		m.Seq = binary.BigEndian.Uint16(b[6:8])
	case ICMPPacketTooBig:
		if p.Version == 4 {
			m.MTU = uint32(binary.BigEndian.Uint16(b[6:8])) // RFC 1191 §4
		} else {
			m.MTU = binary.BigEndian.Uint32(b[4:8])
		}
	}
	if m.Kind.IsError() {
		return parseOriginal(p.Version, m.Data, &m.Original)
	}
	return nil
}

func icmpKind(version, typ, code uint8) ICMPKind {
	if version == 4 {
		switch typ {
		case ICMPv4EchoRequest:
			return ICMPEchoRequest
		case ICMPv4EchoReply:
			return ICMPEchoReply
		case ICMPv4Unreachable:
			if code == ICMPv4FragmentationNeeded {
				return ICMPPacketTooBig
			}
			return ICMPUnreachable
		case ICMPv4TimeExceeded:
			return ICMPTimeExceeded
		}
		return ICMPOther
	}
	switch typ {
	case ICMPv6EchoRequest:
		return ICMPEchoRequest
	case ICMPv6EchoReply:
		return ICMPEchoReply
	case ICMPv6Unreachable:
		return ICMPUnreachable
	case ICMPv6PacketTooBig:
		return ICMPPacketTooBig
	case ICMPv6TimeExceeded:
		return ICMPTimeExceeded
	}
	return ICMPOther
}

// parseOriginal parses the quoted packet b of an ICMP error. The quote is
// cut short by design, so unlike ParseIP it neither checks lengths against
// the quoted length fields nor verifies checksums.
func parseOriginal(version uint8, b []byte, o *Original) error {
	if len(b) == 0 || b[0]>>4 != version {
		return ErrBadICMPOriginal
	}
	var headerLen int
	if version == 4 {
		if len(b) < IPv4HeaderLen {
			return ErrBadICMPOriginal
		}
		headerLen = int(b[0]&0x0f) * 4
		if headerLen < IPv4HeaderLen || headerLen > len(b) {
			return ErrBadICMPOriginal
		}
		o.Src = netip.AddrFrom4([4]byte(b[12:16]))
		o.Dst = netip.AddrFrom4([4]byte(b[16:20]))
		o.Protocol = b[9]
		if binary.BigEndian.Uint16(b[6:8])&ipv4OffsetMask != 0 {
			return nil // a later fragment: no transport header
		}
	} else {
		if len(b) < IPv6HeaderLen {
			return ErrBadICMPOriginal
		}
		header, n, _, err := walkIPv6Extensions(b, b[6])
		if err != nil {
			return ErrBadICMPOriginal
		}
		o.Src = netip.AddrFrom16([16]byte(b[8:24]))
		o.Dst = netip.AddrFrom16([16]byte(b[24:40]))
		o.Protocol, headerLen = header, n
		if header == ipv6Fragment {
			// A fragment was quoted (the stack fragments large echo
			// replies, and its reassembly time-outs quote the first
			// fragment, RFC 8200 §4.5): the upper-layer header follows
			// the fragment header in the first fragment only.
			if n+8 > len(b) {
				return ErrBadICMPOriginal
			}
			o.Protocol, headerLen = b[n], n+8
			if binary.BigEndian.Uint16(b[n+2:n+4])>>3 != 0 {
				return nil // a later fragment: no transport header
			}
		}
	}
	t := b[headerLen:]
	if (o.Protocol == ProtoTCP || o.Protocol == ProtoUDP) && len(t) >= 8 {
		o.SrcPort = binary.BigEndian.Uint16(t[0:2])
		o.DstPort = binary.BigEndian.Uint16(t[2:4])
		if o.Protocol == ProtoTCP {
			o.Seq = tcp.Seq(binary.BigEndian.Uint32(t[4:8]))
		}
		o.HasPorts = true
	}
	return nil
}

// EchoReply answers the echo request that p carries: it writes into buf
// the whole reply packet, from p.Dst back to p.Src with the request's ID,
// sequence number and data (RFC 792, RFC 4443 §4.2), and returns its
// length. buf may be the request's own buffer. The caller checks that p is
// addressed to one of its own addresses; EchoReply refuses multicast,
// broadcast and unspecified addresses, which a reply must not come from
// (RFC 1122 §3.2.2.6) or go to. Other messages give ErrNotEchoRequest.
func EchoReply(buf []byte, p *Packet) (int, error) {
	var m ICMP
	if err := ParseICMP(p, &m); err != nil {
		return 0, err
	}
	if m.Kind != ICMPEchoRequest {
		return 0, ErrNotEchoRequest
	}
	src, dst := p.Dst, p.Src
	if !isUnicast(src) || !isUnicast(dst) {
		return 0, ErrBadAddress
	}
	ipLen, err := ipHeaderLen(src, dst)
	if err != nil {
		return 0, err
	}
	n, err := checkSpace(buf, ipLen, len(p.Payload))
	if err != nil {
		return 0, err
	}
	b := buf[ipLen:n]
	copy(b, p.Payload) // before the header, which may overwrite the request's
	protocol, replyType, seed := uint8(ProtoICMPv4), uint8(ICMPv4EchoReply), uint16(0)
	if p.Version == 6 {
		protocol, replyType = ProtoICMPv6, ICMPv6EchoReply
		seed = PseudoHeaderSum(ProtoICMPv6, src, dst, len(b))
	}
	writeIPHeader(buf, src, dst, protocol, 0, len(b))
	b[0], b[1], b[2], b[3] = replyType, 0, 0, 0
	binary.BigEndian.PutUint16(b[2:4], Checksum(b, seed))
	return n, nil
}

var ipv4Broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

func isUnicast(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && a != ipv4Broadcast
}
