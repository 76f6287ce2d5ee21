package rawpeer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
	"golang.org/x/sys/unix"
)

// Direction says which way a captured packet crossed the device.
type Direction uint8

const (
	// FromStack packets were written into the TUN by the stack: the kernel
	// received them.
	FromStack Direction = iota
	// ToStack packets were sent by the kernel into the TUN: the peer's
	// packets, and anything else the kernel routed to the stack.
	ToStack
)

func (d Direction) String() string {
	if d == FromStack {
		return "stack->peer"
	}
	return "peer->stack"
}

// Packet is one captured IP packet. Seg is set when Protocol is TCP and the
// segment parsed; its payload points into Raw.
type Packet struct {
	At       time.Time
	Dir      Direction
	Src, Dst netip.Addr
	Protocol uint8
	Seg      tcp.Segment
	// Raw is the packet as the kernel takes it (testkit's checkers read
	// it): a copy of what was captured, with the TCP checksum that a
	// coalesced segment leaves to the kernel filled in.
	Raw []byte
	// Frag describes an IP fragment, which carries no whole segment:
	// Protocol is then its IPv4 protocol or its fragment header's next
	// header. Nil for a whole packet.
	Frag *Fragment
	// Err is why the packet did not parse, if it did not.
	Err error
	// GSOSize is the segment size of a GSO super-packet (a TSO or USO
	// packet: several segments of one flow coalesced into one buffer,
	// which the kernel takes as those segments), 0 for a plain packet.
	GSOSize int
}

// vnetHeaderLen is the length of the virtio-net header (struct
// virtio_net_hdr) in front of each frame the capture reads.
const vnetHeaderLen = 10

// gsoSize reads the segment size from a virtio-net header: its gso_size
// field, in host byte order, when its gso_type is not VIRTIO_NET_HDR_GSO_NONE.
func gsoSize(h []byte) int {
	if h[1] == unix.VIRTIO_NET_HDR_GSO_NONE {
		return 0
	}
	return int(binary.NativeEndian.Uint16(h[4:6]))
}

// SegmentSizes returns the payload sizes of the TCP segments p stands for:
// one, or for a GSO super-packet the pieces of GSOSize it is cut into.
func (p Packet) SegmentSizes() []int {
	n := len(p.Seg.Payload)
	if p.GSOSize == 0 || n <= p.GSOSize {
		return []int{n}
	}
	var sizes []int
	for ; n > p.GSOSize; n -= p.GSOSize {
		sizes = append(sizes, p.GSOSize)
	}
	return append(sizes, n)
}

// Fragment is what a captured IP fragment says of its place.
type Fragment struct {
	ID          uint32
	Offset, Len int
	More        bool
}

// IsTCP reports whether p carries a whole TCP segment that parsed.
func (p Packet) IsTCP() bool { return p.Protocol == wire.ProtoTCP && p.Err == nil && p.Frag == nil }

// String renders p as one line of a ladder, like
// "stack->peer 10.77.0.2:7 > 10.77.0.3:40000 SYN-ACK seq=1 ack=2 win=65535 len=0".
func (p Packet) String() string {
	switch {
	case p.Err != nil:
		return fmt.Sprintf("%v %v > %v unparsable: %v", p.Dir, p.Src, p.Dst, p.Err)
	case p.Frag != nil:
		more := ""
		if p.Frag.More {
			more = " more"
		}
		return fmt.Sprintf("%v %v > %v fragment id=%#x offset=%d len=%d%s protocol %d",
			p.Dir, p.Src, p.Dst, p.Frag.ID, p.Frag.Offset, p.Frag.Len, more, p.Protocol)
	case p.Protocol != wire.ProtoTCP:
		return fmt.Sprintf("%v %v > %v protocol %d", p.Dir, p.Src, p.Dst, p.Protocol)
	}
	gso := ""
	if p.GSOSize > 0 {
		gso = fmt.Sprintf(" gso=%d", p.GSOSize)
	}
	return fmt.Sprintf("%v %v > %v %s%s%s",
		p.Dir, netip.AddrPortFrom(p.Src, p.Seg.SrcPort), netip.AddrPortFrom(p.Dst, p.Seg.DstPort), p.Seg.String(), options(p.Seg.Options), gso)
}

// options renders the options a segment carries, like " <mss 1460,sackOK>",
// or nothing when it has none.
func options(o tcp.Options) string {
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
	if len(parts) == 0 {
		return ""
	}
	return " <" + strings.Join(parts, ",") + ">"
}

// parsePacket parses a captured IP packet; the result owns its memory.
// needsCsum says its virtio-net header has VIRTIO_NET_HDR_F_NEEDS_CSUM:
// the kernel's own segments to the stack on a TUN with offloads carry only
// the pseudo-header's sum, which the device is to complete.
func parsePacket(b []byte, at time.Time, dir Direction, needsCsum bool) Packet {
	b = bytes.Clone(b)
	ip, err := wire.ParseIP(b)
	if err == wire.ErrFragment {
		f, err := wire.ParseFragment(b)
		if err != nil {
			return Packet{At: at, Dir: dir, Err: err}
		}
		return Packet{At: at, Dir: dir, Src: f.Src, Dst: f.Dst, Protocol: f.Protocol, Raw: b,
			Frag: &Fragment{ID: f.ID, Offset: f.Offset, Len: len(f.Data), More: f.More}}
	}
	if err != nil {
		return Packet{At: at, Dir: dir, Err: err}
	}
	p := Packet{At: at, Dir: dir, Src: ip.Src, Dst: ip.Dst, Protocol: ip.Protocol, Raw: ip.Raw}
	if ip.Protocol != wire.ProtoTCP {
		return p
	}
	p.Err = wire.ParseTCP(&ip, &p.Seg)
	if p.Err == wire.ErrBadTCPChecksum && (dir == FromStack || needsCsum) && partialChecksum(&ip) {
		p.Err = wire.ParseTCPChecksummed(&ip, &p.Seg)
		testkit.FixChecksums(p.Raw)
	}
	if p.Err != nil {
		p.Seg = tcp.Segment{}
	}
	return p
}

// partialChecksum reports whether the TCP segment in ip has in its checksum
// field the sum of its pseudo-header only: a segment that the stack's TUN
// offload coalesced with others (GRO) carries that and leaves the rest of
// the sum to the kernel (virtio-net's NEEDS_CSUM), and the capture sees it
// before the kernel completes it.
func partialChecksum(ip *wire.Packet) bool {
	if len(ip.Payload) < wire.TCPHeaderLen {
		return false
	}
	field := uint16(ip.Payload[16])<<8 | uint16(ip.Payload[17])
	pseudo := wire.PseudoHeaderSum(wire.ProtoTCP, ip.Src, ip.Dst, len(ip.Payload))
	return field == pseudo || field == ^pseudo
}
