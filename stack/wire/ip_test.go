package wire

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

func TestParseIPFields(t *testing.T) {
	for _, tc := range []struct {
		name     string
		src, dst string
	}{
		{"ipv4", "10.77.0.1", "10.77.0.2"},
		{"ipv6", "fd00:77::1", "fd00:77::2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg := dataSegment(100)
			b := mustBuildTCP(t, mustAddr(tc.src), mustAddr(tc.dst), seg)
			padded := append(b[:len(b):len(b)], 0xee, 0xee, 0xee) // link padding
			p := mustParseIP(t, padded)
			wantVersion, wantHeaderLen := uint8(4), IPv4HeaderLen
			if tc.name == "ipv6" {
				wantVersion, wantHeaderLen = 6, IPv6HeaderLen
			}
			if p.Version != wantVersion || p.Src != mustAddr(tc.src) || p.Dst != mustAddr(tc.dst) ||
				p.Protocol != ProtoTCP || p.TTL != DefaultTTL || p.HeaderLen != wantHeaderLen {
				t.Errorf("got %+v", p)
			}
			if len(p.Raw) != len(b) || len(p.Payload) != len(b)-wantHeaderLen {
				t.Errorf("len(Raw) = %d, len(Payload) = %d; want %d, %d", len(p.Raw), len(p.Payload), len(b), len(b)-wantHeaderLen)
			}
			if cap(p.Payload) != len(p.Payload) {
				t.Errorf("cap(Payload) = %d, want it capped at %d so appends cannot overwrite padding", cap(p.Payload), len(p.Payload))
			}
		})
	}
}

func TestParseIPv4Options(t *testing.T) {
	b := mustBuildTCP(t, host4, stack4, dataSegment(10))
	// Insert 4 bytes of options (NOP NOP NOP EOL) after the fixed header.
	withOptions := append(append(append([]byte{}, b[:20]...), 1, 1, 1, 0), b[20:]...)
	withOptions[0] = 0x46
	testkit.SetIPLength(withOptions)
	p := mustParseIP(t, withOptions)
	if p.HeaderLen != 24 || len(p.Payload) != len(b)-20 {
		t.Errorf("HeaderLen = %d, len(Payload) = %d; want 24, %d", p.HeaderLen, len(p.Payload), len(b)-20)
	}
}

