package stack

import (
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
)

// rawTCP builds a TCP packet from src:40000 to dst:80 with any addresses
// at all, a correct checksum included, so that only the addresses are
// wrong with it.
func rawTCP(src, dst netip.Addr, seg tcp.Segment) []byte {
	return tcpPacket(netip.AddrPortFrom(src, 40000), netip.AddrPortFrom(dst, 80), seg)
}

// TestMartianPacketsDropped: packets from sources no honest host sends
// from, and TCP to broadcast or multicast, are dropped at IP input, each
// counted by its reason: a SYN to a listening port makes no connection and
// draws no SYN-ACK, an echo request draws no reply (RFC 1122 §3.2.1.3,
// §4.2.3.10; RFC 1812 §5.3.7; RFC 4291).
func TestMartianPacketsDropped(t *testing.T) {
	addr := netip.MustParseAddr
	tests := []struct {
		name     string
		src, dst netip.Addr
		reason   string
	}{
		{"limited broadcast source", addr("255.255.255.255"), stackAddr4, dropMartianSourceBroadcast},
		{"IPv4 multicast source", addr("224.0.0.1"), stackAddr4, dropMartianSourceMulticast},
		{"IPv6 multicast source", addr("ff02::1"), stackAddr6, dropMartianSourceMulticast},
		{"IPv4 loopback source", addr("127.0.0.1"), stackAddr4, dropMartianSourceLoopback},
		{"IPv4 loopback source, not .1", addr("127.8.9.10"), stackAddr4, dropMartianSourceLoopback},
		{"IPv6 loopback source", addr("::1"), stackAddr6, dropMartianSourceLoopback},
		{"IPv4 unspecified source", addr("0.0.0.0"), stackAddr4, dropMartianSourceUnspecified},
		{"IPv4 this-network source", addr("0.1.2.3"), stackAddr4, dropMartianSourceUnspecified},
		{"IPv6 unspecified source", addr("::"), stackAddr6, dropMartianSourceUnspecified},
		{"class E source", addr("240.0.0.1"), stackAddr4, dropMartianSourceClassE},
		{"class E source, high", addr("254.255.255.254"), stackAddr4, dropMartianSourceClassE},
		{"the stack's own IPv4 address", stackAddr4, stackAddr4, dropMartianSourceOwnAddress},
		{"the stack's own IPv6 address", stackAddr6, stackAddr6, dropMartianSourceOwnAddress},
		{"IPv4-mapped IPv6 source", addr("::ffff:10.77.0.1"), stackAddr6, dropMartianSourceIPv4Mapped},
		{"TCP to limited broadcast", peerAddr4, addr("255.255.255.255"), dropMartianDestBroadcast},
		{"TCP to IPv4 multicast", peerAddr4, addr("224.0.0.1"), dropMartianDestMulticast},
		{"TCP to IPv6 multicast", peerAddr6, addr("ff02::1"), dropMartianDestMulticast},
		{"TCP to another host", peerAddr4, addr("10.77.0.99"), dropNotOurAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, peer := startScripted(t, Options{})
			if _, err := s.Listen("tcp", ":80"); err != nil {
				t.Fatal(err)
			}
			events, stop := s.Subscribe(64)
			defer stop()
			peer.send(rawTCP(tt.src, tt.dst, tcp.Segment{Seq: 1000, Flags: tcp.FlagSYN, Window: 65535, Options: tcp.Options{MSS: 1460}}))
			want := 1
			if tt.dst == stackAddr4 || tt.dst == stackAddr6 {
				// An echo request from the same source draws no reply either.
				peer.send(testkit.EchoRequest(tt.src, tt.dst, 7, 1, []byte("martian")))
				want = 2
			}
			ping(t, peer) // the ping's reply is the first packet back: nothing answered the martians
			c := s.Counters()
			if c.Drops[tt.reason] != uint64(want) {
				t.Errorf("Drops = %v, want %s: %d", c.Drops, tt.reason, want)
			}
			if c.SegmentsIn != 0 || c.SegmentsOut != 0 || c.EchoReplies != 1 || c.MIB.PassiveOpens != 0 {
				t.Errorf("segments in %d out %d, echo replies %d, passive opens %d: want only the ping's reply",
					c.SegmentsIn, c.SegmentsOut, c.EchoReplies, c.MIB.PassiveOpens)
			}
			if n := len(s.Connections()); n != 2 { // the two listeners
				t.Errorf("%d connections and listeners, want the 2 listeners", n)
			}
			// The drop is traced with the packet's addresses.
			e := <-events
			if e.Kind != EventDrop || e.Detail != tt.reason || e.Src != tt.src || e.Dst != tt.dst || DropText(tt.reason) == "" {
				t.Errorf("event %+v, want the drop of %v > %v for %s, with a text", e, tt.src, tt.dst, tt.reason)
			}
		})
	}
}

// TestNonTCPToMulticastIsNotMartian: the kernel's own multicast chatter on
// the link (router solicitations, MLD) is just not for the stack.
func TestNonTCPToMulticastIsNotMartian(t *testing.T) {
	s, peer := startScripted(t, Options{})
	peer.send(testkit.IPPacket(netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::2"), wire.ProtoICMPv6, make([]byte, 8)))
	ping(t, peer)
	if c := s.Counters(); c.Drops[dropNotOurAddress] != 1 {
		t.Errorf("Drops = %v, want not-our-address: 1", c.Drops)
	}
}

// TestMartianFragmentsMakeNoState: a fragment from a martian source is
// dropped before the reassembler holds anything of it.
func TestMartianFragmentsMakeNoState(t *testing.T) {
	s, peer := startScripted(t, Options{})
	src := netip.MustParseAddr("127.0.0.1")
	syn := rawTCP(src, stackAddr4, tcp.Segment{Seq: 1000, Flags: tcp.FlagSYN, Window: 65535, Options: tcp.Options{MSS: 1460}})
	peer.send(testkit.Fragment(syn, 7, 0, 16, true))
	ping(t, peer)
	c := s.Counters()
	if c.Drops[dropMartianSourceLoopback] != 1 {
		t.Errorf("Drops = %v, want %s: 1", c.Drops, dropMartianSourceLoopback)
	}
	if c.Fragments.Pending != 0 || c.Fragments.Memory != 0 {
		t.Errorf("reassembler holds %d datagrams, %d bytes; want none", c.Fragments.Pending, c.Fragments.Memory)
	}
}
