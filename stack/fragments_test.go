package stack

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/ipfrag"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
)

// echoListener listens on the stack's port 7 and echoes every connection.
func echoListener(t *testing.T, s *running) {
	t.Helper()
	ln, err := s.Listen("tcp", ":7")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
}

// TestFragmentedSYNAndData: a SYN and a data segment that arrive in
// fragments, out of order, are reassembled and taken like whole segments:
// the stack answers the SYN with a SYN-ACK and echoes the data.
func TestFragmentedSYNAndData(t *testing.T) {
	for _, tc := range []struct {
		name        string
		peer, stack netip.Addr
		// synCuts cut the SYN: in IPv4 the first fragment needs 16 bytes
		// (RFC 1858), in IPv6 the whole TCP header (RFC 7112), so the
		// IPv6 SYN carries data to be cut at all.
		synData string
		synCuts []int
		// dataCuts cut 3000 bytes of data with the TCP header.
		dataCuts []int
	}{
		{"IPv4", peerAddr4, stackAddr4, "", []int{16}, []int{1480, 2960}},
		{"IPv6", peerAddr6, stackAddr6, "data on the SYN, not queued", []int{24}, []int{1232, 2464}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, link := startScripted(t, Options{})
			echoListener(t, s)
			peer := &scriptedPeer{t: t, link: link, seq: 1000,
				addr: netip.AddrPortFrom(tc.peer, 40000), stack: netip.AddrPortFrom(tc.stack, 7)}

			syn := tcpPacket(peer.addr, peer.stack, tcp.Segment{Seq: peer.seq, Flags: tcp.FlagSYN, Window: 65535,
				Options: tcp.Options{MSS: 1400}, Payload: []byte(tc.synData)})
			frags := testkit.Fragments(syn, 0x1001, tc.synCuts...)
			for i := len(frags) - 1; i >= 0; i-- { // last first
				link.send(frags[i])
			}
			synAck := peer.expect(false)
			if synAck.Flags != tcp.FlagSYN|tcp.FlagACK || synAck.Ack != peer.seq+1 {
				t.Fatalf("answer to the fragmented SYN: %v, want SYN-ACK ack %d", synAck.String(), peer.seq+1)
			}
			peer.seq++
			peer.ack = synAck.Seq.Add(1)
			peer.send(tcp.FlagACK, "")

			data := bytes.Repeat([]byte("0123456789abcdef"), 3000/16+1)[:3000]
			seg := tcpPacket(peer.addr, peer.stack, tcp.Segment{Seq: peer.seq, Ack: peer.ack, Flags: tcp.FlagACK | tcp.FlagPSH, Window: 65535, Payload: data})
			frags = testkit.Fragments(seg, 0x1002, tc.dataCuts...)
			link.send(frags[1])
			link.send(frags[2])
			link.send(frags[0])
			var echoed []byte
			for len(echoed) < len(data) {
				seg := peer.expect(true)
				echoed = append(echoed, seg.Payload...)
			}
			if !bytes.Equal(echoed, data) {
				t.Errorf("echoed %d bytes that differ from the 3000 sent", len(echoed))
			}
			c := s.Counters().Fragments
			if c.Fragments != uint64(len(tc.synCuts)+1+len(tc.dataCuts)+1) || c.Reassembled != 2 || c.Pending != 0 || c.Memory != 0 {
				t.Errorf("fragment counters %+v, want %d fragments, 2 reassembled, none pending", c, len(tc.synCuts)+len(tc.dataCuts)+2)
			}
		})
	}
}

// TestOverlappingFragmentsAreDroppedAndCounted: RFC 5722, for IPv4 and
// IPv6: a fragment that overlaps one held discards the whole datagram,
// and the datagram's fragments that come after it are dropped too.
func TestOverlappingFragmentsAreDroppedAndCounted(t *testing.T) {
	for _, tc := range []struct {
		name        string
		peer, stack netip.Addr
	}{
		{"IPv4", peerAddr4, stackAddr4},
		{"IPv6", peerAddr6, stackAddr6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, link := startScripted(t, Options{})
			req := testkit.EchoRequest(tc.peer, tc.stack, 7, 1, bytes.Repeat([]byte{'x'}, 2000))
			link.send(testkit.Fragment(req, 77, 0, 1000, true))
			link.send(testkit.Fragment(req, 77, 992, 1600, true)) // 8 bytes over the first
			link.send(testkit.Fragment(req, 77, 1000, 2008, false))
			ping(t, link) // nothing answered the fragmented request before this
			c := s.Counters()
			if c.Drops["frag-overlap"] != 1 || c.Drops["frag-after-discard"] != 1 {
				t.Errorf("drops %v, want frag-overlap 1 and frag-after-discard 1", c.Drops)
			}
			if c.Fragments.Discarded["frag-overlap"] != 1 || c.Fragments.Reassembled != 0 || c.EchoReplies != 1 {
				t.Errorf("fragment counters %+v, echo replies %d; want one datagram discarded for an overlap, only the ping answered",
					c.Fragments, c.EchoReplies)
			}
		})
	}
}

