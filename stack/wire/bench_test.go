package wire

import (
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

var benchFamilies = []struct {
	name     string
	src, dst netip.Addr
}{{"ipv4", host4, stack4}, {"ipv6", host6, stack6}}

func BenchmarkParseTCP(b *testing.B) {
	for _, fam := range benchFamilies {
		b.Run(fam.name, func(b *testing.B) {
			packet := mustBuildTCP(b, fam.src, fam.dst, dataSegment(1448))
			var seg tcp.Segment
			b.SetBytes(int64(len(packet)))
			b.ReportAllocs()
			for b.Loop() {
				p, err := ParseIP(packet)
				if err != nil {
					b.Fatal(err)
				}
				if err := ParseTCP(&p, &seg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBuildTCP(b *testing.B) {
	for _, fam := range benchFamilies {
		b.Run(fam.name, func(b *testing.B) {
			seg := dataSegment(1448)
			buf := make([]byte, 1600)
			b.SetBytes(int64(len(mustBuildTCP(b, fam.src, fam.dst, seg))))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := BuildTCP(buf, fam.src, fam.dst, seg, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkChecksum1500(b *testing.B) {
	data := make([]byte, 1500)
	for i := range data {
		data[i] = byte(i)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var sink uint16
	for b.Loop() {
		sink += Checksum(data, 0)
	}
	_ = sink
}

// TestZeroAllocs holds the hot path to no allocations per packet.
func TestZeroAllocs(t *testing.T) {
	for _, fam := range benchFamilies {
		packet := mustBuildTCP(t, fam.src, fam.dst, dataSegment(100))
		seg := dataSegment(100)
		buf := make([]byte, 1600)
		echo := testkit.ICMPPacket(fam.src, fam.dst, ICMPv4EchoRequest, 0, 1, []byte("ping"))
		if fam.src.Is6() {
			echo = testkit.ICMPPacket(fam.src, fam.dst, ICMPv6EchoRequest, 0, 1, []byte("ping"))
		}
		echoPacket := mustParseIP(t, echo)
		for _, tc := range []struct {
			name string
			f    func()
		}{
			{"ParseIP+ParseTCP", func() {
				p, _ := ParseIP(packet)
				var s tcp.Segment
				if err := ParseTCP(&p, &s); err != nil {
					t.Fatal(err)
				}
			}},
			{"BuildTCP", func() {
				if _, err := BuildTCP(buf, fam.src, fam.dst, seg, 0); err != nil {
					t.Fatal(err)
				}
			}},
			{"ParseICMP", func() {
				var m ICMP
				if err := ParseICMP(&echoPacket, &m); err != nil {
					t.Fatal(err)
				}
			}},
			{"EchoReply", func() {
				if _, err := EchoReply(buf, &echoPacket); err != nil {
					t.Fatal(err)
				}
			}},
			{"rejected packet", func() {
				if _, err := ParseIP(packet[:10]); DropReason(err) != "ip-truncated" {
					t.Fatal(err)
				}
			}},
		} {
			if n := testing.AllocsPerRun(100, tc.f); n != 0 {
				t.Errorf("%s %s: %v allocations, want 0", fam.name, tc.name, n)
			}
		}
	}
}
