package wire

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

// mustFragment cuts [from, to) out of pkt with BuildFragment and parses it
// back with ParseFragment.
func mustFragment(t *testing.T, pkt []byte, id uint32, from, to int, more bool) Fragment {
	t.Helper()
	buf := make([]byte, len(pkt)+ipv6FragmentHeaderLen)
	n, err := BuildFragment(buf, pkt, id, from, to, more)
	if err != nil {
		t.Fatalf("BuildFragment [%d, %d): %v", from, to, err)
	}
	f, err := ParseFragment(buf[:n])
	if err != nil {
		t.Fatalf("ParseFragment [%d, %d): %v", from, to, err)
	}
	return f
}

func TestBuildAndParseFragment(t *testing.T) {
	v4 := mustBuildTCP(t, host4, stack4, dataSegment(3000))
	v6 := mustBuildTCP(t, host6, stack6, dataSegment(3000))
	for _, tc := range []struct {
		name      string
		pkt       []byte
		id        uint32
		from, to  int
		more      bool
		headerLen int
	}{
		{"IPv4 first", v4, 0xbeef, 0, 1480, true, IPv4HeaderLen},
		{"IPv4 middle", v4, 1, 1480, 2960, true, IPv4HeaderLen},
		{"IPv4 last", v4, 0xffff, 2960, 3020, false, IPv4HeaderLen},
		{"IPv6 first", v6, 0xdeadbeef, 0, 1232, true, IPv6HeaderLen},
		{"IPv6 last", v6, 7, 2464, 3020, false, IPv6HeaderLen},
		{"IPv6 atomic", v6, 7, 0, 3020, false, IPv6HeaderLen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustFragment(t, tc.pkt, tc.id, tc.from, tc.to, tc.more)
			wantProtocol, wantID, nextAt := uint8(ProtoTCP), tc.id, 0
			if f.Version == 4 {
				wantID &= 0xffff
			} else {
				nextAt = 6
			}
			if f.Protocol != wantProtocol || f.ID != wantID || f.Offset != tc.from || f.More != tc.more ||
				len(f.Header) != tc.headerLen || f.NextHeaderAt != nextAt {
				t.Errorf("got protocol %d id %#x offset %d more %v header %d next header at %d; want %d %#x %d %v %d %d",
					f.Protocol, f.ID, f.Offset, f.More, len(f.Header), f.NextHeaderAt, wantProtocol, wantID, tc.from, tc.more, tc.headerLen, nextAt)
			}
			headerLen := IPv4HeaderLen
			if f.Version == 6 {
				headerLen = IPv6HeaderLen
			}
			if !bytes.Equal(f.Data, tc.pkt[headerLen+tc.from:headerLen+tc.to]) {
				t.Errorf("data is not bytes [%d, %d) of the payload", tc.from, tc.to)
			}
			if f.Src != addrOf(tc.pkt, true) || f.Dst != addrOf(tc.pkt, false) {
				t.Errorf("addresses %v -> %v", f.Src, f.Dst)
			}
			// ParseIP sees a fragment, except in an atomic fragment, which
			// it sees too: reassembly takes it.
			if _, err := ParseIP(f.Raw); err != ErrFragment {
				t.Errorf("ParseIP of the fragment: %v, want %v", err, ErrFragment)
			}
		})
	}
}

func addrOf(pkt []byte, src bool) any {
	p, _ := ParseIP(pkt)
	if src {
		return p.Src
	}
	return p.Dst
}

// TestBuildFragmentKeepsLeadingExtensionHeaders: a hop-by-hop header stays
// in front of the fragment header, whose next header becomes TCP, and the
// fixed header's next header stays hop-by-hop (RFC 8200 §4.5).
func TestBuildFragmentKeepsLeadingExtensionHeaders(t *testing.T) {
	pkt := mustBuildTCP(t, host6, stack6, dataSegment(100))
	hopByHop := []byte{ProtoTCP, 0, 1, 4, 0, 0, 0, 0}
	withHopByHop := append(append(append([]byte(nil), pkt[:IPv6HeaderLen]...), hopByHop...), pkt[IPv6HeaderLen:]...)
	withHopByHop[6] = ipv6HopByHop
	binary.BigEndian.PutUint16(withHopByHop[4:6], uint16(len(withHopByHop)-IPv6HeaderLen))

	f := mustFragment(t, withHopByHop, 3, 0, 64, true)
	if len(f.Header) != IPv6HeaderLen+8 || f.NextHeaderAt != IPv6HeaderLen || f.Protocol != ProtoTCP {
		t.Fatalf("header %d bytes, next header at %d, protocol %d; want 48, 40, TCP", len(f.Header), f.NextHeaderAt, f.Protocol)
	}
	if f.Raw[6] != ipv6HopByHop || f.Raw[IPv6HeaderLen] != ipv6Fragment {
		t.Errorf("chain: fixed header -> %d -> %d, want hop-by-hop -> fragment", f.Raw[6], f.Raw[IPv6HeaderLen])
	}
}

