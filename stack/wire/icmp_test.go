package wire

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

func TestEchoReply(t *testing.T) {
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz!")
	for _, tc := range []struct {
		name                   string
		src, dst               netip.Addr
		requestType, replyType uint8
		protocol               uint8
	}{
		{"ipv4", host4, stack4, ICMPv4EchoRequest, ICMPv4EchoReply, ProtoICMPv4},
		{"ipv6", host6, stack6, ICMPv6EchoRequest, ICMPv6EchoReply, ProtoICMPv6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			request := testkit.ICMPPacket(tc.src, tc.dst, tc.requestType, 0, 0x1234_0007, data)
			p := mustParseIP(t, request)
			buf := make([]byte, 1500)
			n, err := EchoReply(buf, &p)
			if err != nil {
				t.Fatalf("EchoReply: %v", err)
			}
			testkit.IP(t, buf[:n], testkit.SrcAddr(tc.dst), testkit.DstAddr(tc.src), testkit.TTL(DefaultTTL),
				testkit.ICMP(testkit.ICMPType(tc.replyType, 0), testkit.ICMPRest(0x1234_0007), testkit.ICMPData(data)))
			for short := range n {
				if _, err := EchoReply(make([]byte, short), &p); err != ErrBufferTooSmall {
					t.Fatalf("buffer of %d bytes: %v, want %v", short, err, ErrBufferTooSmall)
				}
			}
		})
	}
}

// TestEchoReplyInPlace answers into the request's own buffer, from a
// request whose IPv4 options make its header longer than the reply's.
func TestEchoReplyInPlace(t *testing.T) {
	data := bytes.Repeat([]byte{0xa5, 0x5a, 0x01}, 100)
	request := testkit.ICMPPacket(host4, stack4, ICMPv4EchoRequest, 0, 0xbeef_0001, data)
	withOptions := append(append(append([]byte{}, request[:20]...), 1, 1, 1, 0), request[20:]...)
	withOptions[0] = 0x46
	testkit.SetIPLength(withOptions)
	p := mustParseIP(t, withOptions)
	n, err := EchoReply(withOptions, &p)
	if err != nil {
		t.Fatalf("EchoReply: %v", err)
	}
	testkit.IPv4(t, withOptions[:n], testkit.SrcAddr(stack4), testkit.DstAddr(host4), testkit.TTL(DefaultTTL),
		testkit.ICMP(testkit.EchoReply(0xbeef, 1, data)))
}

