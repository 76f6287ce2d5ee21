package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/tunstack/tunstack/tests/testkit"
)

// garbage sends malformed and random packets to the stack at -rate a
// second, from random sources: TCP headers of random bytes (half with a
// right checksum), truncated TCP, unknown protocols, random ICMP, segments
// with random flags, numbers and option bytes to the services' ports, IPv4
// options of random bytes, and fragments. The kernel fills in an IPv4
// header's length and checksum, so what is malformed is what lies above
// them; for IPv6 the whole packet is the program's.
func garbage(args []string) error {
	fs := flag.NewFlagSet("garbage", flag.ExitOnError)
	var r rateFlags
	r.register(fs, "10.77.0.2")
	fs.Parse(args)
	dst, err := netip.ParseAddr(r.dst)
	if err != nil {
		return fmt.Errorf("-dst: %w", err)
	}
	sock, err := openRaw(dst)
	if err != nil {
		return err
	}
	defer sock.close()
	g := garbageMaker{rng: rand.New(rand.NewPCG(r.seed, 2)), dst: dst, buf: make([]byte, 2048)}
	refused := 0
	sent, took, err := paced(r.rate, r.duration, func() error {
		if sock.send(g.next()) != nil {
			refused++
		}
		return nil
	})
	fmt.Printf("garbage: %d malformed packets to %v in %.1fs (%.0f/s), %d refused by the kernel\n",
		sent, dst, took.Seconds(), float64(sent)/took.Seconds(), refused)
	return err
}

type garbageMaker struct {
	rng *rand.Rand
	dst netip.Addr
	buf []byte
}

var servicePorts = []uint16{80, 7, 9, 22, 443}

// next makes one packet of a kind picked at random.
func (g *garbageMaker) next() []byte {
	src := randomSource(g.rng, g.dst)
	switch g.rng.IntN(7) {
	case 0: // a TCP header of random bytes, its checksum right half the time
		return g.ip(src, testkit.ProtoTCP, g.random(20+g.rng.IntN(60)), g.rng.IntN(2) == 0)
	case 1: // truncated TCP
		return g.ip(src, testkit.ProtoTCP, g.random(g.rng.IntN(20)), false)
	case 2: // an unknown protocol
		return g.ip(src, uint8(17+g.rng.IntN(40)), g.random(g.rng.IntN(100)), false)
	case 3: // ICMP of a random type and code
		proto := uint8(testkit.ProtoICMPv4)
		if g.dst.Is6() {
			proto = testkit.ProtoICMPv6
		}
		return g.ip(src, proto, g.random(8+g.rng.IntN(80)), g.rng.IntN(2) == 0)
	case 4, 5: // a well-formed segment with random flags, numbers and options
		seg := testkit.Segment{
			Seq: g.rng.Uint32(), Ack: g.rng.Uint32(),
			Flags: testkit.Flags(g.rng.Uint32() & 0x3f), Window: uint16(g.rng.Uint32()),
			Payload: g.random(g.rng.IntN(64)),
		}
		port := servicePorts[g.rng.IntN(len(servicePorts))]
		p := testkit.TCPPacket(netip.AddrPortFrom(src, uint16(g.rng.Uint32())), netip.AddrPortFrom(g.dst, port), seg)
		if g.rng.IntN(2) == 0 { // random option bytes in place of the first payload words
			hdr := testkit.IPv4HeaderLen
			if g.dst.Is6() {
				hdr = testkit.IPv6HeaderLen
			}
			words := min(len(seg.Payload)/4, 10)
			p[hdr+12] = byte(5+words) << 4
			testkit.FixChecksums(p)
		}
		return p
	default: // IPv4 options of random bytes, or a fragment
		if g.dst.Is6() {
			return g.fragment6(src)
		}
		ip := testkit.TCPPacket(netip.AddrPortFrom(src, uint16(g.rng.Uint32())), netip.AddrPortFrom(g.dst, 80),
			testkit.Segment{Seq: g.rng.Uint32(), Flags: testkit.SYN})
		if g.rng.IntN(2) == 0 {
			binary.BigEndian.PutUint16(ip[6:], uint16(g.rng.IntN(2))<<13|uint16(g.rng.IntN(1<<13)))
			return ip
		}
		words := 1 + g.rng.IntN(10)
		out := make([]byte, 0, len(ip)+4*words)
		out = append(out, ip[:20]...)
		out = append(out, g.random(4*words)...)
		out = append(out, ip[20:]...)
		out[0] = 0x40 | byte(5+words)
		return out
	}
}

func (g *garbageMaker) random(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return b
}

// ip wraps payload in an IP header to the stack; checksum fixes the TCP
// or ICMP checksum of a payload that has room for one.
func (g *garbageMaker) ip(src netip.Addr, proto uint8, payload []byte, checksum bool) []byte {
	p := testkit.IPPacket(src, g.dst, proto, payload)
	if checksum {
		testkit.FixChecksums(p)
	}
	return p
}

// fragment6 is an IPv6 packet with a fragment header (RFC 8200 §4.5) of
// random offset and flags over random bytes.
func (g *garbageMaker) fragment6(src netip.Addr) []byte {
	frag := make([]byte, 8)
	frag[0] = testkit.ProtoTCP
	binary.BigEndian.PutUint16(frag[2:], uint16(g.rng.IntN(1<<13))<<3|uint16(g.rng.IntN(2)))
	binary.BigEndian.PutUint32(frag[4:], g.rng.Uint32())
	return g.ip(src, testkit.ExtFragment, append(frag, g.random(8*(1+g.rng.IntN(8)))...), false)
}
