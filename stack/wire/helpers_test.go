package wire

import (
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

var (
	host4  = netip.MustParseAddr("10.77.0.1")
	stack4 = netip.MustParseAddr("10.77.0.2")
	host6  = netip.MustParseAddr("fd00:77::1")
	stack6 = netip.MustParseAddr("fd00:77::2")
)

// referenceSum is testkit's plain RFC 1071 sum (before the complement),
// the reference for Sum.
func referenceSum(b []byte, initial uint16) uint16 { return ^testkit.Checksum(b, initial) }

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

func mustParseIP(t testing.TB, b []byte) Packet {
	t.Helper()
	p, err := ParseIP(b)
	if err != nil {
		t.Fatalf("ParseIP: %v", err)
	}
	return p
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
