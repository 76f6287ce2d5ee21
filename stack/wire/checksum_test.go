package wire

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

func TestSumRFC1071Example(t *testing.T) {
	// RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Sum(b, 0); got != 0xddf2 {
		t.Errorf("Sum = %#04x, want 0xddf2", got)
	}
	if got := Checksum(b, 0); got != 0x220d {
		t.Errorf("Checksum = %#04x, want 0x220d", got)
	}
}

func TestSumMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 4200)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	ones := bytes.Repeat([]byte{0xff}, len(data))
	zeros := make([]byte, len(data))
	for _, tc := range []struct {
		name string
		data []byte
	}{{"random", data}, {"all-ones", ones}, {"zeros", zeros}} {
		for _, initial := range []uint16{0, 1, 0x8000, 0xfffe, 0xffff} {
			// Every length up to 300 from every start offset mod 8, then the sizes that matter.
			for start := range 8 {
				for n := 0; n <= 300; n++ {
					checkSum(t, tc.name, tc.data[start:start+n], initial)
				}
				for _, n := range []int{1279, 1280, 1499, 1500, 4095, 4096} {
					checkSum(t, tc.name, tc.data[start:start+n], initial)
				}
			}
		}
	}
}

func checkSum(t *testing.T, name string, b []byte, initial uint16) {
	t.Helper()
	if got, want := Sum(b, initial), referenceSum(b, initial); got != want {
		t.Fatalf("%s: Sum(len %d, %#04x) = %#04x, want %#04x", name, len(b), initial, got, want)
	}
}

func TestSumInPieces(t *testing.T) {
	b := make([]byte, 1501)
	for i := range b {
		b[i] = byte(i*31 + 7)
	}
	whole := Sum(b, 0)
	for cut := 0; cut <= len(b); cut += 2 {
		if got := Sum(b[cut:], Sum(b[:cut], 0)); got != whole {
			t.Fatalf("cut at %d: %#04x, want %#04x", cut, got, whole)
		}
	}
}

func TestChecksumVerifies(t *testing.T) {
	// A message with its checksum filled in sums to 0xffff.
	b := []byte{0x45, 0x00, 0x00, 0x54, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2}
	c := Checksum(b, 0)
	b[10], b[11] = byte(c>>8), byte(c)
	if got := Sum(b, 0); got != 0xffff {
		t.Errorf("Sum with checksum = %#04x, want 0xffff", got)
	}
}

func TestAddSums(t *testing.T) {
	for _, tc := range []struct{ a, b, want uint16 }{
		{0, 0, 0}, {1, 2, 3}, {0xffff, 1, 1}, {0xffff, 0xffff, 0xffff}, {0x8000, 0x8000, 1},
	} {
		if got := addSums(tc.a, tc.b); got != tc.want {
			t.Errorf("addSums(%#x, %#x) = %#x, want %#x", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	for _, tc := range []struct {
		src, dst string
		protocol uint8
		length   int
	}{
		{"10.77.0.1", "10.77.0.2", ProtoTCP, 20},
		{"255.255.255.255", "255.255.255.255", ProtoTCP, 65535},
		{"0.0.0.0", "0.0.0.0", ProtoICMPv4, 0},
		{"fd00:77::1", "fd00:77::2", ProtoTCP, 1480},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ProtoICMPv6, 65535},
		{"fe80::1", "ff02::1", ProtoICMPv6, 8},
	} {
		src, dst := netip.MustParseAddr(tc.src), netip.MustParseAddr(tc.dst)
		want := testkit.PseudoHeaderSum(tc.protocol, src, dst, tc.length)
		if got := PseudoHeaderSum(tc.protocol, src, dst, tc.length); got != want {
			t.Errorf("PseudoHeaderSum(%d, %s, %s, %d) = %#04x, want %#04x", tc.protocol, src, dst, tc.length, got, want)
		}
	}
}

func FuzzChecksum(f *testing.F) {
	f.Add([]byte{}, uint16(0))
	f.Add([]byte{0xff}, uint16(0xffff))
	f.Add(bytes.Repeat([]byte{0xff}, 67), uint16(1))
	f.Add([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, initial uint16) {
		if got, want := Sum(b, initial), referenceSum(b, initial); got != want {
			t.Fatalf("Sum(%x, %#04x) = %#04x, want %#04x", b, initial, got, want)
		}
	})
}
