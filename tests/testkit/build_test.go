package testkit

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The builders are checked against gopacket, which decodes every layer and
// verifies every checksum apart from this package.

var (
	host4  = netip.MustParseAddr("10.77.0.1")
	stack4 = netip.MustParseAddr("10.77.0.2")
	host6  = netip.MustParseAddr("fd00:77::1")
	stack6 = netip.MustParseAddr("fd00:77::2")
)

// families are a host and a stack address of each family.
var families = []struct {
	name       string
	host, peer netip.Addr
}{{"IPv4", host4, stack4}, {"IPv6", host6, stack6}}

// gopacketDecode decodes b with gopacket and fails unless every layer
// decodes and every checksum verifies.
func gopacketDecode(t *testing.T, b []byte) gopacket.Packet {
	t.Helper()
	first := layers.LayerTypeIPv4
	if b[0]>>4 == 6 {
		first = layers.LayerTypeIPv6
	}
	pkt := gopacket.NewPacket(b, first, gopacket.Default)
	if e := pkt.ErrorLayer(); e != nil {
		t.Fatalf("gopacket cannot decode % x: %v", b, e.Error())
	}
	for _, l := range pkt.Layers() {
		if u, ok := l.(interface {
			SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
		}); ok {
			u.SetNetworkLayerForChecksum(pkt.NetworkLayer())
		}
	}
	err, mismatches := pkt.VerifyChecksums()
	if err != nil {
		t.Fatalf("gopacket VerifyChecksums: %v", err)
	}
	for _, m := range mismatches {
		t.Errorf("gopacket: %s checksum %#04x, want %#04x", m.Layer.LayerType(), m.Actual, m.Correct)
	}
	if v4, ok := pkt.NetworkLayer().(*layers.IPv4); ok && Checksum(v4.Contents, 0) != 0 {
		t.Errorf("IPv4 header checksum %#04x does not verify", v4.Checksum)
	}
	return pkt
}

// segments are segments with every option alone and all together.
func segments() []Segment {
	data := Segment{Seq: 0xfffffff0, Ack: 3, Flags: PSH | ACK, Window: 502, Urgent: 0, Payload: []byte("hello")}
	var out []Segment
	for _, o := range []Options{
		{},
		{MSS: 1460},
		{WindowScale: 7, HasWindowScale: true},
		{WindowScale: 0, HasWindowScale: true},
		{SACKPermitted: true},
		{TSVal: 123456, TSEcr: 654321, HasTimestamps: true},
		{SACK: []SACKBlock{{100, 200}}},
		{SACK: []SACKBlock{{100, 200}, {300, 400}, {500, 600}}, TSVal: 1, TSEcr: 2, HasTimestamps: true},
		{SACK: []SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}},
		{MSS: 1220, WindowScale: 14, HasWindowScale: true, SACKPermitted: true, TSVal: 9, HasTimestamps: true},
	} {
		s := data
		s.Options = o
		out = append(out, s)
	}
	return append(out, Segment{Flags: SYN | FIN | RST | URG | ECE | CWR, Window: 1, Urgent: 99})
}

func TestTCPPacketDecodesWithGopacket(t *testing.T) {
	for _, f := range families {
		src, dst := netip.AddrPortFrom(f.host, 40000), netip.AddrPortFrom(f.peer, 80)
		for _, seg := range segments() {
			b := TCPPacket(src, dst, seg)
			pkt := gopacketDecode(t, b)
			l := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if uint16(l.SrcPort) != 40000 || uint16(l.DstPort) != 80 || l.Seq != seg.Seq || l.Ack != seg.Ack ||
				Flags(b[len(b)-len(l.Payload)-len(l.Contents)+13]) != seg.Flags || l.Window != seg.Window ||
				l.Urgent != seg.Urgent || !bytes.Equal(l.Payload, seg.Payload) {
				t.Errorf("%s: gopacket decodes %+v from %v", f.name, l, &seg)
			}
			var got Options
			for _, o := range l.Options {
				if err := got.add(o); err != nil {
					t.Fatal(err)
				}
			}
			if !equalOptions(got, seg.Options) {
				t.Errorf("%s: gopacket decodes options%s, built%s", f.name, got, seg.Options)
			}
			checkIPLayer(t, pkt, f.host, f.peer, ProtoTCP)
		}
	}
}

