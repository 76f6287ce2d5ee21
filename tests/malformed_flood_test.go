package tests

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/rawpeer"
	"github.com/tunstack/tunstack/tests/testkit"
)

// malformedRate is the malformed-packet attack's packets per second.
const malformedRate = 20000

func TestMalformedFloodHonestClientsConnect(t *testing.T) {
	testkit.RequireRoot(t)
	d := startDaemon(t)
	checkIsolated(t, d.ns)
	// Written to the device itself: the kernel neither checks nor fixes
	// what the stack receives.
	f, err := rawpeer.OpenFlooder(d.ns, deviceName, netip.MustParseAddr(stackIPv4), rawpeer.FloodDevice)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := d.counters(t)
	gen := newGarbage(uint64(time.Now().UnixNano()))
	report, st := underAttack(t, d, func(ctx context.Context) (rawpeer.FloodStats, error) {
		return f.Run(ctx, attackDuration, func() int { return malformedRate }, gen.next)
	})
	after := d.counters(t)
	read := after.PacketsIn - before.PacketsIn
	var dropped uint64
	for reason, n := range after.Drops {
		dropped += n - before.Drops[reason]
	}
	t.Logf("the stack read %d packets and dropped %d as malformed or unwanted: %v", read, dropped, after.Drops)
	t.Logf("SYN cookies sent %d, validated %d, rejected %d; SYN queue overflows %d; RSTs sent %d",
		after.SynCookies.Sent, after.SynCookies.Validated, after.SynCookies.Rejected, after.SYNQueueOverflows, after.MIB.OutRsts)
	checkHonest(t, report)
	// The garbage reached the stack, and most of it was counted as what
	// it is: at this rate the stack reads everything.
	// On a busy machine the sender may fall a little behind its rate; far
	// behind, the test would not have tested what it says.
	if min := uint64(attackDuration/time.Second) * malformedRate * 8 / 10; st.Sent < min {
		t.Errorf("the attack sent %d packets, want at least %d", st.Sent, min)
	}
	if read < st.Sent*9/10 {
		t.Errorf("the stack read %d packets, want at least 90 %% of the %d sent", read, st.Sent)
	}
	if dropped < st.Sent/4 {
		t.Errorf("%d packets dropped and counted, want at least a quarter of the %d sent", dropped, st.Sent)
	}
}

// garbage makes malformed and hostile packets: random bytes, IPv4 and IPv6
// packets cut short at a random length, headers with random fields, and
// well-formed segments with random flags, numbers and options, from random
// sources, to the stack's addresses and ports.
type garbage struct {
	rng      *rand.Rand
	stack4   netip.Addr
	stack6   netip.Addr
	segments []byte // scratch for a well-formed packet
}

func newGarbage(seed uint64) *garbage {
	return &garbage{
		rng:    rand.New(rand.NewPCG(seed, 77)),
		stack4: netip.MustParseAddr(stackIPv4), stack6: netip.MustParseAddr(stackIPv6),
		segments: make([]byte, 2048),
	}
}

// next writes one packet into b and returns its length (at least 1).
func (g *garbage) next(b []byte) int {
	r := g.rng
	switch kind := r.IntN(8); kind {
	case 0: // random bytes
		n := 1 + r.IntN(120)
		for i := range n {
			b[i] = byte(r.Uint32())
		}
		return n
	case 1, 2: // a TCP packet cut short (IPv4, IPv6)
		n := g.segment(b, kind == 2, true)
		return 1 + r.IntN(n)
	case 3, 4: // random IP header fields (IPv4, IPv6)
		n := g.segment(b, kind == 4, true)
		for range 1 + r.IntN(3) {
			b[r.IntN(min(n, 40))] = byte(r.Uint32())
		}
		return n
	case 5: // random TCP header bytes (offset, flags, options), checksum right or not
		n := g.segment(b, r.IntN(2) == 1, true)
		ipLen := 20
		if b[0]>>4 == 6 {
			ipLen = 40
		}
		for range 1 + r.IntN(4) {
			b[ipLen+12+r.IntN(min(n-ipLen-12, 28))] = byte(r.Uint32())
		}
		return n
	default: // well-formed, random flags, numbers and options
		return g.segment(b, r.IntN(4) == 0, false)
	}
}

// segment builds a well-formed TCP packet from a random spoofed source to
// one of the stack's ports, with random flags, sequence and
// acknowledgment numbers, window, options and payload.
func (g *garbage) segment(b []byte, ipv6, anyFlags bool) int {
	r := g.rng
	ports := []uint16{80, 7, 9, uint16(r.Uint32())}
	seg := tcp.Segment{
		SrcPort: uint16(r.Uint32()), DstPort: ports[r.IntN(len(ports))],
		Seq: tcp.Seq(r.Uint32()), Ack: tcp.Seq(r.Uint32()),
		Flags: tcp.Flags(r.Uint32()), Window: uint16(r.Uint32()),
	}
	if !anyFlags && r.IntN(2) == 0 {
		seg.Flags = []tcp.Flags{tcp.FlagSYN, tcp.FlagACK, tcp.FlagRST, tcp.FlagSYN | tcp.FlagACK, tcp.FlagFIN | tcp.FlagACK}[r.IntN(5)]
	}
	if r.IntN(2) == 0 {
		seg.Options = tcp.Options{MSS: uint16(r.Uint32()), HasWindowScale: true, WindowScale: uint8(r.IntN(20)),
			SACKPermitted: r.IntN(2) == 0, HasTimestamps: r.IntN(2) == 0, TSVal: r.Uint32(), TSEcr: r.Uint32()}
	}
	if n := r.IntN(4); n > 0 {
		seg.Payload = g.segments[:r.IntN(200)]
		for i := range seg.Payload {
			seg.Payload[i] = byte(r.Uint32())
		}
	}
	src, dst := g.source4(), g.stack4
	if ipv6 {
		src, dst = g.source6(), g.stack6
	}
	n, err := wire.BuildTCP(b, src, dst, &seg, uint8(r.Uint32()))
	if err != nil {
		panic(err) // at most 60 bytes of headers and 200 of payload
	}
	return n
}

func (g *garbage) source4() netip.Addr {
	a := spoofed4.Addr().As4()
	binary.BigEndian.PutUint32(a[:], binary.BigEndian.Uint32(a[:])|g.rng.Uint32()&(1<<(32-spoofed4.Bits())-1))
	return netip.AddrFrom4(a)
}

func (g *garbage) source6() netip.Addr {
	a := spoofed6.Addr().As16()
	binary.BigEndian.PutUint64(a[8:], g.rng.Uint64())
	binary.BigEndian.PutUint16(a[4:], uint16(g.rng.Uint32()))
	return netip.AddrFrom16(a)
}
