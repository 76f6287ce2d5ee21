package stack

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

func TestMalformedPacketsAreCountedAndDropped(t *testing.T) {
	peerPort := netip.AddrPortFrom(peerAddr4, 40000)
	stackPort := netip.AddrPortFrom(stackAddr4, 80)
	syn := func(t *testing.T) []byte {
		return tcpPacket(peerPort, stackPort, tcp.Segment{Seq: 1000, Flags: tcp.FlagSYN, Window: 65535})
	}
	tests := []struct {
		name   string
		packet func(t *testing.T) []byte
		reason string
	}{
		{"empty", func(t *testing.T) []byte { return nil }, "ip-truncated"},
		{"truncated IP header", func(t *testing.T) []byte { return syn(t)[:12] }, "ip-truncated"},
		{"garbage", func(t *testing.T) []byte { return []byte{0xff, 0x13, 0x37, 0x42, 0, 0, 0, 0} }, "ip-bad-version"},
		{"bad IP checksum", func(t *testing.T) []byte {
			p := syn(t)
			p[10] ^= 0xff
			return p
		}, "ip-bad-checksum"},
		{"length field past the end", func(t *testing.T) []byte {
			p := syn(t)
			return p[:len(p)-4]
		}, "ip-bad-length"},
		{"truncated TCP header", func(t *testing.T) []byte {
			return testkit.IPPacket(peerAddr4, stackAddr4, 6, make([]byte, 12))
		}, "tcp-truncated"},
		{"bad TCP checksum", func(t *testing.T) []byte {
			p := syn(t)
			p[len(p)-1] ^= 0x55
			return p
		}, "tcp-bad-checksum"},
		{"data offset below 5", func(t *testing.T) []byte {
			p := syn(t)
			p[20+12] = 4 << 4
			testkit.FixChecksums(p)
			return p
		}, "tcp-bad-data-offset"},
		{"data offset past the segment", func(t *testing.T) []byte {
			p := syn(t)
			p[20+12] = 15 << 4
			testkit.FixChecksums(p)
			return p
		}, "tcp-bad-data-offset"},
		{"not our address", func(t *testing.T) []byte {
			return tcpPacket(peerPort, netip.MustParseAddrPort("10.77.0.99:80"), tcp.Segment{Flags: tcp.FlagSYN})
		}, dropNotOurAddress},
		{"UDP with a length of 0", func(t *testing.T) []byte {
			return testkit.IPPacket(peerAddr4, stackAddr4, 17, make([]byte, 8))
		}, "udp-bad-length"},
		{"neither TCP, UDP nor ICMP", func(t *testing.T) []byte {
			return testkit.IPPacket(peerAddr4, stackAddr4, 132, make([]byte, 8)) // SCTP
		}, dropUnknownProtocol},
		{"ICMP that is not an echo request", func(t *testing.T) []byte {
			p := testkit.EchoRequest(peerAddr4, stackAddr4, 1, 1, nil)
			p[20] = 0 // an echo reply; its checksum is now wrong as well
			return p
		}, "icmp-bad-checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, peer := startScripted(t, Options{})
			peer.send(tt.packet(t))
			ping(t, peer) // proves the loop survived and handled the packet
			// The peer can see the reply before Write returns and the
			// loop counts it.
			testkit.Eventually(t, "the echo reply counted", func() bool { return s.Counters().PacketsOut > 0 })
			c := s.Counters()
			if c.Drops[tt.reason] != 1 {
				t.Errorf("Drops = %v, want %s: 1", c.Drops, tt.reason)
			}
			if c.PacketsIn != 2 || c.PacketsOut != 1 {
				t.Errorf("packets in %d out %d, want 2 1 (nothing answered but the ping)", c.PacketsIn, c.PacketsOut)
			}
		})
	}
}

func TestRandomGarbageNeverStopsTheStack(t *testing.T) {
	s, peer := startScripted(t, Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	valid := tcpPacket(netip.AddrPortFrom(peerAddr4, 40000), netip.AddrPortFrom(stackAddr4, 80),
		tcp.Segment{Seq: 1, Flags: tcp.FlagSYN, Payload: []byte("some data")})
	const packets = 2000
	for i := range packets {
		var p []byte
		if i%2 == 0 {
			p = make([]byte, rng.IntN(80))
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
		} else { // a valid packet with a few bytes changed
			p = append([]byte(nil), valid...)
			for range 1 + rng.IntN(3) {
				p[rng.IntN(len(p))] ^= byte(1 + rng.IntN(255))
			}
		}
		peer.send(p)
		if i%500 == 0 {
			ping(t, peer) // keep the link's queue from overflowing
		}
	}
	ping(t, peer)
	if c := s.Counters(); c.PacketsIn < packets {
		t.Errorf("PacketsIn = %d, want at least %d", c.PacketsIn, packets)
	}
}