// checkIPLayer checks the IP layer gopacket decoded.
func checkIPLayer(t *testing.T, pkt gopacket.Packet, src, dst netip.Addr, protocol uint8) {
	t.Helper()
	switch ip := pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		if ip.IHL != 5 || int(ip.Length) != len(pkt.Data()) || ip.TTL != DefaultTTL || uint8(ip.Protocol) != protocol ||
			netip.AddrFrom4([4]byte(ip.SrcIP.To4())) != src || netip.AddrFrom4([4]byte(ip.DstIP.To4())) != dst {
			t.Errorf("gopacket IPv4: %+v", ip)
		}
	case *layers.IPv6:
		if int(ip.Length) != len(pkt.Data())-IPv6HeaderLen || ip.HopLimit != DefaultTTL ||
			netip.AddrFrom16([16]byte(ip.SrcIP)) != src || netip.AddrFrom16([16]byte(ip.DstIP)) != dst {
			t.Errorf("gopacket IPv6: %+v", ip)
		}
	}
}

func TestDecodeReadsWhatTCPPacketBuilt(t *testing.T) {
	for _, f := range families {
		for _, seg := range segments() {
			src, dst := netip.AddrPortFrom(f.host, 7), netip.AddrPortFrom(f.peer, 40000)
			p, err := Decode(TCPPacket(src, dst, seg))
			if err != nil {
				t.Fatalf("%s: Decode: %v", f.name, err)
			}
			want := seg
			want.SrcPort, want.DstPort = 7, 40000
			if diff := cmp.Diff(&want, p.TCP, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(Segment{}, "RawOptions")); diff != "" {
				t.Errorf("%s: Decode (-built +decoded):\n%s", f.name, diff)
			}
			if !p.ChecksumOK || !p.HeaderChecksumOK || p.Src != f.host || p.Dst != f.peer || p.Protocol != ProtoTCP {
				t.Errorf("%s: Decode: %+v", f.name, p)
			}
		}
	}
}

func TestRawOptionsAreWrittenAsTheyAre(t *testing.T) {
	raw := []byte{OptMSS, 4, 5, 0xb4, OptNOP, 99, 3, 7} // an option of kind 99
	p, err := Decode(TCPPacket(netip.AddrPortFrom(host4, 1), netip.AddrPortFrom(stack4, 2), Segment{Flags: SYN, RawOptions: raw}))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.TCP.RawOptions, raw) || p.TCP.Options.MSS != 1460 || len(p.TCP.Options.Other) != 1 || p.TCP.Options.Other[0] != 99 {
		t.Errorf("decoded options % x %+v", p.TCP.RawOptions, p.TCP.Options)
	}
	for _, bad := range [][]byte{{OptMSS, 3, 5, 0}, {OptNOP, OptNOP, OptTimestamps, 10}, {OptSACK, 2, 0, 0}, {OptWindowScale, 4, 1, 1}} {
		if _, err := Decode(TCPPacket(netip.AddrPortFrom(host4, 1), netip.AddrPortFrom(stack4, 2), Segment{RawOptions: bad})); err == nil {
			t.Errorf("Decode of options % x: no error", bad)
		}
	}
}

