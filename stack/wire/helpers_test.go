package wire

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
)

var (
	host4  = netip.MustParseAddr("10.77.0.1")
	stack4 = netip.MustParseAddr("10.77.0.2")
	host6  = netip.MustParseAddr("fd00:77::1")
	stack6 = netip.MustParseAddr("fd00:77::2")
)

// naiveSum is the textbook RFC 1071 sum, the reference for Sum.
func naiveSum(b []byte, initial uint16) uint16 {
	s := uint32(initial)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// naivePseudoHeader spells the pseudo-header out byte by byte.
func naivePseudoHeader(protocol uint8, src, dst netip.Addr, length int) []byte {
	if src.Is4() {
		b := append(src.AsSlice(), dst.AsSlice()...)
		return append(b, 0, protocol, byte(length>>8), byte(length))
	}
	b := append(src.AsSlice(), dst.AsSlice()...)
	b = binary.BigEndian.AppendUint32(b, uint32(length))
	return append(b, 0, 0, 0, protocol)
}

// mustBuildTCP builds a packet carrying seg, or fails the test.
func mustBuildTCP(t testing.TB, src, dst netip.Addr, seg *tcp.Segment) []byte {
	t.Helper()
	buf := make([]byte, 65536+IPv6HeaderLen)
	n, err := BuildTCP(buf, src, dst, seg, 0)
	if err != nil {
		t.Fatalf("BuildTCP: %v", err)
	}
	return buf[:n]
}

// synSegment is a SYN with every option the engine sends.
func synSegment() *tcp.Segment {
	return &tcp.Segment{
		SrcPort: 40000, DstPort: 80,
		Seq:    1000,
		Flags:  tcp.FlagSYN,
		Window: 64240,
		Options: tcp.Options{
			MSS: 1460, WindowScale: 7, HasWindowScale: true, SACKPermitted: true,
			TSVal: 123456, TSEcr: 0, HasTimestamps: true,
		},
	}
}

// dataSegment is an established-state segment with data.
func dataSegment(n int) *tcp.Segment {
	payload := make([]byte, n)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	return &tcp.Segment{
		SrcPort: 80, DstPort: 40000,
		Seq: 5000, Ack: 1001,
		Flags:   tcp.FlagACK | tcp.FlagPSH,
		Window:  502,
		Options: tcp.Options{TSVal: 7, TSEcr: 123456, HasTimestamps: true},
		Payload: payload,
	}
}

// refreshIPv4Checksum recomputes the IPv4 header checksum of b after a test
// changed the header, with the reference sum.
func refreshIPv4Checksum(b []byte) {
	headerLen := int(b[0]&0x0f) * 4
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:12], ^naiveSum(b[:headerLen], 0))
}

// setIPLength sets the length field of the IP packet b (the whole packet
// for IPv4, the part after the fixed header for IPv6) to fit len(b).
func setIPLength(b []byte) {
	if b[0]>>4 == 4 {
		binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
		refreshIPv4Checksum(b)
		return
	}
	binary.BigEndian.PutUint16(b[4:6], uint16(len(b)-IPv6HeaderLen))
}

// refreshUpperChecksum recomputes, with the reference sum, the checksum at
// offset at of the upper-layer message that starts at headerLen in the IP
// packet b; pseudo says whether it covers a pseudo-header.
func refreshUpperChecksum(b []byte, headerLen, at int, protocol uint8, pseudo bool) {
	src, dst := packetAddrs(b)
	msg := b[headerLen:]
	msg[at], msg[at+1] = 0, 0
	var seed uint16
	if pseudo {
		seed = naiveSum(naivePseudoHeader(protocol, src, dst, len(msg)), 0)
	}
	binary.BigEndian.PutUint16(msg[at:at+2], ^naiveSum(msg, seed))
}

// refreshTCPChecksum recomputes the TCP checksum of the packet b whose IP
// header (with extensions) is headerLen long.
func refreshTCPChecksum(b []byte, headerLen int) {
	refreshUpperChecksum(b, headerLen, 16, ProtoTCP, true)
}

func packetAddrs(b []byte) (src, dst netip.Addr) {
	if b[0]>>4 == 4 {
		return netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
	}
	return netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
}

func mustParseIP(t testing.TB, b []byte) Packet {
	t.Helper()
	p, err := ParseIP(b)
	if err != nil {
		t.Fatalf("ParseIP: %v", err)
	}
	return p
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
