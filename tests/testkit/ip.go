package testkit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Header lengths and the hop limit the builders use.
const (
	IPv4HeaderLen = 20
	IPv6HeaderLen = 40
	DefaultTTL    = 64
)

// IPv6Ext is an IPv6 extension header for IPPacket: the type that the
// header before it names it by, and its bytes, whose first byte (its own
// Next Header) IPPacket fills in.
type IPv6Ext struct {
	Type  uint8
	Bytes []byte
}

// PadExt is an 8-byte extension header of type typ (ExtHopByHop or
// ExtDestOptions) that holds nothing but a PadN option.
func PadExt(typ uint8) IPv6Ext {
	return IPv6Ext{Type: typ, Bytes: []byte{0, 0, 1, 4, 0, 0, 0, 0}}
}

// IPPacket wraps payload, a message of protocol, in an IPv4 or IPv6 header
// (after src's family) from src to dst, with TTL or hop limit DefaultTTL;
// for IPv6 the extension headers ext go between the fixed header and the
// payload, in order. An IPv4 header has no options, Identification 0 and
// no flags, and its checksum is right; the payload is left as it is.
func IPPacket(src, dst netip.Addr, protocol uint8, payload []byte, ext ...IPv6Ext) []byte {
	return AppendIPPacket(nil, src, dst, protocol, payload, ext...)
}

// AppendIPPacket is IPPacket appending to b, for a loop that reuses one
// buffer.
func AppendIPPacket(b []byte, src, dst netip.Addr, protocol uint8, payload []byte, ext ...IPv6Ext) []byte {
	start := len(b)
	b = appendIPHeader(b, src, dst, protocol, len(payload), ext...)
	b = append(b, payload...)
	if src.Is4() {
		setIPv4HeaderChecksum(b[start : start+IPv4HeaderLen])
	}
	return b
}

// appendIPHeader appends an IP header for an upper-layer message of
// protocol and length, with the IPv4 checksum left zero.
func appendIPHeader(b []byte, src, dst netip.Addr, protocol uint8, length int, ext ...IPv6Ext) []byte {
	if src.Is4() != dst.Is4() {
		panic(fmt.Sprintf("testkit: addresses of two families: %v, %v", src, dst))
	}
	if src.Is4() {
		if len(ext) > 0 {
			panic("testkit: IPv6 extension headers on an IPv4 packet")
		}
		var h [IPv4HeaderLen]byte
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(IPv4HeaderLen+length))
		h[8], h[9] = DefaultTTL, protocol
		s, d := src.As4(), dst.As4()
		copy(h[12:], s[:])
		copy(h[16:], d[:])
		return append(b, h[:]...)
	}
	chain := 0
	for _, e := range ext {
		chain += len(e.Bytes)
	}
	var h [IPv6HeaderLen]byte
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(chain+length))
	h[6], h[7] = protocol, DefaultTTL
	if len(ext) > 0 {
		h[6] = ext[0].Type
	}
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	b = append(b, h[:]...)
	for i, e := range ext {
		at := len(b)
		b = append(b, e.Bytes...)
		b[at] = protocol
		if i+1 < len(ext) {
			b[at] = ext[i+1].Type
		}
	}
	return b
}

// SetIPv4ID sets the Identification of the IPv4 packet p (and its header
// checksum), as its fragments and the datagram rebuilt from them carry it.
// An IPv6 packet has none and is left alone.
func SetIPv4ID(p []byte, id uint16) {
	if p[0]>>4 != 4 {
		return
	}
	binary.BigEndian.PutUint16(p[4:], id)
	setIPv4HeaderChecksum(p[:int(p[0]&0x0f)*4])
}

// errTruncated: a header runs past the end of the packet.
var errTruncated = errors.New("truncated")

// skipExtensions skips the IPv6 packet p's hop-by-hop, routing and
// destination options headers, and returns the first other header's type
// (the upper layer's, or a fragment header's) and where it starts.
func skipExtensions(p []byte) (protocol uint8, at int, err error) {
	protocol, at = p[6], IPv6HeaderLen
	for protocol == ExtHopByHop || protocol == ExtRouting || protocol == ExtDestOptions {
		if at+8 > len(p) {
			return 0, 0, errTruncated
		}
		next, length := p[at], (int(p[at+1])+1)*8
		if at+length > len(p) {
			return 0, 0, errTruncated
		}
		protocol, at = next, at+length
	}
	return protocol, at, nil
}