func TestICMPAndUDPDecodeWithGopacket(t *testing.T) {
	for _, f := range families {
		echo := EchoRequest(f.host, f.peer, 0x1234, 7, []byte("ping"))
		pkt := gopacketDecode(t, echo)
		if f.host.Is4() {
			l := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if l.TypeCode != layers.CreateICMPv4TypeCode(ICMPv4EchoRequest, 0) || l.Id != 0x1234 || l.Seq != 7 || string(l.Payload) != "ping" {
				t.Errorf("gopacket ICMPv4: %+v", l)
			}
		} else {
			l := pkt.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo)
			if l.Identifier != 0x1234 || l.SeqNumber != 7 || string(l.Payload) != "ping" {
				t.Errorf("gopacket ICMPv6 echo: %+v", l)
			}
		}
		errMsg := ICMPError(f.peer, 3, 4, 1280, echo)
		gopacketDecode(t, errMsg)
		p, err := Decode(errMsg)
		if err != nil || p.Dst != f.host || p.ICMP == nil || p.ICMP.Type != 3 || p.ICMP.Code != 4 || p.ICMP.Rest != 1280 ||
			!bytes.Equal(p.ICMP.Data, echo[:min(len(echo), maxQuoted)]) || !p.ChecksumOK {
			t.Errorf("%s: ICMPError decodes to %+v, %v", f.name, p, err)
		}

		udp := UDPPacket(netip.AddrPortFrom(f.host, 4000), netip.AddrPortFrom(f.peer, 5000), []byte("query"))
		l := gopacketDecode(t, udp).Layer(layers.LayerTypeUDP).(*layers.UDP)
		if l.SrcPort != 4000 || l.DstPort != 5000 || string(l.Payload) != "query" {
			t.Errorf("gopacket UDP: %+v", l)
		}
	}
}

func TestIPPacketWithExtensionHeaders(t *testing.T) {
	tcp := TCPPacket(netip.AddrPortFrom(host6, 1), netip.AddrPortFrom(stack6, 2), Segment{Flags: SYN, Seq: 5})
	segment := tcp[IPv6HeaderLen:]
	b := IPPacket(host6, stack6, ProtoTCP, segment, PadExt(ExtHopByHop), PadExt(ExtDestOptions))
	pkt := gopacketDecode(t, b)
	if pkt.Layer(layers.LayerTypeIPv6HopByHop) == nil || pkt.Layer(layers.LayerTypeIPv6Destination) == nil || pkt.Layer(layers.LayerTypeTCP) == nil {
		t.Errorf("gopacket finds %v", pkt.Layers())
	}
	p, err := Decode(b)
	if err != nil || p.TCP == nil || p.TCP.Seq != 5 || !p.ChecksumOK {
		t.Errorf("Decode: %+v, %v", p, err)
	}
}

func TestFragmentsReassemble(t *testing.T) {
	payload := make([]byte, 1000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	for _, pkt := range [][]byte{
		IPPacket(host4, stack4, ProtoTCP, payload),
		IPPacket(host6, stack6, ProtoTCP, payload),
		IPPacket(host6, stack6, ProtoTCP, payload, PadExt(ExtHopByHop)),
	} {
		frags := Fragments(pkt, 0xabcd, 256, 512)
		if len(frags) != 3 {
			t.Fatalf("%d fragments, want 3", len(frags))
		}
		var joined []byte
		for i, f := range frags {
			gopacketDecode(t, f)
			p, err := Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			from, more := []int{0, 256, 512}[i], i < 2
			if !p.IsFragment || p.ID != 0xabcd || p.FragmentOffset != from || p.MoreFragments != more || p.Protocol != ProtoTCP || p.Src != sourceOf(pkt) {
				t.Errorf("fragment %d: %+v", i, p)
			}
			joined = append(joined, p.Payload...)
		}
		if !bytes.Equal(joined, payload) {
			t.Errorf("the fragments' data differ from the packet's payload")
		}
	}
}

// RFC 8200 §4.5: a destination options header that no routing header
// follows belongs to the fragmentable part, after the fragment header; a
// hop-by-hop header stays in front of it.
func TestDestinationOptionsTravelInTheFragments(t *testing.T) {
	payload := make([]byte, 100)
	pkt := IPPacket(host6, stack6, ProtoTCP, payload, PadExt(ExtHopByHop), PadExt(ExtDestOptions))
	if got := FragmentableLen(pkt); got != 8+len(payload) {
		t.Fatalf("FragmentableLen = %d, want the destination options and the payload, %d", got, 8+len(payload))
	}
	var joined []byte
	for _, f := range Fragments(pkt, 1, 56) {
		gopacketDecode(t, f)
		p, err := Decode(f)
		if err != nil || !p.IsFragment || f[6] != ExtHopByHop || f[IPv6HeaderLen] != ExtFragment {
			t.Fatalf("fragment %+v, %v: want a hop-by-hop header, then the fragment header", p, err)
		}
		if p.FragmentOffset == 0 && p.Protocol != ExtDestOptions {
			t.Errorf("the first fragment's next header is %d, want the destination options (60)", p.Protocol)
		}
		joined = append(joined, p.Payload...)
	}
	if !bytes.Equal(joined, pkt[IPv6HeaderLen+8:]) {
		t.Error("the fragments' data is not the destination options header and the payload")
	}
}

func TestChecksumReference(t *testing.T) {
	// RFC 1071 §3's example: the sum of 0001 f203 f4f5 f6f7 is ddf2.
	if got := Checksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, 0); got != ^uint16(0xddf2) {
		t.Errorf("Checksum of RFC 1071's example = %#04x, want %#04x", got, ^uint16(0xddf2))
	}
	// An IPv4 header whose checksum field holds b861.
	h := []byte{0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7}
	if got := Checksum(h, 0); got != 0xb861 {
		t.Errorf("IPv4 header checksum = %#04x, want 0xb861", got)
	}
	if got := Checksum([]byte{0xff}, 0); got != 0x00ff {
		t.Errorf("Checksum of an odd byte = %#04x, want 0x00ff", got)
	}
}