func TestEchoReplyErrors(t *testing.T) {
	data := []byte("ping")
	for _, tc := range []struct {
		name   string
		packet func(t *testing.T) []byte
		want   error
	}{
		{"bad ICMPv4 checksum", func(t *testing.T) []byte {
			b := testkit.ICMPPacket(host4, stack4, ICMPv4EchoRequest, 0, 1, data)
			b[len(b)-1]++
			return b
		}, ErrBadICMPChecksum},
		{"bad ICMPv6 checksum", func(t *testing.T) []byte {
			b := testkit.ICMPPacket(host6, stack6, ICMPv6EchoRequest, 0, 1, data)
			b[IPv6HeaderLen+2]++
			return b
		}, ErrBadICMPChecksum},
		{"ICMPv6 checksum without the pseudo-header", func(t *testing.T) []byte {
			b := testkit.ICMPPacket(host6, stack6, ICMPv6EchoRequest, 0, 1, data)
			m := b[IPv6HeaderLen:]
			m[2], m[3] = 0, 0
			binary.BigEndian.PutUint16(m[2:4], testkit.Checksum(m, 0))
			return b
		}, ErrBadICMPChecksum},
		{"truncated", func(t *testing.T) []byte {
			b := testkit.ICMPPacket(host4, stack4, ICMPv4EchoRequest, 0, 1, nil)[:IPv4HeaderLen+7]
			testkit.SetIPLength(b)
			return b
		}, ErrICMPTruncated},
		{"echo reply", func(t *testing.T) []byte {
			return testkit.ICMPPacket(host4, stack4, ICMPv4EchoReply, 0, 1, data)
		}, ErrNotEchoRequest},
		{"ICMPv6 type number of ICMPv4 echo", func(t *testing.T) []byte {
			return testkit.ICMPPacket(host6, stack6, ICMPv4EchoRequest, 0, 1, data)
		}, ErrNotEchoRequest},
		{"ICMPv4 in IPv6", func(t *testing.T) []byte {
			b := testkit.ICMPPacket(host6, stack6, ICMPv4EchoRequest, 0, 1, data)
			b[6] = ProtoICMPv4
			return b
		}, ErrWrongProtocol},
		{"TCP", func(t *testing.T) []byte {
			return mustBuildTCP(t, host4, stack4, dataSegment(10))
		}, ErrWrongProtocol},
		{"to multicast", func(t *testing.T) []byte {
			return testkit.ICMPPacket(host6, netip.MustParseAddr("ff02::1"), ICMPv6EchoRequest, 0, 1, data)
		}, ErrBadAddress},
		{"to broadcast", func(t *testing.T) []byte {
			return testkit.ICMPPacket(host4, netip.MustParseAddr("255.255.255.255"), ICMPv4EchoRequest, 0, 1, data)
		}, ErrBadAddress},
		{"from unspecified", func(t *testing.T) []byte {
			return testkit.ICMPPacket(netip.IPv6Unspecified(), stack6, ICMPv6EchoRequest, 0, 1, data)
		}, ErrBadAddress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParseIP(t, tc.packet(t))
			if _, err := EchoReply(make([]byte, 1500), &p); err != tc.want {
				t.Errorf("EchoReply: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseICMPErrors(t *testing.T) {
	sent4 := mustBuildTCP(t, stack4, host4, dataSegment(100)) // a segment we sent
	sent6 := mustBuildTCP(t, stack6, host6, dataSegment(100))
	wantTCP4 := Original{Src: stack4, Dst: host4, Protocol: ProtoTCP, SrcPort: 80, DstPort: 40000, Seq: 5000, HasPorts: true}
	wantTCP6 := wantTCP4
	wantTCP6.Src, wantTCP6.Dst = stack6, host6
	router4, router6 := netip.MustParseAddr("10.77.0.254"), netip.MustParseAddr("fd00:77::fe")

	for _, tc := range []struct {
		name     string
		packet   []byte
		kind     ICMPKind
		mtu      uint32
		original Original
		err      error
	}{
		{"v4 port unreachable", testkit.ICMPPacket(host4, stack4, ICMPv4Unreachable, 3, 0, sent4[:28]),
			ICMPUnreachable, 0, wantTCP4, nil},
		{"v4 fragmentation needed", testkit.ICMPPacket(router4, stack4, ICMPv4Unreachable, ICMPv4FragmentationNeeded, 1400, sent4[:28]),
			ICMPPacketTooBig, 1400, wantTCP4, nil},
		{"v4 time exceeded", testkit.ICMPPacket(router4, stack4, ICMPv4TimeExceeded, 0, 0, sent4),
			ICMPTimeExceeded, 0, wantTCP4, nil},
		{"v4 quote without ports", testkit.ICMPPacket(host4, stack4, ICMPv4Unreachable, 1, 0, sent4[:27]),
			ICMPUnreachable, 0, Original{Src: stack4, Dst: host4, Protocol: ProtoTCP}, nil},
		{"v4 quote of a later fragment", testkit.ICMPPacket(host4, stack4, ICMPv4Unreachable, 1, 0, laterFragment(sent4[:28])),
			ICMPUnreachable, 0, Original{Src: stack4, Dst: host4, Protocol: ProtoTCP}, nil},
		{"v4 quote shorter than an IP header", testkit.ICMPPacket(host4, stack4, ICMPv4Unreachable, 1, 0, sent4[:19]),
			ICMPUnreachable, 0, Original{}, ErrBadICMPOriginal},
		{"v4 quote of IPv6", testkit.ICMPPacket(host4, stack4, ICMPv4Unreachable, 1, 0, sent6[:48]),
			ICMPUnreachable, 0, Original{}, ErrBadICMPOriginal},
		{"v4 empty quote", testkit.ICMPPacket(host4, stack4, ICMPv4Unreachable, 1, 0, nil),
			ICMPUnreachable, 0, Original{}, ErrBadICMPOriginal},
		{"v6 packet too big", testkit.ICMPPacket(router6, stack6, ICMPv6PacketTooBig, 0, 1280, sent6),
			ICMPPacketTooBig, 1280, wantTCP6, nil},
		{"v6 port unreachable", testkit.ICMPPacket(host6, stack6, ICMPv6Unreachable, 4, 0, sent6[:48]),
			ICMPUnreachable, 0, wantTCP6, nil},
		{"v6 time exceeded", testkit.ICMPPacket(router6, stack6, ICMPv6TimeExceeded, 0, 0, sent6[:60]),
			ICMPTimeExceeded, 0, wantTCP6, nil},
		{"v6 quote of a first fragment", testkit.ICMPPacket(router6, stack6, ICMPv6TimeExceeded, 1, 0, fragment6(sent6, 0)[:64]),
			ICMPTimeExceeded, 0, wantTCP6, nil},
		{"v6 quote of a later fragment", testkit.ICMPPacket(router6, stack6, ICMPv6PacketTooBig, 0, 1280, fragment6(sent6, 1232)),
			ICMPPacketTooBig, 1280, Original{Src: stack6, Dst: host6, Protocol: ProtoTCP}, nil},
		{"v6 quote of a cut fragment header", testkit.ICMPPacket(router6, stack6, ICMPv6TimeExceeded, 1, 0, fragment6(sent6, 0)[:44]),
			ICMPTimeExceeded, 0, Original{}, ErrBadICMPOriginal},
		{"v6 quote shorter than an IP header", testkit.ICMPPacket(host6, stack6, ICMPv6Unreachable, 4, 0, sent6[:39]),
			ICMPUnreachable, 0, Original{}, ErrBadICMPOriginal},
		{"v6 echo request is no error", testkit.ICMPPacket(host6, stack6, ICMPv6EchoRequest, 0, 0, sent6[:39]),
			ICMPEchoRequest, 0, Original{}, nil},
		{"v6 neighbor solicitation", testkit.ICMPPacket(host6, stack6, 135, 0, 0, make([]byte, 16)),
			ICMPOther, 0, Original{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParseIP(t, tc.packet)
			var m ICMP
			err := ParseICMP(&p, &m)
			if err != tc.err {
				t.Fatalf("ParseICMP: %v, want %v", err, tc.err)
			}
			if m.Kind != tc.kind || m.MTU != tc.mtu {
				t.Errorf("kind %v MTU %d, want %v %d", m.Kind, m.MTU, tc.kind, tc.mtu)
			}
			if err == nil && m.Original != tc.original {
				t.Errorf("original %+v\n          want %+v", m.Original, tc.original)
			}
		})
	}
}

// fragment6 puts a fragment header at offset (a multiple of 8) into the
// IPv6 packet b, as its fragment would quote it.
func fragment6(b []byte, offset uint16) []byte {
	frag := []byte{b[6], 0, byte(offset >> 8), byte(offset) | 1, 0, 0, 0, 42}
	out := append(append(append([]byte{}, b[:IPv6HeaderLen]...), frag...), b[IPv6HeaderLen:]...)
	out[6] = ipv6Fragment
	binary.BigEndian.PutUint16(out[4:], uint16(len(out)-IPv6HeaderLen))
	return out
}

// laterFragment marks the quoted IPv4 header b as a non-first fragment.
func laterFragment(b []byte) []byte {
	b = append([]byte{}, b...)
	b[7] = 1
	return b
}

func TestICMPKindString(t *testing.T) {
	for k, want := range map[ICMPKind]string{
		ICMPOther: "other", ICMPEchoRequest: "echo-request", ICMPPacketTooBig: "packet-too-big",
		ICMPTimeExceeded: "time-exceeded", 42: "ICMPKind(42)",
	} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", k, got, want)
		}
	}
}
