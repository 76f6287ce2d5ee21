package wire

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

func TestParseUDPOfIndependentPackets(t *testing.T) {
	for _, tt := range []struct {
		name     string
		src, dst netip.AddrPort
	}{
		{"IPv4", netip.AddrPortFrom(host4, 40000), netip.AddrPortFrom(stack4, 7)},
		{"IPv6", netip.AddrPortFrom(host6, 40000), netip.AddrPortFrom(stack6, 7)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			payload := []byte("odd-length payload")
			p, err := ParseIP(testkit.UDPPacket(tt.src, tt.dst, payload))
			if err != nil {
				t.Fatal(err)
			}
			var d UDP
			if err := ParseUDP(&p, &d); err != nil {
				t.Fatalf("ParseUDP: %v", err)
			}
			if d.SrcPort != 40000 || d.DstPort != 7 || !bytes.Equal(d.Payload, payload) {
				t.Errorf("parsed %d -> %d %q", d.SrcPort, d.DstPort, d.Payload)
			}
		})
	}
}

func TestParseUDPRejects(t *testing.T) {
	src4, dst4 := netip.AddrPortFrom(host4, 40000), netip.AddrPortFrom(stack4, 7)
	src6, dst6 := netip.AddrPortFrom(host6, 40000), netip.AddrPortFrom(stack6, 7)
	for _, tt := range []struct {
		name string
		pkt  func() []byte
		want error
	}{
		{"IPv4 zero checksum: none computed", func() []byte {
			p := testkit.UDPPacket(src4, dst4, []byte("x"))
			p[IPv4HeaderLen+6], p[IPv4HeaderLen+7] = 0, 0
			return p
		}, nil},
		{"IPv6 zero checksum", func() []byte {
			p := testkit.UDPPacket(src6, dst6, []byte("x"))
			p[IPv6HeaderLen+6], p[IPv6HeaderLen+7] = 0, 0
			return p
		}, ErrUDPZeroChecksum},
		{"IPv4 bad checksum", func() []byte {
			p := testkit.UDPPacket(src4, dst4, []byte("xy"))
			p[len(p)-1] ^= 1
			return p
		}, ErrBadUDPChecksum},
		{"IPv6 bad checksum", func() []byte {
			p := testkit.UDPPacket(src6, dst6, []byte("xy"))
			p[len(p)-1] ^= 1
			return p
		}, ErrBadUDPChecksum},
		{"shorter than the header", func() []byte {
			return testkit.IPPacket(host4, stack4, ProtoUDP, make([]byte, 7))
		}, ErrUDPTruncated},
		{"length below 8", func() []byte {
			p := testkit.UDPPacket(src4, dst4, []byte("xy"))
			binary.BigEndian.PutUint16(p[IPv4HeaderLen+4:], 7)
			return p
		}, ErrBadUDPLength},
		{"length past the packet", func() []byte {
			p := testkit.UDPPacket(src4, dst4, []byte("xy"))
			binary.BigEndian.PutUint16(p[IPv4HeaderLen+4:], 11)
			return p
		}, ErrBadUDPLength},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseIP(tt.pkt())
			if err != nil {
				t.Fatal(err)
			}
			var d UDP
			if err := ParseUDP(&p, &d); err != tt.want {
				t.Errorf("ParseUDP = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestParseUDPLengthBelowIPPayload: bytes past the UDP length are not the
// datagram's (a sender's padding), and the checksum covers the length only.
func TestParseUDPLengthBelowIPPayload(t *testing.T) {
	udp := testkit.UDPPacket(netip.AddrPortFrom(host4, 1), netip.AddrPortFrom(stack4, 2), []byte("abc"))
	padded := testkit.IPPacket(host4, stack4, ProtoUDP, append(append([]byte(nil), udp[IPv4HeaderLen:]...), 0xde, 0xad))
	p, err := ParseIP(padded)
	if err != nil {
		t.Fatal(err)
	}
	var d UDP
	if err := ParseUDP(&p, &d); err != nil || string(d.Payload) != "abc" {
		t.Errorf("ParseUDP = %q, %v; want \"abc\"", d.Payload, err)
	}
}

func TestBuildUDP(t *testing.T) {
	for _, tt := range []struct {
		name     string
		src, dst netip.AddrPort
		check    func(testing.TB, []byte, ...testkit.NetworkChecker)
	}{
		{"IPv4", netip.AddrPortFrom(stack4, 7), netip.AddrPortFrom(host4, 40000), testkit.IPv4},
		{"IPv6", netip.AddrPortFrom(stack6, 7), netip.AddrPortFrom(host6, 40000), testkit.IPv6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			payload := []byte("hello, udp")
			buf := make([]byte, 200)
			n, err := BuildUDP(buf, tt.src, tt.dst, payload)
			if err != nil {
				t.Fatal(err)
			}
			if n != UDPPacketLen(tt.src.Addr(), len(payload)) {
				t.Errorf("length %d, UDPPacketLen says %d", n, UDPPacketLen(tt.src.Addr(), len(payload)))
			}
			tt.check(t, buf[:n], testkit.SrcAddr(tt.src.Addr()), testkit.DstAddr(tt.dst.Addr()),
				testkit.UDP(testkit.SrcPort(7), testkit.DstPort(40000), testkit.UDPPayload(payload)))
		})
	}
}

// TestBuildUDPSendsZeroChecksumAsOnes: a checksum that computes to zero
// goes out as 0xffff, since zero means none (RFC 768, RFC 8200 §8.1).
func TestBuildUDPSendsZeroChecksumAsOnes(t *testing.T) {
	for _, src := range []netip.AddrPort{netip.AddrPortFrom(stack4, 7), netip.AddrPortFrom(stack6, 7)} {
		dst := netip.AddrPortFrom(host4, 40000)
		if src.Addr().Is6() {
			dst = netip.AddrPortFrom(host6, 40000)
		}
		payload := make([]byte, 4) // the last word makes the sum come out zero
		buf := make([]byte, 100)
		n, err := BuildUDP(buf, src, dst, payload)
		if err != nil {
			t.Fatal(err)
		}
		at := n - len(payload) - 2
		binary.BigEndian.PutUint16(payload[2:], binary.BigEndian.Uint16(buf[at:]))
		n, _ = BuildUDP(buf, src, dst, payload)
		if got := binary.BigEndian.Uint16(buf[at:]); got != 0xffff {
			t.Fatalf("%v: checksum field %#04x, want 0xffff", src, got)
		}
		p, err := ParseIP(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		var d UDP
		if err := ParseUDP(&p, &d); err != nil {
			t.Errorf("%v: the datagram does not verify: %v", src, err)
		}
	}
}

func TestBuildUDPRefuses(t *testing.T) {
	buf := make([]byte, 100)
	src := netip.AddrPortFrom(stack4, 7)
	for _, dst := range []netip.AddrPort{
		netip.AddrPortFrom(netip.MustParseAddr("255.255.255.255"), 1),
		netip.AddrPortFrom(netip.MustParseAddr("224.0.0.1"), 1),
		netip.AddrPortFrom(host6, 1),
	} {
		if _, err := BuildUDP(buf, src, dst, nil); err != ErrBadAddress {
			t.Errorf("to %v: %v, want ErrBadAddress", dst, err)
		}
	}
	if _, err := BuildUDP(buf, src, netip.AddrPortFrom(host4, 1), make([]byte, 100)); err != ErrBufferTooSmall {
		t.Errorf("too small a buffer: %v", err)
	}
	if _, err := BuildUDP(make([]byte, 70000), src, netip.AddrPortFrom(host4, 1), make([]byte, MaxUDPPayload4+1)); err != ErrPacketTooLong {
		t.Errorf("past IPv4's length field: %v", err)
	}
}

func TestPortUnreachable(t *testing.T) {
	for _, tt := range []struct {
		name       string
		src, dst   netip.AddrPort
		payload    int
		typ, code  uint8
		quoteLimit int
	}{
		{"IPv4 short", netip.AddrPortFrom(host4, 40000), netip.AddrPortFrom(stack4, 9999), 10, 3, 3, 576 - 28},
		{"IPv4 long: 576 bytes in all", netip.AddrPortFrom(host4, 40000), netip.AddrPortFrom(stack4, 9999), 1400, 3, 3, 576 - 28},
		{"IPv6 short", netip.AddrPortFrom(host6, 40000), netip.AddrPortFrom(stack6, 9999), 10, 1, 4, 1280 - 48},
		{"IPv6 long: 1280 bytes in all", netip.AddrPortFrom(host6, 40000), netip.AddrPortFrom(stack6, 9999), 1400, 1, 4, 1280 - 48},
	} {
		t.Run(tt.name, func(t *testing.T) {
			orig := testkit.UDPPacket(tt.src, tt.dst, make([]byte, tt.payload))
			p, err := ParseIP(orig)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 2000)
			n, err := PortUnreachable(buf, &p)
			if err != nil {
				t.Fatal(err)
			}
			quote := orig[:min(len(orig), tt.quoteLimit)]
			testkit.IP(t, buf[:n], testkit.SrcAddr(tt.dst.Addr()), testkit.DstAddr(tt.src.Addr()),
				testkit.ICMP(testkit.ICMPType(tt.typ, tt.code), testkit.ICMPRest(0), testkit.ICMPData(quote)))
			// What the stack's own ICMP input makes of it: the ports of
			// the datagram that drew it.
			back, err := ParseIP(buf[:n])
			if err != nil {
				t.Fatal(err)
			}
			var m ICMP
			if err := ParseICMP(&back, &m); err != nil {
				t.Fatal(err)
			}
			if o := m.Original; m.Kind != ICMPUnreachable || o.Protocol != ProtoUDP || !o.HasPorts || o.SrcPort != 40000 || o.DstPort != 9999 {
				t.Errorf("parsed back: %v %+v", m.Kind, o)
			}
		})
	}
}

func TestPortUnreachableRefusesBroadcastAndMulticast(t *testing.T) {
	buf := make([]byte, 2000)
	for _, dst := range []string{"255.255.255.255", "224.0.0.251", "ff02::1"} {
		d := netip.MustParseAddr(dst)
		src := host4
		if d.Is6() {
			src = host6
		}
		p, err := ParseIP(testkit.UDPPacket(netip.AddrPortFrom(src, 5353), netip.AddrPortFrom(d, 5353), []byte("q")))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := PortUnreachable(buf, &p); err != ErrBadAddress {
			t.Errorf("datagram to %v: %v, want ErrBadAddress", dst, err)
		}
	}
}

// TestDestinationUnreachable: a router's error for a packet it cannot
// deliver comes from the router, with the code Linux turns into
// ENETUNREACH or EHOSTUNREACH, and quotes the packet.
func TestDestinationUnreachable(t *testing.T) {
	router4, router6 := netip.MustParseAddr("10.77.0.2"), netip.MustParseAddr("fd00:77::2")
	far4, far6 := netip.MustParseAddrPort("192.0.2.10:80"), netip.MustParseAddrPort("[2001:db8::10]:80")
	for _, tt := range []struct {
		name      string
		src, dst  netip.AddrPort
		router    netip.Addr
		why       Unreachability
		typ, code uint8
	}{
		{"IPv4 net", netip.AddrPortFrom(host4, 40000), far4, router4, NetUnreachable, 3, 0},
		{"IPv4 host", netip.AddrPortFrom(host4, 40000), far4, router4, HostUnreachable, 3, 1},
		{"IPv6 no route", netip.AddrPortFrom(host6, 40000), far6, router6, NetUnreachable, 1, 0},
		{"IPv6 address", netip.AddrPortFrom(host6, 40000), far6, router6, HostUnreachable, 1, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			orig := testkit.UDPPacket(tt.src, tt.dst, []byte("data"))
			p, err := ParseIP(orig)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 2000)
			n, err := DestinationUnreachable(buf, &p, tt.router, tt.why)
			if err != nil {
				t.Fatal(err)
			}
			testkit.IP(t, buf[:n], testkit.SrcAddr(tt.router), testkit.DstAddr(tt.src.Addr()),
				testkit.ICMP(testkit.ICMPType(tt.typ, tt.code), testkit.ICMPRest(0), testkit.ICMPData(orig)))
		})
	}
	multicast := testkit.UDPPacket(netip.AddrPortFrom(host4, 40000), netip.MustParseAddrPort("224.0.0.9:520"), nil)
	p, err := ParseIP(multicast)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DestinationUnreachable(make([]byte, 2000), &p, router4, HostUnreachable); err != ErrBadAddress {
		t.Errorf("an error for a packet to a multicast address: %v, want ErrBadAddress", err)
	}
}