func TestFixChecksumsAfterAChange(t *testing.T) {
	for _, b := range [][]byte{
		TCPPacket(netip.AddrPortFrom(host4, 1), netip.AddrPortFrom(stack4, 2), Segment{Flags: ACK, Payload: []byte("abc")}),
		TCPPacket(netip.AddrPortFrom(host6, 1), netip.AddrPortFrom(stack6, 2), Segment{Flags: ACK, Payload: []byte("abc")}),
		EchoRequest(host4, stack4, 1, 2, []byte("x")),
		EchoRequest(host6, stack6, 1, 2, []byte("x")),
		UDPPacket(netip.AddrPortFrom(host6, 1), netip.AddrPortFrom(stack6, 2), []byte("u")),
	} {
		b[len(b)-1]++ // the payload's last byte
		if b[0]>>4 == 4 {
			b[8]-- // the TTL
		}
		if p, err := Decode(b); err != nil || p.ChecksumOK {
			t.Fatalf("a changed packet still verifies: %+v, %v", p, err)
		}
		FixChecksums(b)
		gopacketDecode(t, b)
	}
	for n := range 60 { // whatever it is given, it does not panic
		FixChecksums(bytes.Repeat([]byte{0x45}, n))
		FixChecksums(bytes.Repeat([]byte{0x60}, n))
	}
}

func TestFixIPv4HeaderChecksumLeavesTheRest(t *testing.T) {
	b := TCPPacket(netip.AddrPortFrom(host4, 1), netip.AddrPortFrom(stack4, 2), Segment{Flags: SYN})
	b[19]++ // the destination address, which the TCP checksum covers too
	FixIPv4HeaderChecksum(b)
	p, err := Decode(b)
	if err != nil || !p.HeaderChecksumOK || p.ChecksumOK {
		t.Errorf("after a new destination and FixIPv4HeaderChecksum: %+v, %v; want the header right and TCP wrong", p, err)
	}
	FixIPv4HeaderChecksum([]byte{0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // an IHL of 0 does not panic
}

func TestSetIPLengthAndID(t *testing.T) {
	b := IPPacket(host4, stack4, 253, make([]byte, 8)) // RFC 3692's experimental protocol
	b = append(b, 1, 2, 3, 4)
	SetIPLength(b)
	SetIPv4ID(b, 0x4242)
	p, err := Decode(b)
	if err != nil || len(p.Payload) != 12 || p.ID != 0x4242 || !p.HeaderChecksumOK {
		t.Errorf("after SetIPLength and SetIPv4ID: %+v, %v", p, err)
	}
	b6 := append(IPPacket(host6, stack6, 253, make([]byte, 8)), 1, 2)
	SetIPLength(b6)
	if got := binary.BigEndian.Uint16(b6[4:]); got != 10 {
		t.Errorf("IPv6 payload length %d, want 10", got)
	}
}
