package ipfrag

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
)

var (
	src4 = netip.MustParseAddr("10.77.0.1")
	dst4 = netip.MustParseAddr("10.77.0.2")
	src6 = netip.MustParseAddr("fd00:77::1")
	dst6 = netip.MustParseAddr("fd00:77::2")
)

// payload returns n bytes that differ from one offset to the next, so a
// piece in the wrong place shows.
func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// tcpPayload is a TCP header (data offset 5) followed by n bytes of data.
func tcpPayload(n int) []byte {
	b := payload(20 + n)
	b[12] = 5 << 4
	return b
}

// fragment builds, with testkit, the fragment of pkt carrying [from, to)
// with id and the M flag more, and parses it as the stack would.
func fragment(t testing.TB, pkt []byte, id uint32, from, to int, more bool) *wire.Fragment {
	t.Helper()
	f, err := wire.ParseFragment(testkit.Fragment(pkt, id, from, to, more))
	if err != nil {
		t.Fatalf("ParseFragment [%d, %d): %v", from, to, err)
	}
	return &f
}

// checkInvariants checks the Reassembler's bookkeeping against its
// datagrams: what is charged, what is counted, the age lists and each
// datagram's extents.
func checkInvariants(r *Reassembler) error {
	memory, live, listed := 0, 0, 0
	for i := range r.ages {
		var prev *datagram
		for d := r.ages[i].head; d != nil; d = d.newer {
			listed++
			if d.older != prev {
				return fmt.Errorf("age list %d: broken back link", i)
			}
			if prev != nil && d.created.Before(prev.created) {
				return fmt.Errorf("age list %d: not oldest first", i)
			}
			if r.datagrams[d.key] != d {
				return fmt.Errorf("age list %d: a datagram not in the map", i)
			}
			prev = d
		}
		if r.ages[i].tail != prev {
			return fmt.Errorf("age list %d: tail is not the last", i)
		}
	}
	if listed != len(r.datagrams) {
		return fmt.Errorf("%d datagrams listed by age, %d in the map", listed, len(r.datagrams))
	}
	for _, d := range r.datagrams {
		memory += d.cost
		if d.dead {
			if d.pieces != nil || d.cost != datagramCost {
				return fmt.Errorf("a discarded datagram holds %d pieces, costs %d", len(d.pieces), d.cost)
			}
			continue
		}
		live++
		cost, held := datagramCost, 0
		for i, p := range d.pieces {
			if p.end-p.off != len(p.data) || p.off < 0 || i > 0 && d.pieces[i-1].end > p.off {
				return fmt.Errorf("pieces out of order or overlapping: %v", d.pieces)
			}
			if d.end >= 0 && p.end > d.end {
				return fmt.Errorf("a piece [%d, %d) past the end %d", p.off, p.end, d.end)
			}
			cost += pieceCost + len(p.data)
			held += len(p.data)
		}
		cost += len(d.head)
		if cost != d.cost || held != d.held {
			return fmt.Errorf("datagram charged %d holding %d, its pieces make %d and %d", d.cost, d.held, cost, held)
		}
		if d.complete() {
			return fmt.Errorf("a complete datagram is still held")
		}
		if len(d.pieces) > r.cfg.MaxFragments {
			return fmt.Errorf("%d fragments, bound %d", len(d.pieces), r.cfg.MaxFragments)
		}
	}
	if memory != r.memory || live != r.live {
		return fmt.Errorf("memory %d live %d, datagrams add up to %d and %d", r.memory, r.live, memory, live)
	}
	if r.memory > r.cfg.MemoryLimit {
		return fmt.Errorf("memory %d over the limit %d", r.memory, r.cfg.MemoryLimit)
	}
	return nil
}