// perFragment finds the IPv6 packet p's per-fragment headers (RFC 8200
// §4.5): the fixed header, and the extension headers up to and including
// the routing header if there is one, else the hop-by-hop header if there
// is one. It returns where they end and where the next-header byte is that
// names what follows them.
func perFragment(p []byte) (end, nextAt int) {
	end, nextAt = IPv6HeaderLen, 6
	protocol, at := p[6], IPv6HeaderLen
	for protocol == ExtHopByHop || protocol == ExtRouting || protocol == ExtDestOptions {
		if at+8 > len(p) || at+(int(p[at+1])+1)*8 > len(p) {
			panic("testkit: an IPv6 packet with broken extension headers")
		}
		if protocol == ExtRouting || protocol == ExtHopByHop && end == IPv6HeaderLen {
			end, nextAt = at+(int(p[at+1])+1)*8, at
		}
		protocol, at = p[at], at+(int(p[at+1])+1)*8
	}
	return end, nextAt
}

// Fragment is the fragment of the whole IP packet pkt that carries bytes
// [from, to) of its fragmentable part, with Identification id and the More
// Fragments flag more. An IPv4 fragment (RFC 791 §3.2) keeps pkt's header,
// options included, with length, ID, flags, offset and checksum changed;
// an IPv6 fragment (RFC 8200 §4.5) gets a fragment header after the
// per-fragment headers, and a destination options header that no routing
// header follows travels in the fragments. from must be a multiple of 8.
func Fragment(pkt []byte, id uint32, from, to int, more bool) []byte {
	if from%8 != 0 || from < 0 || to < from {
		panic(fmt.Sprintf("testkit: a fragment of [%d, %d)", from, to))
	}
	if pkt[0]>>4 == 4 {
		ihl := int(pkt[0]&0x0f) * 4
		body := pkt[ihl:binary.BigEndian.Uint16(pkt[2:])]
		f := append(append([]byte(nil), pkt[:ihl]...), body[from:to]...)
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		binary.BigEndian.PutUint16(f[4:], uint16(id))
		flags := uint16(from / 8)
		if more {
			flags |= 0x2000
		}
		binary.BigEndian.PutUint16(f[6:], flags)
		setIPv4HeaderChecksum(f[:ihl])
		return f
	}
	end := IPv6HeaderLen + int(binary.BigEndian.Uint16(pkt[4:]))
	at, nextAt := perFragment(pkt[:end])
	// The fragment header goes where the fragmentable part began: the
	// header that named that part names it instead.
	f := append([]byte(nil), pkt[:at]...)
	var fh [8]byte
	fh[0] = f[nextAt]
	offset := uint16(from/8) << 3
	if more {
		offset |= 1
	}
	binary.BigEndian.PutUint16(fh[2:], offset)
	binary.BigEndian.PutUint32(fh[4:], id)
	f[nextAt] = ExtFragment
	f = append(append(f, fh[:]...), pkt[at+from:at+to]...)
	SetIPLength(f)
	return f
}

// Fragments cuts the whole IP packet pkt into fragments with
// Identification id at the offsets cuts (each a multiple of 8, in
// increasing order, into its fragmentable part), the last fragment
// running to the end.
func Fragments(pkt []byte, id uint32, cuts ...int) [][]byte {
	length := FragmentableLen(pkt)
	bounds := append(append([]int{0}, cuts...), length)
	var frags [][]byte
	for i := 1; i < len(bounds); i++ {
		frags = append(frags, Fragment(pkt, id, bounds[i-1], bounds[i], i < len(bounds)-1))
	}
	return frags
}

// FragmentableLen is the length of the whole IP packet pkt's fragmentable
// part: what follows the IPv4 header, or the IPv6 per-fragment headers.
func FragmentableLen(pkt []byte) int {
	if pkt[0]>>4 == 4 {
		return int(binary.BigEndian.Uint16(pkt[2:])) - int(pkt[0]&0x0f)*4
	}
	end := IPv6HeaderLen + int(binary.BigEndian.Uint16(pkt[4:]))
	at, _ := perFragment(pkt[:end])
	return end - at
}
