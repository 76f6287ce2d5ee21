package ipfrag

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/wire"
)

var (
	src4 = netip.MustParseAddr("10.77.0.1")
	dst4 = netip.MustParseAddr("10.77.0.2")
	src6 = netip.MustParseAddr("fd00:77::1")
	dst6 = netip.MustParseAddr("fd00:77::2")
)

// packet builds a whole IPv4 or IPv6 packet from src to dst carrying
// payload as protocol; for IPv6, ext are extension headers put in front
// of the payload, each given as its bytes with its own next header left
// to fill in.
func packet(src, dst netip.Addr, protocol uint8, payload []byte, ext ...[]byte) []byte {
	if src.Is4() {
		h := make([]byte, 20, 20+len(payload))
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
		h[8], h[9] = 64, protocol
		s, d := src.As4(), dst.As4()
		copy(h[12:], s[:])
		copy(h[16:], d[:])
		binary.BigEndian.PutUint16(h[10:], wire.Checksum(h, 0))
		return append(h, payload...)
	}
	var chain []byte
	next := protocol
	for i := len(ext) - 1; i >= 0; i-- {
		e := append([]byte(nil), ext[i]...)
		e[0] = next
		next = ext[i][0] // the header's own type, given in its first byte
		chain = append(e, chain...)
	}
	h := make([]byte, 40, 40+len(chain)+len(payload))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(chain)+len(payload)))
	h[6], h[7] = next, 64
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(append(h, chain...), payload...)
}

// extHeader is an IPv6 extension header of the given type, 8 bytes long;
// packet replaces the first byte with the header that follows.
func extHeader(typ uint8) []byte { return []byte{typ, 0, 1, 4, 0, 0, 0, 0} } // a PadN option

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

// fragment builds the fragment of pkt carrying [from, to) with id and the
// M flag more, and parses it.
func fragment(t testing.TB, pkt []byte, id uint32, from, to int, more bool) *wire.Fragment {
	t.Helper()
	buf := make([]byte, len(pkt)+8)
	n, err := wire.BuildFragment(buf, pkt, id, from, to, more)
	if err != nil {
		t.Fatalf("BuildFragment [%d, %d): %v", from, to, err)
	}
	f, err := wire.ParseFragment(buf[:n])
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

// withID sets the Identification of the IPv4 packet pkt, as its fragments
// and the datagram rebuilt from them carry it; an IPv6 packet has none.
func withID(pkt []byte, id uint16) []byte {
	if pkt[0]>>4 != 4 {
		return pkt
	}
	binary.BigEndian.PutUint16(pkt[4:], id)
	pkt[10], pkt[11] = 0, 0
	binary.BigEndian.PutUint16(pkt[10:], wire.Checksum(pkt[:20], 0))
	return pkt
}
