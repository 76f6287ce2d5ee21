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

// allOptions is every combination of the options BuildTCP writes.
func allOptions() []tcp.Options {
	var all []tcp.Options
	for bits := range 16 {
		var o tcp.Options
		if bits&1 != 0 {
			o.MSS = 1460
		}
		if bits&2 != 0 {
			o.WindowScale, o.HasWindowScale = 14, true
		}
		if bits&4 != 0 {
			o.SACKPermitted = true
		}
		if bits&8 != 0 {
			o.TSVal, o.TSEcr, o.HasTimestamps = 0xdeadbeef, 1, true
		}
		all = append(all, o)
	}
	return all
}

func TestBuildParseTCPRoundTrip(t *testing.T) {
	addrs := []struct{ src, dst netip.Addr }{{host4, stack4}, {host6, stack6}}
	segments := []*tcp.Segment{
		synSegment(),
		dataSegment(0),
		dataSegment(1),
		dataSegment(1448),
		{SrcPort: 1, DstPort: 65535, Seq: 0xffffffff, Ack: 0x80000000, Flags: 0xff, Window: 0xffff, Urgent: 0x1234},
		{SrcPort: 80, DstPort: 12345, Flags: tcp.FlagRST | tcp.FlagACK, Ack: 42},
	}
	for _, o := range allOptions() {
		seg := dataSegment(5)
		seg.Options = o
		segments = append(segments, seg)
	}
	for _, o := range sackOptions() {
		seg := dataSegment(3)
		seg.Options = o
		segments = append(segments, seg)
	}
	for _, a := range addrs {
		for _, seg := range segments {
			t.Run(a.src.String()+"/"+seg.String(), func(t *testing.T) {
				b := mustBuildTCP(t, a.src, a.dst, seg)
				p := mustParseIP(t, b)
				if p.Src != a.src || p.Dst != a.dst || p.Protocol != ProtoTCP {
					t.Fatalf("IP: %+v", p)
				}
				var got tcp.Segment
				if err := ParseTCP(&p, &got); err != nil {
					t.Fatalf("ParseTCP: %v", err)
				}
				if diff := cmp.Diff(seg, &got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("round trip (-built +parsed):\n%s", diff)
				}
				if len(got.Payload) > 0 && &got.Payload[0] != &b[len(b)-len(got.Payload)] {
					t.Error("payload is a copy, want a sub-slice of the packet")
				}
			})
		}
	}
}

func TestBuildTCPOptionLayout(t *testing.T) {
	b := mustBuildTCP(t, host4, stack4, synSegment())
	got := b[IPv4HeaderLen+TCPHeaderLen:]
	want := []byte{
		2, 4, 0x05, 0xb4, // MSS 1460
		4, 2, 8, 10, 0, 0x01, 0xe2, 0x40, 0, 0, 0, 0, // SACK-permitted, timestamps 123456 0
		1, 3, 3, 7, // NOP, window scale 7
	}
	if !bytes.Equal(got, want) {
		t.Errorf("options\n got % x\nwant % x", got, want)
	}
	for _, o := range allOptions() {
		seg := dataSegment(0)
		seg.Options = o
		b := mustBuildTCP(t, host4, stack4, seg)
		dataOffset := int(b[IPv4HeaderLen+12]>>4) * 4
		if n := dataOffset - TCPHeaderLen; n != optionsLen(&o) || n%4 != 0 || len(b) != IPv4HeaderLen+dataOffset {
			t.Errorf("%+v: %d option bytes, optionsLen %d, packet %d bytes", o, n, optionsLen(&o), len(b))
		}
	}
}

