package rawpeer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
	"golang.org/x/sys/unix"
)

func TestParsePacket(t *testing.T) {
	src, dst := netip.MustParseAddr("10.77.0.2"), netip.MustParseAddr("10.77.0.3")
	seg := tcp.Segment{SrcPort: 7, DstPort: 40000, Seq: 100, Ack: 200, Flags: tcp.FlagPSH | tcp.FlagACK, Window: 1000, Payload: []byte("hi"),
		Options: tcp.Options{MSS: 1460, SACKPermitted: true}}
	buf := make([]byte, 100)
	n, err := wire.BuildTCP(buf, src, dst, &seg, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1, 0)
	raw := bytes.Clone(buf[:n])
	got := parsePacket(buf[:n], at, FromStack, false)
	clear(buf) // the packet must not share the capture buffer
	want := Packet{At: at, Dir: FromStack, Src: src, Dst: dst, Protocol: wire.ProtoTCP, Seg: seg, Raw: raw}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("parsePacket (-want +got):\n%s", diff)
	}
	if !got.IsTCP() {
		t.Error("IsTCP() = false for a TCP segment")
	}
	if want := "stack->peer 10.77.0.2:7 > 10.77.0.3:40000 PSH-ACK seq=100 ack=200 win=1000 len=2 <mss 1460,sackOK>"; got.String() != want {
		t.Errorf("String() = %q, want %q", got.String(), want)
	}
}

func TestParsePacketErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		packet []byte
		want   string
	}{
		{"empty", nil, "unparsable"},
		{"bad version", []byte{0x10, 0, 0, 0}, "unparsable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parsePacket(tc.packet, time.Time{}, ToStack, false)
			if got.Err == nil || got.IsTCP() || !strings.Contains(got.String(), tc.want) {
				t.Errorf("parsePacket(%x) = %v (err %v), want an error", tc.packet, got, got.Err)
			}
		})
	}
}

func TestOpenRejectsMixedFamilies(t *testing.T) {
	_, err := Open("unused", "tunstack0", netip.MustParseAddr("fd00:77::3"), netip.MustParseAddr("10.77.0.2"))
	if !errors.Is(err, ErrFamilies) {
		t.Errorf("Open with an IPv6 and an IPv4 address: %v, want ErrFamilies", err)
	}
}

func TestParseFragmentPacket(t *testing.T) {
	src, dst := netip.MustParseAddr("fd00:77::3"), netip.MustParseAddr("fd00:77::2")
	seg := tcp.Segment{SrcPort: 40000, DstPort: 7, Seq: 1, Flags: tcp.FlagSYN, Payload: make([]byte, 100)}
	whole := make([]byte, 200)
	n, err := wire.BuildTCP(whole, src, dst, &seg, 0)
	if err != nil {
		t.Fatal(err)
	}
	frag := make([]byte, 200)
	m, err := wire.BuildFragment(frag, whole[:n], 0x1234, 24, 64, true)
	if err != nil {
		t.Fatal(err)
	}
	got := parsePacket(frag[:m], time.Time{}, ToStack, false)
	want := "peer->stack fd00:77::3 > fd00:77::2 fragment id=0x1234 offset=24 len=40 more protocol 6"
	if got.Err != nil || got.IsTCP() || got.String() != want {
		t.Errorf("parsePacket of a fragment = %q (err %v), want %q", got.String(), got.Err, want)
	}
}

// A segment the stack's offload coalesced carries only its pseudo-header's
// sum; the capture parses it, and Raw holds it with the checksum the kernel
// completes.
func TestPartialChecksumIsCompleted(t *testing.T) {
	src, dst := netip.MustParseAddrPort("10.77.0.2:7"), netip.MustParseAddrPort("10.77.0.3:40000")
	pkt := testkit.TCPPacket(src, dst, testkit.Segment{Seq: 1, Ack: 2, Flags: testkit.ACK, Payload: []byte("data")})
	tcpLen := len(pkt) - testkit.IPv4HeaderLen
	binary.BigEndian.PutUint16(pkt[testkit.IPv4HeaderLen+16:], testkit.PseudoHeaderSum(testkit.ProtoTCP, src.Addr(), dst.Addr(), tcpLen))
	got := parsePacket(pkt, time.Time{}, FromStack, false)
	if got.Err != nil || string(got.Seg.Payload) != "data" {
		t.Fatalf("parsePacket of a partially summed segment: %v, %v", got, got.Err)
	}
	testkit.IPv4(t, got.Raw, testkit.TCP(testkit.TCPPayload([]byte("data"))))
	if toStack := parsePacket(pkt, time.Time{}, ToStack, false); toStack.Err == nil {
		t.Error("a partial checksum on a packet to the stack parsed, its virtio-net header not asking for the sum")
	}
	if toStack := parsePacket(pkt, time.Time{}, ToStack, true); toStack.Err != nil {
		t.Errorf("a kernel's segment whose virtio-net header leaves the sum to the device: %v", toStack.Err)
	}
}

// A GSO super-packet stands for the segments of its GSO size that the
// kernel cuts it into, the last one the rest; a plain packet for itself.
func TestSegmentSizes(t *testing.T) {
	for _, tc := range []struct {
		payload, gso int
		want         []int
	}{
		{0, 0, []int{0}},
		{1448, 0, []int{1448}},
		{488, 488, []int{488}},
		{4880, 488, []int{488, 488, 488, 488, 488, 488, 488, 488, 488, 488}},
		{1000, 488, []int{488, 488, 24}},
	} {
		p := Packet{GSOSize: tc.gso}
		p.Seg.Payload = make([]byte, tc.payload)
		if got := p.SegmentSizes(); !slices.Equal(got, tc.want) {
			t.Errorf("%d octets, GSO size %d: segments %v, want %v", tc.payload, tc.gso, got, tc.want)
		}
	}
}

// The GSO size is read from the virtio-net header only when its GSO type
// says the packet is a super-packet.
func TestGSOSizeFromVirtioHeader(t *testing.T) {
	h := make([]byte, vnetHeaderLen)
	binary.NativeEndian.PutUint16(h[4:], 488)
	if n := gsoSize(h); n != 0 {
		t.Errorf("GSO type none: size %d, want 0", n)
	}
	h[1] = unix.VIRTIO_NET_HDR_GSO_TCPV4
	if n := gsoSize(h); n != 488 {
		t.Errorf("GSO type TCPv4: size %d, want 488", n)
	}
}
