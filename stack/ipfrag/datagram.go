package ipfrag

import (
	"net/netip"
	"sort"
	"time"

	"github.com/tunstack/tunstack/stack/wire"
)

// key identifies a datagram: source, destination, protocol and
// Identification for IPv4 (RFC 791 §3.2), source, destination and Fragment
// Identification for IPv6 (RFC 8200 §4.5), whose key has no protocol.
// Addresses are 16 bytes, IPv4 as IPv4-mapped.
type key struct {
	src, dst [16]byte
	id       uint32
	protocol uint8 // IPv4 only
	v6       bool
}

func keyOf(f *wire.Fragment) key {
	k := key{src: f.Src.As16(), dst: f.Dst.As16(), id: f.ID, v6: f.Version == 6}
	if !k.v6 {
		k.protocol = f.Protocol
	}
	return k
}

// family is 0 for IPv4, 1 for IPv6: an index into Reassembler.ages.
func (k key) family() int {
	if k.v6 {
		return 1
	}
	return 0
}

func (k key) version() uint8 {
	if k.v6 {
		return 6
	}
	return 4
}

func (k key) srcAddr() netip.Addr { return netip.AddrFrom16(k.src).Unmap() }
func (k key) dstAddr() netip.Addr { return netip.AddrFrom16(k.dst).Unmap() }

// datagram is one incomplete datagram, or the record of a discarded one.
type datagram struct {
	key               key
	created, deadline time.Time
	older, newer      *datagram // in its family's ageList
	// pieces are the fragments' data, sorted by offset, never overlapping.
	pieces []piece
	held   int // bytes of data in pieces
	end    int // the datagram's length from the last fragment; -1 before it arrives
	cost   int // memory charged
	// head is the first fragment's headers as they arrived (with the IPv6
	// fragment header); headerLen is how much of it reassembly keeps
	// (wire.Fragment.Header). Nil until the first fragment arrives.
	head         []byte
	headerLen    int
	nextHeaderAt int
	protocol     uint8 // the first fragment's (IPv6: of its fragment header)
	dead         bool  // discarded: later fragments are dropped
}

// piece is the data of one fragment: bytes [off, end) of the fragmentable
// part.
type piece struct {
	off, end int
	data     []byte
}

// check judges fragment f, which reaches end, against what d holds: Held if
// it fits, or why not.
func (d *datagram) check(f *wire.Fragment, end, maxFragments int) Reason {
	// RFC 791 §3.2: the last fragment gives the length. One that disagrees
	// with a length known, or with data held past it, cannot be right.
	switch {
	case !f.More && d.end >= 0 && end != d.end,
		!f.More && d.maxEnd() > end,
		f.More && d.end >= 0 && end > d.end:
		return Inconsistent
	}
	i := d.search(f.Offset)
	if i < len(d.pieces) && d.pieces[i].off == f.Offset && d.pieces[i].end == end {
		// The same bytes again, as a retransmission or a duplicating
		// link makes them: RFC 5722 erratum 3089 lets them be ignored.
		return Duplicate
	}
	if i > 0 && d.pieces[i-1].end > f.Offset || i < len(d.pieces) && d.pieces[i].off < end {
		return Overlap // RFC 5722 §4
	}
	if len(d.pieces) >= maxFragments {
		return TooManyFragments
	}
	return Held
}

// search is the index of the first piece at or after offset off.
func (d *datagram) search(off int) int {
	return sort.Search(len(d.pieces), func(i int) bool { return d.pieces[i].off >= off })
}

func (d *datagram) maxEnd() int {
	if len(d.pieces) == 0 {
		return 0
	}
	return d.pieces[len(d.pieces)-1].end
}

// insert adds fragment f, which check accepted, reaching end.
func (d *datagram) insert(f *wire.Fragment, end int) {
	i := d.search(f.Offset)
	d.pieces = append(d.pieces, piece{})
	copy(d.pieces[i+1:], d.pieces[i:])
	d.pieces[i] = piece{off: f.Offset, end: end, data: append([]byte(nil), f.Data...)}
	d.held += len(f.Data)
	if !f.More {
		d.end = end
	}
	if f.Offset == 0 {
		d.head = append([]byte(nil), f.Raw[:len(f.Raw)-len(f.Data)]...)
		d.headerLen, d.nextHeaderAt, d.protocol = len(f.Header), f.NextHeaderAt, f.Protocol
	}
}

// complete reports whether d holds its whole datagram: with no overlaps,
// data adding up to the length means no hole is left (RFC 815's list of
// holes is empty).
func (d *datagram) complete() bool { return d.end >= 0 && d.held == d.end }

// completedBy reports whether fragment f, which check accepted, reaching
// end, completes d.
func (d *datagram) completedBy(f *wire.Fragment, end int) bool {
	if !f.More {
		return d.held+len(f.Data) == end
	}
	return d.end >= 0 && d.held+len(f.Data) == d.end
}

// firstFragment fills f with what reassembly needs of the first fragment.
func (d *datagram) firstFragment(f *wire.Fragment) *wire.Fragment {
	*f = wire.Fragment{
		Version:      d.key.version(),
		Protocol:     d.protocol,
		Header:       d.head[:d.headerLen],
		NextHeaderAt: d.nextHeaderAt,
	}
	return f
}

// quote writes into buf the first fragment as it arrived, as far as d kept
// it, and returns it; nil if the first fragment never came.
func (d *datagram) quote(buf []byte) []byte {
	if d.head == nil || len(d.pieces) == 0 || d.pieces[0].off != 0 {
		return nil
	}
	n := copy(buf, d.head)
	n += copy(buf[n:], d.pieces[0].data)
	return buf[:n]
}

// ageList is a doubly linked list of datagrams, oldest at head.
type ageList struct {
	head, tail *datagram
}

func (l *ageList) pushBack(d *datagram) {
	d.older, d.newer = l.tail, nil
	if l.tail != nil {
		l.tail.newer = d
	} else {
		l.head = d
	}
	l.tail = d
}

func (l *ageList) unlink(d *datagram) {
	if d.older != nil {
		d.older.newer = d.newer
	} else {
		l.head = d.newer
	}
	if d.newer != nil {
		d.newer.older = d.older
	} else {
		l.tail = d.older
	}
	d.older, d.newer = nil, nil
}