func TestParseIPv6ExtensionHeaders(t *testing.T) {
	b := mustBuildTCP(t, host6, stack6, dataSegment(10))
	tcpBytes := b[IPv6HeaderLen:]
	hopByHop := []byte{ipv6DestOptions, 0, 1, 4, 0, 0, 0, 0}                         // PadN
	destOptions := []byte{ipv6Routing, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // 16 bytes
	routing := []byte{ProtoTCP, 0, 4, 0, 0, 0, 0, 0}                                 // segments left 0

	// build makes an IPv6 packet whose next header is first and whose
	// payload is parts, one after the other.
	build := func(first uint8, parts ...[]byte) []byte {
		out := append([]byte{}, b[:IPv6HeaderLen]...)
		out[6] = first
		for _, part := range parts {
			out = append(out, part...)
		}
		testkit.SetIPLength(out)
		return out
	}

	p := mustParseIP(t, build(ipv6HopByHop, hopByHop, destOptions, routing, tcpBytes))
	if p.Protocol != ProtoTCP || p.HeaderLen != IPv6HeaderLen+8+16+8 || len(p.Payload) != len(tcpBytes) {
		t.Errorf("Protocol %d, HeaderLen %d, len(Payload) %d", p.Protocol, p.HeaderLen, len(p.Payload))
	}
	p = mustParseIP(t, build(ipv6DestOptions, []byte{59, 0, 0, 0, 0, 0, 0, 0}))
	if p.Protocol != 59 || p.HeaderLen != IPv6HeaderLen+8 || len(p.Payload) != 0 {
		t.Errorf("no next header: Protocol %d, HeaderLen %d, len(Payload) %d; want 59, 48, 0", p.Protocol, p.HeaderLen, len(p.Payload))
	}

	sourceRouted := append([]byte{}, routing...)
	sourceRouted[3] = 1
	fragment := []byte{ProtoTCP, 0, 0, 0, 0, 0, 0, 1}
	hopByHopToFragment := append([]byte{ipv6Fragment}, hopByHop[1:]...)
	for _, tc := range []struct {
		name   string
		packet []byte
		want   error
	}{
		{"routing header with segments left", build(ipv6Routing, sourceRouted, tcpBytes), ErrRoutingHeader},
		{"fragment header", build(ipv6Fragment, fragment, tcpBytes), ErrFragment},
		{"fragment header after hop-by-hop", build(ipv6HopByHop, hopByHopToFragment, fragment, tcpBytes), ErrFragment},
		{"extension header past the packet", build(ipv6DestOptions, []byte{ProtoTCP, 200, 0, 0, 0, 0, 0, 0}, tcpBytes), ErrTruncated},
		{"packet ends inside extension header", build(ipv6HopByHop, hopByHop[:4]), ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseIP(tc.packet); err != tc.want {
				t.Errorf("ParseIP: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseIPErrors(t *testing.T) {
	v4 := mustBuildTCP(t, host4, stack4, dataSegment(10))
	v6 := mustBuildTCP(t, host6, stack6, dataSegment(10))
	for _, tc := range []struct {
		name   string
		base   []byte
		mutate func(b []byte) []byte
		want   error
	}{
		{"empty", v4, func(b []byte) []byte { return b[:0] }, ErrTruncated},
		{"version 0", v4, func(b []byte) []byte { b[0] = 0x05; return b }, ErrBadVersion},
		{"version 5", v4, func(b []byte) []byte { b[0] = 0x55; return b }, ErrBadVersion},
		{"version 4 in an IPv6 packet", v6, func(b []byte) []byte { b[0] = 0x40; return b }, ErrBadHeaderLength},
		{"IHL 0", v4, func(b []byte) []byte { b[0] = 0x40; testkit.FixIPv4HeaderChecksum(b); return b }, ErrBadHeaderLength},
		{"IHL 4", v4, func(b []byte) []byte { b[0] = 0x44; return b }, ErrBadHeaderLength},
		{"IHL past the packet", v4, func(b []byte) []byte { b[0] = 0x4f; return b[:40] }, ErrTruncated},
		{"IPv4 bad checksum", v4, func(b []byte) []byte { b[10]++; return b }, ErrBadIPChecksum},
		{"IPv4 bad checksum in source address", v4, func(b []byte) []byte { b[12] ^= 0x80; return b }, ErrBadIPChecksum},
		{"IPv4 total length below header", v4, func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[2:4], 19)
			testkit.FixIPv4HeaderChecksum(b)
			return b
		}, ErrBadLength},
		{"IPv4 total length past the packet", v4, func(b []byte) []byte { return b[:len(b)-1] }, ErrBadLength},
		{"IPv4 more fragments", v4, func(b []byte) []byte { b[6] |= 0x20; testkit.FixIPv4HeaderChecksum(b); return b }, ErrFragment},
		{"IPv4 fragment offset", v4, func(b []byte) []byte { b[6], b[7] = 0, 1; testkit.FixIPv4HeaderChecksum(b); return b }, ErrFragment},
		{"IPv4 last fragment", v4, func(b []byte) []byte { b[6], b[7] = 0x1f, 0xff; testkit.FixIPv4HeaderChecksum(b); return b }, ErrFragment},
		{"IPv6 payload length past the packet", v6, func(b []byte) []byte { return b[:len(b)-1] }, ErrBadLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mutate(append([]byte{}, tc.base...))
			if _, err := ParseIP(b); err != tc.want {
				t.Errorf("ParseIP: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestParseIPTruncatedAtEveryLength cuts a packet at every length: inside
// the header it is ErrTruncated, after it the length field disagrees.
func TestParseIPTruncatedAtEveryLength(t *testing.T) {
	for _, tc := range []struct {
		name      string
		packet    []byte
		headerLen int
	}{
		{"ipv4", mustBuildTCP(t, host4, stack4, dataSegment(3)), IPv4HeaderLen},
		{"ipv6", mustBuildTCP(t, host6, stack6, dataSegment(3)), IPv6HeaderLen},
	} {
		for n := range len(tc.packet) {
			want := ErrBadLength
			if n < tc.headerLen {
				want = ErrTruncated
			}
			if _, err := ParseIP(tc.packet[:n]); err != want {
				t.Errorf("%s cut at %d: %v, want %v", tc.name, n, err, want)
			}
		}
	}
}

func TestDropReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{ErrBadTCPChecksum, "tcp-bad-checksum"},
		{ErrTruncated, "ip-truncated"},
		{errors.New("something else"), "other"},
		{wrapped{ErrFragment}, "ip-fragment"},
	} {
		if got := DropReason(tc.err); got != tc.want {
			t.Errorf("DropReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestErrorCodesAreDistinct keeps the counter labels one per error.
func TestErrorCodesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range []*Error{
		ErrTruncated, ErrBadVersion, ErrBadHeaderLength, ErrBadIPChecksum, ErrBadLength, ErrFragment,
		ErrRoutingHeader, ErrWrongProtocol, ErrTCPTruncated, ErrBadTCPChecksum, ErrBadDataOffset,
		ErrBadOptions, ErrICMPTruncated, ErrBadICMPChecksum, ErrBadICMPOriginal, ErrNotEchoRequest,
		ErrBadAddress, ErrBufferTooSmall, ErrPacketTooLong,
	} {
		if seen[e.Code()] || e.Code() == "" || e.Error() == "" {
			t.Errorf("code %q (%q) is empty or repeated", e.Code(), e.Error())
		}
		seen[e.Code()] = true
	}
}

type wrapped struct{ err error }

func (w wrapped) Error() string { return "wrapped: " + w.err.Error() }
func (w wrapped) Unwrap() error { return w.err }
