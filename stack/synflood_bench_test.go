package stack

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// discardLink is a link that takes every packet written and reads
// nothing: the cost of the stack alone, without a device or a peer.
type discardLink struct{ written int }

func (l *discardLink) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	select {} // never: the benchmarks feed the stack by hand
}
func (l *discardLink) Write(bufs [][]byte, offset int) (int, error) {
	l.written += len(bufs)
	return len(bufs), nil
}
func (l *discardLink) BatchSize() int    { return 1 }
func (l *discardLink) MTU() (int, error) { return 1500, nil }
func (l *discardLink) Close() error      { return nil }

// BenchmarkSYNFloodInput measures what a spoofed SYN to a flooded
// listener costs the stack between the link's read and its write: one
// read of one packet (inputBatch, as a TUN device hands them over), its
// SYN cookie, and the SYN-ACK built and written. Half the SYNs carry a
// real client's options (the cookie then rides in the timestamp too),
// half none, as TestSYNFloodHonestClientsConnect sends them.
func BenchmarkSYNFloodInput(b *testing.B) {
	link := &discardLink{}
	s, err := New(link, Options{Addrs: []netip.Addr{stackAddr4}, SynCookies: SynCookiesAlways, TCP: tcp.Config{ISNKey: [16]byte{1}}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Listen("tcp", ":80"); err != nil {
		b.Fatal(err)
	}
	const distinct = 1024
	syns := make([][]byte, distinct)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range syns {
		syns[i] = make([]byte, Headroom+maxPacket)
	}
	sizes := make([]int, distinct)
	for i := range syns {
		sizes[i] = benchSpoofedSYN(rng, syns[i][Headroom:], stackAddr4, 80)
	}
	cookies0 := s.counters.sent.load(tcp.ReasonSynCookieSent)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		j := i % distinct
		if !s.inputBatch(syns[j:j+1], sizes[j:j+1], false) {
			b.Fatal("the loop ended")
		}
	}
	b.StopTimer()
	s.flush()
	if sent := s.counters.sent.load(tcp.ReasonSynCookieSent) - cookies0; sent != uint64(b.N) || link.written != b.N {
		b.Fatalf("%d SYNs: %d cookies sent, %d packets written", b.N, sent, link.written)
	}
}

// benchSpoofedSYN writes a SYN from a random source in 198.18.0.0/15 into
// b and returns its length.
func benchSpoofedSYN(rng *rand.Rand, b []byte, dst netip.Addr, port uint16) int {
	r := rng.Uint64()
	var src [4]byte
	binary.BigEndian.PutUint32(src[:], 198<<24|18<<16|uint32(r)&(1<<17-1))
	seg := tcp.Segment{SrcPort: uint16(r>>32) | 1024, DstPort: port, Seq: tcp.Seq(rng.Uint32()), Flags: tcp.FlagSYN, Window: 64240}
	if r>>48&1 == 1 {
		seg.Options = tcp.Options{MSS: 1460, HasWindowScale: true, WindowScale: 7, SACKPermitted: true, HasTimestamps: true, TSVal: uint32(r)}
	}
	n, err := wire.BuildTCP(b, netip.AddrFrom4(src), dst, &seg, 64)
	if err != nil {
		panic(err)
	}
	return n
}
