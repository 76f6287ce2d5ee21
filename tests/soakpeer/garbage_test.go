package main

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

// The garbage is what the soak sends the stack: every kind of it is made,
// each packet goes to the stack's address, and the well-formed segments
// among it decode.
func TestGarbageGoesToTheStack(t *testing.T) {
	for _, dst := range []netip.Addr{netip.MustParseAddr("10.77.0.2"), netip.MustParseAddr("fd00:77::2")} {
		g := garbageMaker{rng: rand.New(rand.NewPCG(1, 2)), dst: dst}
		decoded := 0
		for range 2000 {
			p := g.next()
			version := 4
			if dst.Is6() {
				version = 6
			}
			if len(p) == 0 || int(p[0]>>4) != version {
				t.Fatalf("a packet of version %d, want %d: % x", p[0]>>4, version, p)
			}
			if d, err := testkit.Decode(p); err == nil {
				if d.Dst != dst || d.Src == dst {
					t.Fatalf("a packet %v -> %v, want one to %v from a random source", d.Src, d.Dst, dst)
				}
				if d.TCP != nil && d.ChecksumOK {
					decoded++
				}
			}
		}
		if decoded < 100 {
			t.Errorf("%v: %d of 2000 packets are TCP segments with a right checksum, want a few hundred", dst, decoded)
		}
	}
}