func TestBuildTCPIPHeader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ttl     uint8
		wantTTL uint8
	}{{"default", 0, DefaultTTL}, {"explicit", 7, 7}} {
		seg := dataSegment(10)
		buf := make([]byte, 200)
		n, err := BuildTCP(buf, host4, stack4, seg, tc.ttl)
		if err != nil {
			t.Fatal(err)
		}
		b := buf[:n]
		if b[0] != 0x45 || b[8] != tc.wantTTL || binary.BigEndian.Uint16(b[6:8]) != 0x4000 ||
			binary.BigEndian.Uint16(b[4:6]) != 0 || int(binary.BigEndian.Uint16(b[2:4])) != n {
			t.Errorf("%s: IPv4 header % x", tc.name, b[:20])
		}
		n, err = BuildTCP(buf, host6, stack6, seg, tc.ttl)
		if err != nil {
			t.Fatal(err)
		}
		b = buf[:n]
		if !bytes.Equal(b[:4], []byte{0x60, 0, 0, 0}) || b[6] != ProtoTCP || b[7] != tc.wantTTL ||
			int(binary.BigEndian.Uint16(b[4:6])) != n-IPv6HeaderLen {
			t.Errorf("%s: IPv6 header % x", tc.name, b[:8])
		}
	}
	// A 4-in-6 mapped address builds IPv4.
	n, err := BuildTCP(make([]byte, 100), netip.AddrFrom16(host4.As16()), stack4, dataSegment(0), 0)
	if err != nil || n != IPv4HeaderLen+TCPHeaderLen+12 {
		t.Errorf("mapped source: n = %d, err = %v", n, err)
	}
}

func TestBuildTCPErrors(t *testing.T) {
	seg := dataSegment(100)
	need := len(mustBuildTCP(t, host6, stack6, seg))
	for n := range need {
		if _, err := BuildTCP(make([]byte, n), host6, stack6, seg, 0); err != ErrBufferTooSmall {
			t.Fatalf("buffer of %d bytes: %v, want %v", n, err, ErrBufferTooSmall)
		}
	}
	big := make([]byte, 70000)
	for _, tc := range []struct {
		name     string
		src, dst netip.Addr
		seg      *tcp.Segment
		want     error
	}{
		{"mixed families", host4, stack6, seg, ErrBadAddress},
		{"invalid source", netip.Addr{}, stack4, seg, ErrBadAddress},
		{"invalid destination", host6, netip.Addr{}, seg, ErrBadAddress},
		{"IPv4 longer than 65535", host4, stack4, &tcp.Segment{Payload: big[:65535-40+1]}, ErrPacketTooLong},
		{"IPv6 payload longer than 65535", host6, stack6, &tcp.Segment{Payload: big[:65535-20+1]}, ErrPacketTooLong},
	} {
		if _, err := BuildTCP(big, tc.src, tc.dst, tc.seg, 0); err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// The largest packets each family can say fit.
	if _, err := BuildTCP(make([]byte, 70000), host4, stack4, &tcp.Segment{Payload: big[:65535-40]}, 0); err != nil {
		t.Errorf("largest IPv4 packet: %v", err)
	}
	if _, err := BuildTCP(make([]byte, 70000), host6, stack6, &tcp.Segment{Payload: big[:65535-20]}, 0); err != nil {
		t.Errorf("largest IPv6 packet: %v", err)
	}
}

func TestParseTCPOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		options []byte // padded to a multiple of 4 with EOL
		want    tcp.Options
		err     error
	}{
		{"none", nil, tcp.Options{}, nil},
		{"MSS", []byte{2, 4, 0x05, 0xb4}, tcp.Options{MSS: 1460}, nil},
		{"window scale", []byte{1, 3, 3, 9}, tcp.Options{WindowScale: 9, HasWindowScale: true}, nil},
		{"window scale above 14 is kept", []byte{3, 3, 15}, tcp.Options{WindowScale: 15, HasWindowScale: true}, nil},
		{"SACK-permitted", []byte{4, 2}, tcp.Options{SACKPermitted: true}, nil},
		{"timestamps", []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}, tcp.Options{TSVal: 1, TSEcr: 2, HasTimestamps: true}, nil},
		{"unknown kind skipped", []byte{30, 6, 9, 9, 9, 9, 2, 4, 0, 100}, tcp.Options{MSS: 100}, nil},
		{"SACK block", []byte{1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 4, 2}, tcp.Options{SACKPermitted: true, NumSACK: 1, SACK: [4]tcp.SACKBlock{sb(1, 2)}}, nil},
		{"SACK length not 2+8n", []byte{5, 6, 0, 0, 0, 1, 1, 1}, tcp.Options{}, ErrBadOptions},
		{"EOL ends the list", []byte{4, 2, 0, 2, 1}, tcp.Options{SACKPermitted: true}, nil},
		{"NOPs to the end", []byte{1, 1, 1, 1}, tcp.Options{}, nil},
		{"length 0", []byte{30, 0, 1, 1}, tcp.Options{}, ErrBadOptions},
		{"length 1", []byte{30, 1, 1, 1}, tcp.Options{}, ErrBadOptions},
		{"length past the header", []byte{1, 1, 30, 3}, tcp.Options{}, ErrBadOptions},
		{"kind without length at the end", []byte{1, 1, 1, 2}, tcp.Options{}, ErrBadOptions},
		{"MSS length 3", []byte{2, 3, 5, 1}, tcp.Options{}, ErrBadOptions},
		{"MSS length 6", []byte{2, 6, 5, 0xb4, 0, 0}, tcp.Options{}, ErrBadOptions},
		{"window scale length 4", []byte{3, 4, 7, 0}, tcp.Options{}, ErrBadOptions},
		{"SACK-permitted length 3", []byte{4, 3, 0}, tcp.Options{}, ErrBadOptions},
		{"timestamps length 8", []byte{8, 8, 0, 0, 0, 1, 0, 0}, tcp.Options{}, ErrBadOptions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := packetWithOptions(t, tc.options)
			var seg tcp.Segment
			err := ParseTCP(&p, &seg)
			if err != tc.err {
				t.Fatalf("ParseTCP: %v, want %v", err, tc.err)
			}
			if err == nil && seg.Options != tc.want {
				t.Errorf("options %+v, want %+v", seg.Options, tc.want)
			}
		})
	}
}

