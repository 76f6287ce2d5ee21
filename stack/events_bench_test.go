package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// BenchmarkSegmentInput measures the stack's input path for an in-order
// data segment on an established connection (parse, demultiplex, engine,
// ACK out), with nobody tracing and with a subscriber taking every event:
// the cost of the trace. Idle, it must allocate nothing.
func BenchmarkSegmentInput(b *testing.B) {
	for _, traced := range []bool{false, true} {
		name := "idle"
		if traced {
			name = "traced"
		}
		b.Run(name, func(b *testing.B) {
			s, c, next := establishedForBench(b)
			if traced {
				events, cancel := s.Subscribe(4096)
				defer cancel()
				go func() {
					for range events {
					}
				}()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				s.input(next())
				s.endBatch() // a read of one packet
				s.out.reset()
			}
			b.StopTimer()
			if st := c.engine.State(); st != tcp.Established {
				b.Fatalf("connection in %v after the run", st)
			}
		})
	}
}

// establishedForBench drives a stack that does not run its loop through a
// passive open by hand, and returns the connection and a function that
// gives the next in-order 1000-byte segment from the peer.
func establishedForBench(b testing.TB) (*Stack, *Conn, func() []byte) {
	b.Helper()
	link, _ := newMemLinkPair()
	s, err := New(link, Options{Addrs: []netip.Addr{stackAddr4}, TCP: tcp.Config{ISNKey: [16]byte{1}, DelayedACK: -1}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Listen("tcp", ":9"); err != nil {
		b.Fatal(err)
	}
	s.now = time.Unix(1_000_000, 0)
	peer := netip.AddrPortFrom(peerAddr4, 40000)
	local := netip.AddrPortFrom(stackAddr4, 9)
	buf := make([]byte, 2048)
	build := func(seg tcp.Segment) []byte {
		seg.SrcPort, seg.DstPort = peer.Port(), local.Port()
		n, err := wire.BuildTCP(buf, peer.Addr(), local.Addr(), &seg, 64)
		if err != nil {
			b.Fatal(err)
		}
		return buf[:n]
	}
	s.input(build(tcp.Segment{Flags: tcp.FlagSYN, Seq: 1000, Window: 65535}))
	c := s.conns[tcp.ID{Local: local, Remote: peer}]
	if c == nil {
		b.Fatal("no connection after the SYN")
	}
	iss := c.engine.Status().ISS
	s.out.reset()
	s.input(build(tcp.Segment{Flags: tcp.FlagACK, Seq: 1001, Ack: iss.Add(1), Window: 65535}))
	s.out.reset()
	c.readClosed = true // the loop discards what arrives: the window stays open
	payload := make([]byte, 1000)
	seq := tcp.Seq(1001)
	return s, c, func() []byte {
		pkt := build(tcp.Segment{Flags: tcp.FlagACK | tcp.FlagPSH, Seq: seq, Ack: iss.Add(1), Window: 65535, Payload: payload})
		seq = seq.Add(uint32(len(payload)))
		return pkt
	}
}

// The input path of an in-order segment, ACK included, allocates nothing
// (what BenchmarkSegmentInput reports, kept as a test so that a change
// that makes a packet escape to the heap fails here).
func TestSegmentInputAllocatesNothing(t *testing.T) {
	s, _, next := establishedForBench(t)
	allocs := testing.AllocsPerRun(1000, func() {
		s.input(next())
		s.endBatch()
		s.out.reset()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per segment, want 0", allocs)
	}
}
