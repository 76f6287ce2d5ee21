package ipfrag

import (
	"testing"

	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
)

// BenchmarkReassemble rebuilds a 4,000-byte IPv4 datagram from three
// fragments that arrive out of order.
func BenchmarkReassemble(b *testing.B) {
	pkt := testkit.IPPacket(src4, dst4, wire.ProtoUDP, payload(4000))
	frags := []*wire.Fragment{
		fragment(b, pkt, 1, 1480, 2960, true),
		fragment(b, pkt, 1, 2960, 4000, false),
		fragment(b, pkt, 1, 0, 1480, true),
	}
	r := New(Config{})
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range frags {
			r.Add(t0, f)
		}
	}
	if r.Pending() != 0 {
		b.Fatal("a datagram was left incomplete")
	}
}
