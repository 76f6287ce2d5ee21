package wire

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// seedPackets are valid packets of every kind the parsers know.
func seedPackets(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, seg := range []*tcp.Segment{synSegment(), dataSegment(0), dataSegment(40)} {
		seeds = append(seeds, mustBuildTCP(f, host4, stack4, seg), mustBuildTCP(f, host6, stack6, seg))
	}
	echo4 := make([]byte, IPv4HeaderLen+12)
	writeIPHeader(echo4, host4, stack4, ProtoICMPv4, 0, 12)
	echo4[IPv4HeaderLen] = ICMPv4EchoRequest
	echo6 := make([]byte, IPv6HeaderLen+12)
	writeIPHeader(echo6, host6, stack6, ProtoICMPv6, 0, 12)
	echo6[IPv6HeaderLen] = ICMPv6EchoRequest
	udp4 := make([]byte, 100)
	n4, _ := BuildUDP(udp4, netip.AddrPortFrom(host4, 5353), netip.AddrPortFrom(stack4, 53), []byte("query"))
	udp6 := make([]byte, 100)
	n6, _ := BuildUDP(udp6, netip.AddrPortFrom(host6, 5353), netip.AddrPortFrom(stack6, 53), []byte("query"))
	return append(seeds, echo4, echo6, udp4[:n4], udp6[:n6], []byte{0x46}, []byte{0x60})
}

func FuzzParseUDP(f *testing.F) {
	for _, s := range seedPackets(f) {
		f.Add(s, true)
	}
	buf := make([]byte, 65536+IPv6HeaderLen)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix {
			testkit.FixChecksums(b)
		}
		p, err := ParseIP(b)
		if err != nil {
			return
		}
		var d UDP
		if err := ParseUDP(&p, &d); err != nil {
			if DropReason(err) == "other" {
				t.Fatalf("error without a drop reason: %v", err)
			}
			return
		}
		if p.Version == 6 && binary.BigEndian.Uint16(p.Payload[6:8]) == 0 {
			t.Fatal("took an IPv6 datagram without a checksum")
		}
		// What we parsed, we can build, and parse back the same.
		src, dst := netip.AddrPortFrom(p.Src, d.SrcPort), netip.AddrPortFrom(p.Dst, d.DstPort)
		n, err := BuildUDP(buf, src, dst, d.Payload)
		if err == ErrBadAddress || err == ErrPacketTooLong {
			return // parsing does not judge addresses; the stack does
		}
		if err != nil {
			t.Fatalf("BuildUDP of a parsed datagram: %v", err)
		}
		q, err := ParseIP(buf[:n])
		if err != nil {
			t.Fatalf("ParseIP of a rebuilt datagram: %v", err)
		}
		var again UDP
		if err := ParseUDP(&q, &again); err != nil {
			t.Fatalf("ParseUDP of a rebuilt datagram: %v", err)
		}
		if again.SrcPort != d.SrcPort || again.DstPort != d.DstPort || !bytes.Equal(again.Payload, d.Payload) {
			t.Fatalf("rebuilt datagram differs: %d->%d %q, parsed %d->%d %q", again.SrcPort, again.DstPort, again.Payload, d.SrcPort, d.DstPort, d.Payload)
		}
	})
}

func FuzzParseIP(f *testing.F) {
	for _, s := range seedPackets(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseIP(b)
		if err != nil {
			if DropReason(err) == "other" {
				t.Fatalf("error without a drop reason: %v", err)
			}
			return
		}
		if p.Version != 4 && p.Version != 6 || p.Src.Is4() != (p.Version == 4) || p.Dst.Is4() != (p.Version == 4) {
			t.Fatalf("version %d with %s -> %s", p.Version, p.Src, p.Dst)
		}
		if len(p.Raw) > len(b) || &p.Raw[0] != &b[0] || p.HeaderLen+len(p.Payload) != len(p.Raw) ||
			!bytes.Equal(p.Raw[p.HeaderLen:], p.Payload) {
			t.Fatalf("slices: len(b) %d, len(Raw) %d, HeaderLen %d, len(Payload) %d", len(b), len(p.Raw), p.HeaderLen, len(p.Payload))
		}
		if p.Version == 4 && testkit.Checksum(p.Raw[:p.HeaderLen], 0) != 0 {
			t.Fatal("accepted a bad IPv4 header checksum")
		}
	})
}

func FuzzParseTCP(f *testing.F) {
	for _, s := range seedPackets(f) {
		f.Add(s, false)
		f.Add(s, true)
	}
	buf := make([]byte, 65536+IPv6HeaderLen+60)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix {
			testkit.FixChecksums(b)
		}
		p, err := ParseIP(b)
		if err != nil {
			return
		}
		var seg tcp.Segment
		if err := ParseTCP(&p, &seg); err != nil {
			if DropReason(err) == "other" {
				t.Fatalf("error without a drop reason: %v", err)
			}
			return
		}
		if len(seg.Payload) > 0 && &seg.Payload[len(seg.Payload)-1] != &p.Payload[len(p.Payload)-1] {
			t.Fatal("payload is not the tail of the packet")
		}
		// What we parsed, we can build, and parse back the same.
		n, err := BuildTCP(buf, p.Src, p.Dst, &seg, p.TTL)
		if err == ErrPacketTooLong {
			return
		}
		if err != nil {
			t.Fatalf("BuildTCP of a parsed segment: %v", err)
		}
		q, err := ParseIP(buf[:n])
		if err != nil {
			t.Fatalf("ParseIP of a rebuilt segment: %v", err)
		}
		var again tcp.Segment
		if err := ParseTCP(&q, &again); err != nil {
			t.Fatalf("ParseTCP of a rebuilt segment: %v", err)
		}
		if diff := cmp.Diff(seg, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("rebuilt segment differs (-parsed +rebuilt):\n%s", diff)
		}
	})
}

func FuzzEchoReply(f *testing.F) {
	for _, s := range seedPackets(f) {
		f.Add(s, true)
	}
	buf := make([]byte, 65536+IPv6HeaderLen)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix {
			testkit.FixChecksums(b)
		}
		p, err := ParseIP(b)
		if err != nil {
			return
		}
		var m ICMP
		if err := ParseICMP(&p, &m); err != nil {
			return
		}
		n, err := EchoReply(buf, &p)
		if err != nil {
			return
		}
		q, err := ParseIP(buf[:n])
		if err != nil {
			t.Fatalf("ParseIP of the reply: %v", err)
		}
		var r ICMP
		if err := ParseICMP(&q, &r); err != nil {
			t.Fatalf("ParseICMP of the reply: %v", err)
		}
		if r.Kind != ICMPEchoReply || r.ID != m.ID || r.Seq != m.Seq || !bytes.Equal(r.Data, m.Data) ||
			q.Src != p.Dst || q.Dst != p.Src || binary.BigEndian.Uint16(q.Payload[4:8]) != m.ID {
			t.Fatalf("reply %+v to %+v", r, m)
		}
	})
}