// packetWithOptions is a parsed IPv4 packet whose TCP header carries the
// raw options (padded with EOL) and 3 bytes of payload.
func packetWithOptions(t *testing.T, options []byte) Packet {
	t.Helper()
	b := mustBuildTCP(t, host4, stack4, &tcp.Segment{SrcPort: 1, DstPort: 2, Flags: tcp.FlagACK, Payload: []byte("abc")})
	padded := append([]byte{}, options...)
	for len(padded)%4 != 0 {
		padded = append(padded, 0)
	}
	out := append([]byte{}, b[:IPv4HeaderLen+TCPHeaderLen]...)
	out = append(append(out, padded...), "abc"...)
	out[IPv4HeaderLen+12] = byte((TCPHeaderLen+len(padded))/4) << 4
	testkit.SetIPLength(out)
	testkit.FixChecksums(out)
	return mustParseIP(t, out)
}

func TestParseTCPErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(b []byte) []byte // of an IPv4 packet with 12 bytes of options and 10 of data
		want   error
	}{
		{"checksum", func(b []byte) []byte { b[len(b)-1]++; return b }, ErrBadTCPChecksum},
		{"checksum field", func(b []byte) []byte { b[IPv4HeaderLen+16]++; return b }, ErrBadTCPChecksum},
		{"pseudo-header address", func(b []byte) []byte { b[19]++; testkit.FixIPv4HeaderChecksum(b); return b }, ErrBadTCPChecksum},
		{"data offset 0", withDataOffset(0), ErrBadDataOffset},
		{"data offset 4", withDataOffset(4), ErrBadDataOffset},
		{"data offset past the segment", withDataOffset(15), ErrBadDataOffset},
		{"not TCP", func(b []byte) []byte { b[9] = ProtoUDP; testkit.FixIPv4HeaderChecksum(b); return b }, ErrWrongProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mutate(mustBuildTCP(t, host4, stack4, dataSegment(10)))
			p := mustParseIP(t, b)
			var seg tcp.Segment
			if err := ParseTCP(&p, &seg); err != tc.want {
				t.Errorf("ParseTCP: %v, want %v", err, tc.want)
			}
		})
	}
}