// TestLargeEchoRequest: an echo request too large for the MTU comes in
// fragments and its reply goes out in fragments, each within the MTU,
// which rebuild the reply.
func TestLargeEchoRequest(t *testing.T) {
	for _, tc := range []struct {
		name        string
		peer, stack netip.Addr
		cuts        []int
	}{
		{"IPv4", peerAddr4, stackAddr4, []int{1480, 2960}},
		{"IPv6", peerAddr6, stackAddr6, []int{1448, 2896}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, link := startScripted(t, Options{})
			data := bytes.Repeat([]byte("big ping "), 400)
			for _, f := range testkit.Fragments(testkit.EchoRequest(tc.peer, tc.stack, 9, 3, data), 0xabcd, tc.cuts...) {
				link.send(f)
			}
			// The peer reassembles the reply as a host would.
			r := ipfrag.New(ipfrag.Config{})
			var reply []byte
			for n := 0; reply == nil; n++ {
				pkt := link.recv(t, testTimeout)
				if len(pkt) > 1500 {
					t.Fatalf("reply fragment %d is %d bytes, over the MTU", n, len(pkt))
				}
				f, err := wire.ParseFragment(pkt)
				if err != nil {
					t.Fatalf("reply fragment %d: %v", n, err)
				}
				if res := r.Add(time.Now(), &f); res.Reason == ipfrag.Reassembled {
					reply = bytes.Clone(res.Datagram)
				} else if res.Reason != ipfrag.Held {
					t.Fatalf("reply fragment %d: %v", n, res.Reason)
				}
			}
			checkEchoReply(t, reply, tc.stack, tc.peer, 9, 3, data)
			c := s.Counters()
			if c.EchoReplies != 1 || c.Fragments.FragmentsOut != 3 || c.Fragments.Reassembled != 1 {
				t.Errorf("echo replies %d, fragments %+v; want 1 reply in 3 fragments", c.EchoReplies, c.Fragments)
			}
		})
	}
}

// TestFragmentTimeout: a datagram whose fragments stop coming is given up
// after FragTimeout, and its source hears of it by ICMP time exceeded,
// code 1, if its first fragment had arrived (RFC 792, RFC 4443 §3.3); not
// otherwise.
func TestFragmentTimeout(t *testing.T) {
	for _, tc := range []struct {
		name        string
		peer, stack netip.Addr
		icmpType    uint8
	}{
		{"IPv4", peerAddr4, stackAddr4, wire.ICMPv4TimeExceeded},
		{"IPv6", peerAddr6, stackAddr6, wire.ICMPv6TimeExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, link := startScripted(t, Options{FragTimeout: 50 * time.Millisecond})
			syn := tcpPacket(netip.AddrPortFrom(tc.peer, 40000), netip.AddrPortFrom(tc.stack, 80),
				tcp.Segment{Seq: 1, Flags: tcp.FlagSYN, Window: 1000, Payload: make([]byte, 100)})
			// No first fragment of this one: given up in silence.
			link.send(testkit.Fragment(syn, 1, 64, 120, false))
			first := testkit.Fragment(syn, 2, 0, 64, true)
			link.send(first)

			pkt := link.recv(t, testTimeout)
			p, err := wire.ParseIP(pkt)
			if err != nil {
				t.Fatalf("answer: %v", err)
			}
			if p.Src != tc.stack || p.Dst != tc.peer || len(p.Payload) < 8 || p.Payload[0] != tc.icmpType || p.Payload[1] != 1 {
				t.Fatalf("answer %v -> %v % x, want time exceeded code 1 to the peer", p.Src, p.Dst, p.Payload[:min(8, len(p.Payload))])
			}
			// IPv4 quotes the header and 8 bytes, IPv6 the whole fragment.
			if quote := p.Payload[8:]; !bytes.HasPrefix(first, quote) || len(quote) < 28 {
				t.Errorf("quotes % x, want the start of the first fragment", quote)
			}
			testkit.Eventually(t, "both datagrams counted as timed out", func() bool {
				return s.Counters().Fragments.Discarded["frag-timeout"] == 2
			})
			ping(t, link) // no second time exceeded came before the reply
			c := s.Counters().Fragments
			if c.TimeExceeded != 1 || c.Pending != 0 || c.Memory != 0 {
				t.Errorf("fragment counters %+v, want one time exceeded sent, nothing held", c)
			}
		})
	}
}

