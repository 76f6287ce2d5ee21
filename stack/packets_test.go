package stack

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// Addresses of the tests: the stack under test and the peer that scripts
// packets or runs a second stack.
var (
	stackAddr4 = netip.MustParseAddr("10.77.0.2")
	stackAddr6 = netip.MustParseAddr("fd00:77::2")
	peerAddr4  = netip.MustParseAddr("10.77.0.1")
	peerAddr6  = netip.MustParseAddr("fd00:77::1")
)

// tcpPacket builds an IP packet carrying seg from src to dst; the ports
// come from the addresses.
func tcpPacket(t *testing.T, src, dst netip.AddrPort, seg tcp.Segment) []byte {
	t.Helper()
	seg.SrcPort, seg.DstPort = src.Port(), dst.Port()
	buf := make([]byte, maxPacket)
	n, err := wire.BuildTCP(buf, src.Addr(), dst.Addr(), &seg, 0)
	if err != nil {
		t.Fatalf("BuildTCP: %v", err)
	}
	return buf[:n]
}

// echoRequest builds an ICMPv4 or ICMPv6 echo request.
func echoRequest(src, dst netip.Addr, id, seq uint16, data []byte) []byte {
	msg := make([]byte, 8+len(data))
	msg[0] = wire.ICMPv4EchoRequest
	proto := uint8(wire.ProtoICMPv4)
	var seed uint16
	if src.Is6() {
		msg[0] = wire.ICMPv6EchoRequest
		proto = wire.ProtoICMPv6
		seed = wire.PseudoHeaderSum(proto, src, dst, len(msg))
	}
	binary.BigEndian.PutUint16(msg[4:], id)
	binary.BigEndian.PutUint16(msg[6:], seq)
	copy(msg[8:], data)
	binary.BigEndian.PutUint16(msg[2:], wire.Checksum(msg, seed))
	return ipPacket(src, dst, proto, msg)
}

// ipPacket wraps payload in a minimal IPv4 or IPv6 header.
func ipPacket(src, dst netip.Addr, proto uint8, payload []byte) []byte {
	if src.Is4() {
		h := make([]byte, 20, 20+len(payload))
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
		h[8], h[9] = 64, proto
		s, d := src.As4(), dst.As4()
		copy(h[12:], s[:])
		copy(h[16:], d[:])
		binary.BigEndian.PutUint16(h[10:], wire.Checksum(h, 0))
		return append(h, payload...)
	}
	h := make([]byte, 40, 40+len(payload))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6], h[7] = proto, 64
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, payload...)
}

// parseTCP parses a packet the stack sent, failing the test if it is not
// a valid TCP segment.
func parseTCP(t *testing.T, pkt []byte) (wire.Packet, tcp.Segment) {
	t.Helper()
	p, err := wire.ParseIP(pkt)
	if err != nil {
		t.Fatalf("stack sent a bad IP packet: %v", err)
	}
	var seg tcp.Segment
	if err := wire.ParseTCP(&p, &seg); err != nil {
		t.Fatalf("stack sent a bad TCP segment: %v", err)
	}
	return p, seg
}

// fixTCPChecksum recomputes the checksum of the IPv4 TCP packet pkt after
// a test changed its header.
func fixTCPChecksum(pkt []byte) {
	src := netip.AddrFrom4([4]byte(pkt[12:16]))
	dst := netip.AddrFrom4([4]byte(pkt[16:20]))
	seg := pkt[20:]
	seg[16], seg[17] = 0, 0
	binary.BigEndian.PutUint16(seg[16:], wire.Checksum(seg, wire.PseudoHeaderSum(wire.ProtoTCP, src, dst, len(seg))))
}