// ParseTCPChecksummed parses what ParseTCP does, without looking at the
// checksum; every other check still holds.
func TestParseTCPChecksummedSkipsOnlyTheChecksum(t *testing.T) {
	good := mustBuildTCP(t, host4, stack4, dataSegment(10))
	p := mustParseIP(t, good)
	var want tcp.Segment
	if err := ParseTCP(&p, &want); err != nil {
		t.Fatalf("ParseTCP: %v", err)
	}
	bad := mustBuildTCP(t, host4, stack4, dataSegment(10))
	bad[IPv4HeaderLen+16]++ // the checksum field
	p = mustParseIP(t, bad)
	var got tcp.Segment
	if err := ParseTCPChecksummed(&p, &got); err != nil {
		t.Fatalf("ParseTCPChecksummed of a segment with a wrong checksum: %v", err)
	}
	if got.String() != want.String() || !bytes.Equal(got.Payload, want.Payload) {
		t.Errorf("ParseTCPChecksummed = %v, want %v", &got, &want)
	}
	p = mustParseIP(t, withDataOffset(4)(bad))
	if err := ParseTCPChecksummed(&p, &got); err != ErrBadDataOffset {
		t.Errorf("ParseTCPChecksummed with data offset 4: %v, want %v", err, ErrBadDataOffset)
	}
}

func withDataOffset(words uint8) func([]byte) []byte {
	return func(b []byte) []byte {
		b[IPv4HeaderLen+12] = words << 4
		testkit.FixChecksums(b)
		return b
	}
}

// TestParseTCPTruncatedAtEveryLength cuts the segment at every length,
// keeping the IP length and the TCP checksum consistent: inside the fixed
// header it is ErrTCPTruncated, inside the options ErrBadDataOffset.
func TestParseTCPTruncatedAtEveryLength(t *testing.T) {
	for _, a := range []struct{ src, dst netip.Addr }{{host4, stack4}, {host6, stack6}} {
		full := mustBuildTCP(t, a.src, a.dst, synSegment())
		headerLen := mustParseIP(t, full).HeaderLen
		for n := range len(full) - headerLen {
			b := append([]byte{}, full[:headerLen+n]...)
			testkit.SetIPLength(b)
			if n >= 18 {
				testkit.FixChecksums(b)
			}
			p := mustParseIP(t, b)
			want := ErrBadDataOffset
			if n < TCPHeaderLen {
				want = ErrTCPTruncated
			}
			var seg tcp.Segment
			if err := ParseTCP(&p, &seg); err != want {
				t.Errorf("%s: %d TCP bytes: %v, want %v", a.src, n, err, want)
			}
		}
	}
}

// sackOptions are ACK options with SACK blocks (RFC 2018): up to four
// alone, up to three beside timestamps.
func sackOptions() []tcp.Options {
	blocks := [tcp.MaxSACKBlocks]tcp.SACKBlock{sb(100, 200), sb(300, 400), sb(0xfffffff0, 0x10), sb(500, 600)}
	var out []tcp.Options
	for n := 1; n <= tcp.MaxSACKBlocks; n++ {
		out = append(out, tcp.Options{SACK: blocks, NumSACK: uint8(n)})
		if n <= 3 {
			out = append(out, tcp.Options{SACK: blocks, NumSACK: uint8(n), HasTimestamps: true, TSVal: 7, TSEcr: 9})
		}
	}
	for i := range out {
		for j := int(out[i].NumSACK); j < tcp.MaxSACKBlocks; j++ {
			out[i].SACK[j] = tcp.SACKBlock{}
		}
	}
	return out
}

func TestSACKBlocksCappedByOptionSpace(t *testing.T) {
	seg := dataSegment(0)
	seg.Options = tcp.Options{HasTimestamps: true, NumSACK: 4, SACK: [4]tcp.SACKBlock{sb(1, 2), sb(3, 4), sb(5, 6), sb(7, 8)}}
	b := mustBuildTCP(t, host4, stack4, seg)
	p := mustParseIP(t, b)
	var got tcp.Segment
	if err := ParseTCP(&p, &got); err != nil {
		t.Fatal(err)
	}
	if got.Options.NumSACK != 3 || len(p.Payload) != TCPHeaderLen+40 {
		t.Fatalf("%d blocks in a %d-byte header; want 3 in 60", got.Options.NumSACK, len(p.Payload))
	}
}

// sb is a SACK block from left to right.
func sb(left, right tcp.Seq) tcp.SACKBlock { return tcp.SACKBlock{Left: left, Right: right} }
