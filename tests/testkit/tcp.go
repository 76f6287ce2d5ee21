package testkit

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// Flags are the control bits of a TCP header (RFC 9293 §3.1), with the
// values they have on the wire: tcp.Flags converts to them as they are.
type Flags uint8

// Control bits.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

var flagNames = [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}

// String names the set bits, like "SYN|ACK", or "none".
func (f Flags) String() string {
	if f == 0 {
		return "none"
	}
	var names []string
	for i, name := range flagNames {
		if f&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return strings.Join(names, "|")
}

// TCP option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018).
const (
	OptEnd           = 0
	OptNOP           = 1
	OptMSS           = 2
	OptWindowScale   = 3
	OptSACKPermitted = 4
	OptSACK          = 5
	OptTimestamps    = 8
)

// SACKBlock is one block of a SACK option (RFC 2018 §3): Left..Right-1
// were received.
type SACKBlock struct {
	Left, Right uint32
}

// Options are the TCP options testkit builds and decodes. The zero value
// is no options.
type Options struct {
	MSS            uint16 // 0: no MSS option
	WindowScale    uint8  // the shift, if HasWindowScale
	HasWindowScale bool
	SACKPermitted  bool
	TSVal, TSEcr   uint32 // if HasTimestamps
	HasTimestamps  bool
	SACK           []SACKBlock // nil or empty: no SACK option
	// Other lists the kinds of the options Decode found that are none of
	// the above; the builders refuse it (use Segment.RawOptions).
	Other []uint8
}

// String renders the options like tcpdump, " <mss 1460,sackOK,...>", or
// "" when there are none.
func (o Options) String() string {
	var parts []string
	if o.MSS != 0 {
		parts = append(parts, fmt.Sprintf("mss %d", o.MSS))
	}
	if o.HasWindowScale {
		parts = append(parts, fmt.Sprintf("wscale %d", o.WindowScale))
	}
	if o.SACKPermitted {
		parts = append(parts, "sackOK")
	}
	if o.HasTimestamps {
		parts = append(parts, fmt.Sprintf("TS val %d ecr %d", o.TSVal, o.TSEcr))
	}
	for _, b := range o.SACK {
		parts = append(parts, fmt.Sprintf("sack %d:%d", b.Left, b.Right))
	}
	for _, k := range o.Other {
		parts = append(parts, fmt.Sprintf("kind %d", k))
	}
	if len(parts) == 0 {
		return ""
	}
	return " <" + strings.Join(parts, ",") + ">"
}

// Segment is a TCP segment: what TCPPacket builds, and what Decode finds.
type Segment struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            Flags
	Window           uint16
	Urgent           uint16
	Options          Options
	// RawOptions, when building, are written as they are in place of
	// Options (padded to a multiple of 4 bytes with zeros), for tests of
	// malformed options; Decode sets them to the option bytes it found.
	RawOptions []byte
	Payload    []byte
}

// String renders s like "SYN|ACK seq=1 ack=2 win=65535 len=0 <mss 1460>".
func (s *Segment) String() string {
	return fmt.Sprintf("%v seq=%d ack=%d win=%d len=%d%s", s.Flags, s.Seq, s.Ack, s.Window, len(s.Payload), s.Options)
}

// TCPPacket builds an IPv4 or IPv6 packet (after src's family) carrying
// the segment s from src to dst, with every checksum right. The ports come
// from src and dst; s's are ignored.
func TCPPacket(src, dst netip.AddrPort, s Segment) []byte {
	return AppendTCPPacket(nil, src, dst, s)
}

// AppendTCPPacket is TCPPacket appending to b, for a loop that reuses one
// buffer: it allocates nothing when b has room.
func AppendTCPPacket(b []byte, src, dst netip.AddrPort, s Segment) []byte {
	options := s.RawOptions
	var scratch [40]byte
	if options == nil {
		options = appendOptions(scratch[:0], &s.Options)
	}
	headerLen := 20 + (len(options)+3)&^3
	if headerLen > 60 {
		panic(fmt.Sprintf("testkit: %d bytes of TCP options, at most 40 fit", len(options)))
	}
	start := len(b)
	b = appendIPHeader(b, src.Addr(), dst.Addr(), ProtoTCP, headerLen+len(s.Payload))
	ipEnd := len(b)
	var h [20]byte
	binary.BigEndian.PutUint16(h[0:], src.Port())
	binary.BigEndian.PutUint16(h[2:], dst.Port())
	binary.BigEndian.PutUint32(h[4:], s.Seq)
	binary.BigEndian.PutUint32(h[8:], s.Ack)
	h[12] = byte(headerLen/4) << 4
	h[13] = byte(s.Flags)
	binary.BigEndian.PutUint16(h[14:], s.Window)
	binary.BigEndian.PutUint16(h[18:], s.Urgent)
	b = append(b, h[:]...)
	b = append(b, options...)
	for range headerLen - 20 - len(options) {
		b = append(b, OptEnd)
	}
	b = append(b, s.Payload...)
	if src.Addr().Is4() {
		setIPv4HeaderChecksum(b[start:ipEnd])
	}
	setUpperChecksum(b[ipEnd:], ProtoTCP, src.Addr(), dst.Addr())
	return b
}

// appendOptions encodes o, each option aligned on 4 bytes with NOPs in
// front, in the order Linux sends them.
func appendOptions(b []byte, o *Options) []byte {
	if len(o.Other) > 0 {
		panic("testkit: options of other kinds: build them as RawOptions")
	}
	if o.MSS != 0 {
		b = append(b, OptMSS, 4, byte(o.MSS>>8), byte(o.MSS))
	}
	if o.SACKPermitted {
		b = append(b, OptNOP, OptNOP, OptSACKPermitted, 2)
	}
	if o.HasTimestamps {
		b = append(b, OptNOP, OptNOP, OptTimestamps, 10)
		b = binary.BigEndian.AppendUint32(b, o.TSVal)
		b = binary.BigEndian.AppendUint32(b, o.TSEcr)
	}
	if o.HasWindowScale {
		b = append(b, OptNOP, OptWindowScale, 3, o.WindowScale)
	}
	if len(o.SACK) > 0 {
		b = append(b, OptNOP, OptNOP, OptSACK, byte(2+8*len(o.SACK)))
		for _, s := range o.SACK {
			b = binary.BigEndian.AppendUint32(b, s.Left)
			b = binary.BigEndian.AppendUint32(b, s.Right)
		}
	}
	return b
}
