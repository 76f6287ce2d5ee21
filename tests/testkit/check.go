package testkit

import (
	"fmt"
	"net/netip"
	"testing"
)

// A NetworkChecker checks one property of an IP packet and reports what it
// found with t.Errorf.
type NetworkChecker func(testing.TB, *Packet)

// IPv4 decodes b, fails the test at once if it is not a well-formed IPv4
// packet with a right header checksum, and runs every checker on it.
func IPv4(t testing.TB, b []byte, checkers ...NetworkChecker) {
	t.Helper()
	checkIP(t, 4, b, checkers)
}

// IPv6 decodes b, fails the test at once if it is not a well-formed IPv6
// packet, and runs every checker on it.
func IPv6(t testing.TB, b []byte, checkers ...NetworkChecker) {
	t.Helper()
	checkIP(t, 6, b, checkers)
}

// IP is IPv4 or IPv6, whichever version b has.
func IP(t testing.TB, b []byte, checkers ...NetworkChecker) {
	t.Helper()
	checkIP(t, 0, b, checkers)
}

func checkIP(t testing.TB, version int, b []byte, checkers []NetworkChecker) {
	t.Helper()
	p, err := Decode(b)
	switch {
	case err != nil:
		t.Fatalf("not an IP packet: %v: % x", err, b[:min(len(b), 64)])
	case version != 0 && p.Version != version:
		t.Fatalf("an IPv%d packet, want IPv%d", p.Version, version)
	case !p.HeaderChecksumOK:
		t.Fatalf("bad IPv4 header checksum: % x", b[:min(len(b), IPv4HeaderLen)])
	}
	for _, check := range checkers {
		check(t, p)
	}
}

// SrcAddr checks the source address.
func SrcAddr(want netip.Addr) NetworkChecker {
	return func(t testing.TB, p *Packet) {
		t.Helper()
		if p.Src != want {
			t.Errorf("source address %v, want %v", p.Src, want)
		}
	}
}

// DstAddr checks the destination address.
func DstAddr(want netip.Addr) NetworkChecker {
	return func(t testing.TB, p *Packet) {
		t.Helper()
		if p.Dst != want {
			t.Errorf("destination address %v, want %v", p.Dst, want)
		}
	}
}

// TTL checks the IPv4 TTL or the IPv6 hop limit.
func TTL(want uint8) NetworkChecker {
	return func(t testing.TB, p *Packet) {
		t.Helper()
		if p.TTL != want {
			t.Errorf("TTL %d, want %d", p.TTL, want)
		}
	}
}

// DontFragment checks IPv4's DF flag.
func DontFragment(want bool) NetworkChecker {
	return func(t testing.TB, p *Packet) {
		t.Helper()
		if p.DontFragment != want {
			t.Errorf("DF %v, want %v", p.DontFragment, want)
		}
	}
}

// FragmentOf checks that the packet is a fragment with Identification id
// carrying [offset, offset+length) of its datagram, with the More
// Fragments flag more.
func FragmentOf(id uint32, offset, length int, more bool) NetworkChecker {
	return func(t testing.TB, p *Packet) {
		t.Helper()
		if !p.IsFragment || p.ID != id || p.FragmentOffset != offset || len(p.Payload) != length || p.MoreFragments != more {
			t.Errorf("fragment %v id %#x [%d, %d) more %v, want a fragment id %#x [%d, %d) more %v",
				p.IsFragment, p.ID, p.FragmentOffset, p.FragmentOffset+len(p.Payload), p.MoreFragments,
				id, offset, offset+length, more)
		}
	}
}

// IPPayloadLen checks the length of the upper-layer message.
func IPPayloadLen(want int) NetworkChecker {
	return func(t testing.TB, p *Packet) {
		t.Helper()
		if len(p.Payload) != want {
			t.Errorf("IP payload of %d bytes, want %d", len(p.Payload), want)
		}
	}
}

// Matches reports whether the IP packet b decodes and passes every
// checker, reporting nothing: the checkers as a predicate, to pick a
// packet out of a capture.
func Matches(b []byte, checkers ...NetworkChecker) bool {
	p, err := Decode(b)
	if err != nil || !p.HeaderChecksumOK {
		return false
	}
	return quietly(func(t testing.TB) {
		for _, check := range checkers {
			check(t, p)
		}
	})
}

// quietly runs checks with a testing.TB that records failures instead of
// reporting them, and says whether none failed.
func quietly(checks func(testing.TB)) (passed bool) {
	q := &quietTB{}
	defer func() {
		if r := recover(); r != nil && r != errQuietStop {
			panic(r)
		}
		passed = !q.failed
	}()
	checks(q)
	return
}

// errQuietStop unwinds a check that called Fatal or FailNow on a quietTB.
var errQuietStop = fmt.Errorf("testkit: check stopped")

// quietTB is a testing.TB that only remembers whether a check failed. The
// embedded TB is nil: checkers call only the methods below.
type quietTB struct {
	testing.TB
	failed bool
}

func (q *quietTB) Helper()               {}
func (q *quietTB) Log(...any)            {}
func (q *quietTB) Logf(string, ...any)   {}
func (q *quietTB) Error(...any)          { q.failed = true }
func (q *quietTB) Errorf(string, ...any) { q.failed = true }
func (q *quietTB) Fail()                 { q.failed = true }
func (q *quietTB) Failed() bool          { return q.failed }
func (q *quietTB) FailNow()              { q.failed = true; panic(errQuietStop) }
func (q *quietTB) Fatal(...any)          { q.FailNow() }
func (q *quietTB) Fatalf(string, ...any) { q.FailNow() }
