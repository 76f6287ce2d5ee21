package stack

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
)

// The stack's fuzz targets feed its whole input path (IP, fragment
// reassembly, martian filtering, ICMP, demultiplexing, listeners and their
// queues, SYN cookies, TIME-WAIT records, the engine, the services'
// queues) over a fuzzHost, and check its invariants after every step
// (fuzzhost_*_test.go). FuzzStackPackets sends packets as the input spells
// them, byte for byte; FuzzStackSession (fuzz_session_test.go) plays peers
// that know the sequence numbers, so that its segments get past the
// checksum and the window and reach every state.

// FuzzStackPackets: the input is a list of packets, each a control byte,
// a 16-bit length and the packet. Bit 0 of the control byte fixes the
// packet's checksums (IPv4 header, TCP, ICMP) so that a mutated header
// still gets past them; bit 1 puts the packet in the same read as the
// next one; bits 2-7 let time pass after it (fuzzDuration).
func FuzzStackPackets(f *testing.F) {
	h := newFuzzHost(f)
	for _, seed := range packetSeeds(h) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		defer testkit.HangWatchdog(fuzzHangLimit)()
		h := newFuzzHost(t)
		for len(in) >= 3 {
			ctl, n := in[0], int(binary.BigEndian.Uint16(in[1:3]))
			in = in[3:]
			p := in[:min(n, len(in))]
			in = in[len(p):]
			p = append([]byte(nil), p...)
			if ctl&1 != 0 {
				testkit.FixChecksums(p)
			}
			h.batched = ctl&2 != 0
			h.packet(p)
			if d := fuzzDuration(ctl >> 2); d > 0 {
				h.advance(d)
			}
		}
		h.drain()
	})
}

// packetSeeds are packets of every kind the stack takes, valid for the
// host's established connections: data, a FIN, a RST, a SYN to each
// service, ICMP errors quoting a connection's segment, an echo request,
// an IPv6 packet with an extension header, IPv4 options, fragments.
func packetSeeds(h *fuzzHost) [][]byte {
	f4, f6 := h.flows[0], h.flows[1]
	data4 := h.buildSegment(f4, tcp.FlagACK|tcp.FlagPSH, f4.peerSeq, f4.stackNxt, 1000, h.tsOptions(f4), []byte("hello over IPv4"))
	fin4 := h.buildSegment(f4, tcp.FlagACK|tcp.FlagFIN, f4.peerSeq, f4.stackNxt, 1000, h.tsOptions(f4), nil)
	data6 := h.buildSegment(f6, tcp.FlagACK|tcp.FlagPSH, f6.peerSeq, f6.stackNxt, 1000, h.tsOptions(f6), []byte("hello over IPv6"))
	rst6 := h.buildSegment(f6, tcp.FlagRST, f6.peerSeq, 0, 0, tcp.Options{}, nil)
	var syns [][]byte
	for _, f := range h.flows[2:8] {
		syns = append(syns, h.buildSegment(f, tcp.FlagSYN, f.peerSeq, 0, 65535, synOptions(f), nil))
	}
	ptb := quotingError(f4, wire.ICMPv4Unreachable, wire.ICMPv4FragmentationNeeded, 576, f4.stackNxt-1, true)
	unreach6 := quotingError(f6, wire.ICMPv6Unreachable, 4, 0, f6.stackNxt-1, false)
	echo := testkit.EchoRequest(peerAddr4, stackAddr4, 7, 1, []byte("ping"))
	// An IPv6 hop-by-hop header (PadN) before the segment.
	hbh := testkit.IPPacket(peerAddr6, stackAddr6, wire.ProtoTCP, data6[40:], testkit.PadExt(testkit.ExtHopByHop))
	// IPv4 options (a NOP and an end of list) before the segment.
	opts4 := append([]byte(nil), data4[:20]...)
	opts4 = append(opts4, 1, 0, 0, 0)
	opts4 = append(opts4, data4[20:]...)
	opts4[0] = 0x46
	binary.BigEndian.PutUint16(opts4[2:], uint16(len(opts4)))
	// The first fragment of a SYN: more fragments follow.
	frag4 := append([]byte(nil), syns[0]...)
	frag4[6] |= 0x20
	// An IPv6 fragment header (offset 0, more fragments).
	frag6 := testkit.Fragment(syns[1], 42, 0, testkit.FragmentableLen(syns[1]), true)

	// A SYN in two fragments, over IPv4 and IPv6, and two that overlap
	// (RFC 5722: the whole datagram is dropped).
	syn4, syn6 := syns[2], syns[3]
	frags4, frags6 := testkit.Fragments(syn4, 7, 16), testkit.Fragments(syn6, 8, 24)
	overlap := [][]byte{ // the second starts at 16, inside the first
		testkit.Fragment(syn4, 9, 0, 20, true),
		testkit.Fragment(syn4, 9, 16, testkit.FragmentableLen(syn4), false),
	}

	record := func(ctl byte, pkts ...[]byte) []byte {
		var b []byte
		for _, p := range pkts {
			b = append(b, ctl, byte(len(p)>>8), byte(len(p)))
			b = append(b, p...)
		}
		return b
	}
	var seeds [][]byte
	seeds = append(seeds, record(1, data4, fin4), record(0, data6, rst6), record(3, data4, data6))
	for _, s := range syns {
		seeds = append(seeds, record(1, s))
	}
	seeds = append(seeds, record(1, ptb, data4), record(0, unreach6), record(0, echo),
		record(1, hbh), record(1, opts4), record(1, frag4), record(1, frag6),
		record(0, frags4...), record(0, frags6...), record(0, overlap...), record(0xfc, frags4[0]),
		record(0x1d, data4), record(0xfd, fin4)) // with time passing after them
	// UDP to a closed port (a port unreachable), over IPv4 and IPv6, and
	// one in fragments.
	udp4 := testkit.UDPPacket(netip.AddrPortFrom(peerAddr4, 5353), netip.AddrPortFrom(stackAddr4, 53), []byte("a query"))
	udp6 := testkit.UDPPacket(netip.AddrPortFrom(peerAddr6, 5353), netip.AddrPortFrom(stackAddr6, 53), []byte("a query"))
	seeds = append(seeds, record(1, udp4, udp6), record(0, testkit.Fragments(udp4, 10, 8)...))
	return seeds
}