// TestFragmentsRefused: fragments that reassembly must not take are
// dropped with their reason, and the stack goes on.
func TestFragmentsRefused(t *testing.T) {
	syn4 := func(t *testing.T) []byte {
		return tcpPacket(netip.AddrPortFrom(peerAddr4, 40000), netip.AddrPortFrom(stackAddr4, 80),
			tcp.Segment{Seq: 1, Flags: tcp.FlagSYN, Window: 1000, Payload: make([]byte, 40)})
	}
	syn6 := func(t *testing.T) []byte {
		return tcpPacket(netip.AddrPortFrom(peerAddr6, 40000), netip.AddrPortFrom(stackAddr6, 80),
			tcp.Segment{Seq: 1, Flags: tcp.FlagSYN, Window: 1000, Options: tcp.Options{MSS: 1220}, Payload: make([]byte, 40)})
	}
	for _, tc := range []struct {
		name   string
		opts   Options
		packet func(t *testing.T) []byte
		reason string
	}{
		// RFC 1858 §3.2, RFC 3128.
		{"IPv4 TCP at offset 8", Options{}, func(t *testing.T) []byte { return testkit.Fragment(syn4(t), 1, 8, 60, false) }, "frag-tiny"},
		{"IPv4 TCP first fragment of 8 bytes", Options{}, func(t *testing.T) []byte { return testkit.Fragment(syn4(t), 1, 0, 8, true) }, "frag-tiny"},
		// RFC 7112: the MSS option left out of the first fragment.
		{"IPv6 header chain cut", Options{}, func(t *testing.T) []byte { return testkit.Fragment(syn6(t), 1, 0, 16, true) }, "frag-incomplete-chain"},
		{"not a multiple of 8", Options{}, func(t *testing.T) []byte { return testkit.Fragment(syn4(t), 1, 16, 36, true) }, "frag-bad-length"},
		// An atomic fragment around another fragment.
		{"nested fragment header", Options{}, func(t *testing.T) []byte {
			inner := testkit.Fragment(syn6(t), 5, 0, 32, true)
			return testkit.Fragment(inner, 6, 0, len(inner)-40, false)
		}, "frag-nested"},
		{"reassembly off", Options{FragMemory: -1}, func(t *testing.T) []byte { return testkit.Fragment(syn4(t), 1, 0, 16, true) }, "ip-fragment"},
		{"not our address", Options{}, func(t *testing.T) []byte {
			other := tcpPacket(netip.AddrPortFrom(peerAddr4, 40000), netip.MustParseAddrPort("10.77.0.99:80"),
				tcp.Segment{Seq: 1, Flags: tcp.FlagSYN, Payload: make([]byte, 40)})
			return testkit.Fragment(other, 1, 0, 16, true)
		}, dropNotOurAddress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, link := startScripted(t, tc.opts)
			link.send(tc.packet(t))
			ping(t, link)
			c := s.Counters()
			if c.Drops[tc.reason] != 1 || c.Fragments.Fragments != 1 && tc.reason != "frag-nested" {
				t.Errorf("drops %v, fragments %d; want %s: 1 of 1 fragment", c.Drops, c.Fragments.Fragments, tc.reason)
			}
			if c.Fragments.Pending != 0 {
				t.Errorf("%d datagrams pending, want none", c.Fragments.Pending)
			}
		})
	}
}

// TestAtomicFragment: an IPv6 fragment header with offset 0 and no M flag
// wraps a whole packet, which is answered (RFC 6946).
func TestAtomicFragment(t *testing.T) {
	s, link := startScripted(t, Options{})
	req := testkit.EchoRequest(peerAddr6, stackAddr6, 4, 2, []byte("atomic"))
	link.send(testkit.Fragment(req, 3, 0, len(req)-wire.IPv6HeaderLen, false))
	checkEchoReply(t, link.recv(t, testTimeout), stackAddr6, peerAddr6, 4, 2, []byte("atomic"))
	if c := s.Counters().Fragments; c.Atomic != 1 || c.Fragments != 1 {
		t.Errorf("fragment counters %+v, want one atomic fragment", c)
	}
}

// TestFragmentMemoryBound: a flood of first fragments that never complete
// holds no more than FragMemory; the oldest are evicted and counted, and
// a datagram whose fragments arrive together still gets through.
func TestFragmentMemoryBound(t *testing.T) {
	const bound = 256 << 10
	s, link := startScripted(t, Options{FragMemory: bound})
	req := testkit.EchoRequest(peerAddr4, stackAddr4, 5, 5, make([]byte, 1200))
	const flood = 2000
	for id := range uint32(flood) {
		link.send(testkit.Fragment(req, id, 0, 600, true))
		if id%500 == 499 {
			ping(t, link) // keep the link's queue from overflowing
		}
	}
	for _, f := range testkit.Fragments(req, flood, 600) {
		link.send(f)
	}
	reply := link.recv(t, testTimeout)
	checkEchoReply(t, reply, stackAddr4, peerAddr4, 5, 5, make([]byte, 1200))
	c := s.Counters().Fragments
	t.Logf("after the flood: %+v", c)
	if c.Memory > bound || c.Memory < bound/2 || c.Pending == 0 {
		t.Errorf("memory %d for %d datagrams pending, want up to %d and most of it used", c.Memory, c.Pending, bound)
	}
	if c.Discarded["frag-evicted"] < flood-c.Pending-1 || c.Reassembled != 1 {
		t.Errorf("fragment counters %+v, want every datagram not pending evicted and one reassembled", c)
	}
}
