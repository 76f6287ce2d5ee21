package stack

import (
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
	"github.com/tunstack/tunstack/tests/testkit/fromtcp"
)

// Addresses of the tests: the stack under test and the peer that scripts
// packets or runs a second stack.
var (
	stackAddr4 = netip.MustParseAddr("10.77.0.2")
	stackAddr6 = netip.MustParseAddr("fd00:77::2")
	peerAddr4  = netip.MustParseAddr("10.77.0.1")
	peerAddr6  = netip.MustParseAddr("fd00:77::1")
)

// tcpPacket builds, with testkit, an IP packet carrying seg from src to
// dst; the ports come from the addresses.
func tcpPacket(src, dst netip.AddrPort, seg tcp.Segment) []byte {
	return testkit.TCPPacket(src, dst, fromtcp.Segment(&seg))
}

// parseTCP parses a packet the stack sent into the engine's types, for a
// test that scripts its next segment from it, failing the test if it is
// not a valid TCP segment.
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