func TestParseFragmentErrors(t *testing.T) {
	v4 := mustBuildTCP(t, host4, stack4, dataSegment(100))
	v6 := mustBuildTCP(t, host6, stack6, dataSegment(100))
	f4 := mustFragment(t, v4, 1, 0, 64, true).Raw
	f6 := mustFragment(t, v6, 1, 0, 64, true).Raw
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"bad version", []byte{0x50}, ErrBadVersion},
		{"IPv4 whole packet", v4, ErrNotFragment},
		{"IPv6 whole packet", v6, ErrNotFragment},
		{"IPv4 bad checksum", func() []byte { b := bytes.Clone(f4); b[10] ^= 1; return b }(), ErrBadIPChecksum},
		{"IPv4 cut short", f4[:len(f4)-1], ErrBadLength},
		{"IPv6 cut short", f6[:len(f6)-1], ErrBadLength},
		{"IPv6 fragment header cut", func() []byte {
			b := bytes.Clone(f6[:IPv6HeaderLen+4])
			binary.BigEndian.PutUint16(b[4:6], 4)
			return b
		}(), ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseFragment(tc.b); err != tc.want {
				t.Errorf("ParseFragment: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBuildFragmentErrors(t *testing.T) {
	v4 := mustBuildTCP(t, host4, stack4, dataSegment(100))
	buf := make([]byte, 200)
	for _, tc := range []struct {
		name     string
		from, to int
		buf      []byte
		want     error
	}{
		{"offset not a multiple of 8", 4, 20, buf, ErrBadLength},
		{"past the payload", 0, 200, buf, ErrBadLength},
		{"backwards", 16, 8, buf, ErrBadLength},
		{"buffer too small", 0, 100, buf[:50], ErrBufferTooSmall},
	} {
		if _, err := BuildFragment(tc.buf, v4, 1, tc.from, tc.to, true); err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestHeaderChainComplete(t *testing.T) {
	tcpHeader := mustBuildTCP(t, host6, stack6, synSegment())[IPv6HeaderLen:] // 20 bytes and options
	destOptions := []byte{ProtoTCP, 0, 1, 4, 0, 0, 0, 0}
	for _, tc := range []struct {
		name     string
		protocol uint8
		data     []byte
		want     bool
	}{
		{"TCP header with its options", ProtoTCP, tcpHeader, true},
		{"TCP header without all its options", ProtoTCP, tcpHeader[:TCPHeaderLen], false},
		{"TCP header cut", ProtoTCP, tcpHeader[:16], false},
		{"UDP header", ProtoUDP, make([]byte, 8), true},
		{"UDP header cut", ProtoUDP, make([]byte, 4), false},
		{"ICMPv6 header", ProtoICMPv6, make([]byte, 8), true},
		{"destination options then TCP", ipv6DestOptions, append(bytes.Clone(destOptions), tcpHeader...), true},
		{"destination options then TCP cut", ipv6DestOptions, append(bytes.Clone(destOptions), tcpHeader[:8]...), false},
		{"destination options cut", ipv6DestOptions, destOptions[:4], false},
		{"no next header", 59, nil, true},
		{"unknown protocol", 253, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := Fragment{Version: 6, Protocol: tc.protocol, Data: tc.data}
			if got := f.HeaderChainComplete(); got != tc.want {
				t.Errorf("HeaderChainComplete = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestReassembled rebuilds packets from their fragments' pieces and gets
// the originals back, whatever the ID and the M flag of the first fragment.
func TestReassembled(t *testing.T) {
	for _, pkt := range [][]byte{
		mustBuildTCP(t, host4, stack4, dataSegment(3000)),
		mustBuildTCP(t, host6, stack6, dataSegment(3000)),
	} {
		first := mustFragment(t, pkt, 0, 0, 1480, true)
		rest := mustFragment(t, pkt, 0, 1480, len(pkt)-len(first.Header), false)
		data := append(bytes.Clone(first.Data), rest.Data...)
		buf := make([]byte, 70000)
		n, err := Reassembled(buf, &first, data)
		if first.Version == 4 {
			// The fragments had DF cleared; so has the datagram.
			pkt[6] &^= ipv4DontFragment >> 8
			testkit.FixIPv4HeaderChecksum(pkt)
		}
		if err != nil || !bytes.Equal(buf[:n], pkt) {
			t.Errorf("IPv%d: %d bytes, %v; want the original %d bytes", first.Version, n, err, len(pkt))
		}
		if _, err := Reassembled(buf, &first, make([]byte, 0x10000)); err != ErrPacketTooLong {
			t.Errorf("IPv%d, 64 KiB of data: %v, want %v", first.Version, err, ErrPacketTooLong)
		}
		if _, err := Reassembled(buf[:100], &first, data); err != ErrBufferTooSmall {
			t.Errorf("IPv%d, small buffer: %v, want %v", first.Version, err, ErrBufferTooSmall)
		}
	}
}

func TestReassemblyTimeExceeded(t *testing.T) {
	for _, tc := range []struct {
		name          string
		pkt           []byte
		typ           uint8
		quoteLen, len int
	}{
		// RFC 792: the header and 8 bytes.
		{"ICMPv4", mustBuildTCP(t, host4, stack4, dataSegment(3000)), ICMPv4TimeExceeded, IPv4HeaderLen + 8, IPv4HeaderLen + 8 + IPv4HeaderLen + 8},
		// RFC 4443 §2.4(c): as much as fits in 1280 bytes.
		{"ICMPv6", mustBuildTCP(t, host6, stack6, dataSegment(3000)), ICMPv6TimeExceeded, 1280 - 48, 1280},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := mustFragment(t, tc.pkt, 9, 0, 1400, true)
			buf := make([]byte, 2000)
			n, err := ReassemblyTimeExceeded(buf, first.Dst, first.Src, first.Raw)
			if err != nil || n != tc.len {
				t.Fatalf("ReassemblyTimeExceeded: %d bytes, %v; want %d", n, err, tc.len)
			}
			p := mustParseIP(t, buf[:n])
			if p.Src != first.Dst || p.Dst != first.Src {
				t.Errorf("%v -> %v, want back to the fragment's source", p.Src, p.Dst)
			}
			m := p.Payload
			seed := uint16(0)
			if p.Version == 6 {
				seed = PseudoHeaderSum(ProtoICMPv6, p.Src, p.Dst, len(m))
			}
			if m[0] != tc.typ || m[1] != 1 || Sum(m, seed) != 0xffff {
				t.Errorf("type %d code %d checksum ok %v; want %d, 1, true", m[0], m[1], Sum(m, seed) == 0xffff, tc.typ)
			}
			if !bytes.Equal(m[8:], first.Raw[:tc.quoteLen]) {
				t.Errorf("quotes %d bytes, want the first %d of the fragment", len(m)-8, tc.quoteLen)
			}
		})
	}
	if _, err := ReassemblyTimeExceeded(make([]byte, 100), stack4, ipv4Broadcast, []byte{0x45}); err != ErrBadAddress {
		t.Errorf("to the broadcast address: %v, want %v", err, ErrBadAddress)
	}
}

// FuzzParseFragment: ParseFragment never panics, and what it returns
// points inside the packet where its fields say.
func FuzzParseFragment(f *testing.F) {
	for _, s := range seedPackets(f) {
		buf := make([]byte, len(s)+ipv6FragmentHeaderLen)
		if p, err := ParseIP(s); err == nil {
			if n, err := BuildFragment(buf, s, 1, 0, len(p.Payload)/2&^7, true); err == nil {
				f.Add(buf[:n])
			}
		}
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		testkit.FixChecksums(b)
		fr, err := ParseFragment(b)
		if err != nil {
			if DropReason(err) == "other" {
				t.Fatalf("error without a drop reason: %v", err)
			}
			return
		}
		if fr.Offset%8 != 0 || fr.Offset > 0xffff {
			t.Fatalf("offset %d", fr.Offset)
		}
		if len(fr.Header)+len(fr.Data) > len(fr.Raw) || !bytes.Equal(fr.Raw[len(fr.Raw)-len(fr.Data):], fr.Data) ||
			!bytes.Equal(fr.Raw[:len(fr.Header)], fr.Header) {
			t.Fatalf("header %d and data %d do not fit in %d bytes", len(fr.Header), len(fr.Data), len(fr.Raw))
		}
		if fr.Version == 6 && (fr.NextHeaderAt >= len(fr.Header) || fr.Header[fr.NextHeaderAt] != ipv6Fragment) {
			t.Fatalf("next header at %d does not name the fragment header", fr.NextHeaderAt)
		}
		fr.HeaderChainComplete()
	})
}
