package wire

// Cross-checks against implementations written apart from this package:
// testkit (whose decoder reads TCP headers and options with gopacket)
// decodes what BuildTCP and EchoReply write, and gopacket writes what
// ParseTCP and ParseICMP read.

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
	"github.com/tunstack/tunstack/tests/testkit/fromtcp"
)

func TestBuildTCPDecodesApart(t *testing.T) {
	segments := []*tcp.Segment{synSegment(), dataSegment(0), dataSegment(1), dataSegment(1448),
		{SrcPort: 9, DstPort: 7, Seq: 0xfffffff0, Ack: 3, Flags: 0xff, Window: 1, Urgent: 99, Payload: []byte("odd")}}
	for _, o := range append(allOptions(), sackOptions()...) {
		seg := dataSegment(3)
		seg.Options = o
		segments = append(segments, seg)
	}
	for _, a := range []struct {
		src, dst netip.Addr
		header   int
	}{{host4, stack4, IPv4HeaderLen}, {host6, stack6, IPv6HeaderLen}} {
		for _, seg := range segments {
			b := mustBuildTCP(t, a.src, a.dst, seg)
			want := fromtcp.Segment(seg)
			checks := []testkit.TransportChecker{testkit.SrcPort(seg.SrcPort), testkit.DstPort(seg.DstPort),
				testkit.TCPSeqNum(want.Seq), testkit.TCPFlags(want.Flags), testkit.TCPWindow(seg.Window),
				testkit.TCPUrgent(seg.Urgent), testkit.TCPOptions(want.Options), testkit.TCPPayload(seg.Payload)}
			if seg.Flags.Has(tcp.FlagACK) {
				checks = append(checks, testkit.TCPAckNum(want.Ack))
			}
			testkit.IP(t, b, testkit.SrcAddr(a.src), testkit.DstAddr(a.dst), testkit.TTL(DefaultTTL),
				testkit.DontFragment(a.src.Is4()), testkit.IPPayloadLen(len(b)-a.header), testkit.TCP(checks...))
		}
	}
}

// serialize writes gopacket layers with lengths and checksums computed.
func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("gopacket serialize: %v", err)
	}
	return buf.Bytes()
}

// gopacketIP is the network layer from src to dst carrying protocol.
func gopacketIP(src, dst netip.Addr, protocol layers.IPProtocol) gopacket.NetworkLayer {
	if src.Is4() {
		return &layers.IPv4{Version: 4, TTL: 3, Protocol: protocol, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	}
	return &layers.IPv6{Version: 6, HopLimit: 3, NextHeader: protocol, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

func TestParseTCPOfGopacket(t *testing.T) {
	mss := []byte{0x05, 0x78}
	ts := []byte{0, 0, 0, 9, 0xff, 0xff, 0xff, 0xff}
	sack := []byte{0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4}
	for _, a := range []struct{ src, dst netip.Addr }{{host4, stack4}, {host6, stack6}} {
		ip := gopacketIP(a.src, a.dst, layers.IPProtocolTCP)
		l := &layers.TCP{
			SrcPort: 443, DstPort: 51000, Seq: 77, Ack: 0xffffffff, ACK: true, ECE: true, Window: 1234, Urgent: 0,
			Options: []layers.TCPOption{
				{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: mss},
				{OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindSACK, OptionLength: 18, OptionData: sack},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: ts},
				{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{2}},
			},
		}
		if err := l.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		payload := []byte("hello from gopacket")
		b := serialize(t, ip.(gopacket.SerializableLayer), l, gopacket.Payload(payload))
		p := mustParseIP(t, b)
		if p.Src != a.src || p.Dst != a.dst || p.TTL != 3 || p.Protocol != ProtoTCP {
			t.Errorf("IP %+v", p)
		}
		var seg tcp.Segment
		if err := ParseTCP(&p, &seg); err != nil {
			t.Fatalf("ParseTCP: %v", err)
		}
		want := tcp.Segment{
			SrcPort: 443, DstPort: 51000, Seq: 77, Ack: 0xffffffff, Flags: tcp.FlagACK | tcp.FlagECE, Window: 1234,
			Options: tcp.Options{MSS: 1400, TSVal: 9, TSEcr: 0xffffffff, HasTimestamps: true, WindowScale: 2, HasWindowScale: true,
				NumSACK: 2, SACK: [tcp.MaxSACKBlocks]tcp.SACKBlock{sb(1, 2), sb(3, 4)}},
			Payload: payload,
		}
		if seg.String() != want.String() || seg.Options != want.Options || seg.Flags != want.Flags ||
			seg.SrcPort != want.SrcPort || seg.DstPort != want.DstPort || !bytes.Equal(seg.Payload, payload) {
			t.Errorf("parsed %s %+v, want %s %+v", &seg, seg, &want, want)
		}
	}
}

func TestGopacketEchoReply(t *testing.T) {
	data := []byte("abcdefghijklmnopqrstuvwabcdefghi") // what Windows ping sends
	for _, a := range []struct{ src, dst netip.Addr }{{host4, stack4}, {host6, stack6}} {
		var request []byte
		if a.src.Is4() {
			ip := gopacketIP(a.src, a.dst, layers.IPProtocolICMPv4)
			icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0x4242, Seq: 9}
			request = serialize(t, ip.(gopacket.SerializableLayer), icmp, gopacket.Payload(data))
		} else {
			ip := gopacketIP(a.src, a.dst, layers.IPProtocolICMPv6)
			icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
			if err := icmp.SetNetworkLayerForChecksum(ip); err != nil {
				t.Fatal(err)
			}
			echo := &layers.ICMPv6Echo{Identifier: 0x4242, SeqNumber: 9}
			request = serialize(t, ip.(gopacket.SerializableLayer), icmp, echo, gopacket.Payload(data))
		}
		p := mustParseIP(t, request)
		buf := make([]byte, 1500)
		n, err := EchoReply(buf, &p)
		if err != nil {
			t.Fatalf("%s: EchoReply: %v", a.src, err)
		}
		testkit.IP(t, buf[:n], testkit.SrcAddr(a.dst), testkit.DstAddr(a.src), testkit.TTL(DefaultTTL),
			testkit.ICMP(testkit.EchoReply(0x4242, 9, data)))
	}
}

func TestParseICMPOfGopacket(t *testing.T) {
	sent4 := mustBuildTCP(t, stack4, host4, dataSegment(100))
	sent6 := mustBuildTCP(t, stack6, host6, dataSegment(100))
	router4, router6 := netip.MustParseAddr("10.77.0.254"), netip.MustParseAddr("fd00:77::fe")

	ip4 := gopacketIP(router4, stack4, layers.IPProtocolICMPv4)
	fragNeeded := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeFragmentationNeeded), Seq: 1300}
	b4 := serialize(t, ip4.(gopacket.SerializableLayer), fragNeeded, gopacket.Payload(sent4[:28]))

	ip6 := gopacketIP(router6, stack6, layers.IPProtocolICMPv6)
	tooBig := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypePacketTooBig, 0)}
	if err := tooBig.SetNetworkLayerForChecksum(ip6); err != nil {
		t.Fatal(err)
	}
	b6 := serialize(t, ip6.(gopacket.SerializableLayer), tooBig, gopacket.Payload(append([]byte{0, 0, 0x05, 0x00}, sent6...)))

	for _, tc := range []struct {
		name     string
		packet   []byte
		src, dst netip.Addr
		mtu      uint32
	}{{"ipv4", b4, stack4, host4, 1300}, {"ipv6", b6, stack6, host6, 1280}} {
		p := mustParseIP(t, tc.packet)
		var m ICMP
		if err := ParseICMP(&p, &m); err != nil {
			t.Fatalf("%s: ParseICMP: %v", tc.name, err)
		}
		want := Original{Src: tc.src, Dst: tc.dst, Protocol: ProtoTCP, SrcPort: 80, DstPort: 40000, Seq: 5000, HasPorts: true}
		if m.Kind != ICMPPacketTooBig || m.MTU != tc.mtu || m.Original != want {
			t.Errorf("%s: %v MTU %d %+v", tc.name, m.Kind, m.MTU, m.Original)
		}
	}
}
