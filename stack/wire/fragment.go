package wire

import (
	"encoding/binary"
	"net/netip"
)

// ipv6FragmentHeaderLen is the IPv6 fragment header's fixed size (RFC 8200
// §4.5).
const ipv6FragmentHeaderLen = 8

// Fragment is one fragment of an IPv4 datagram (RFC 791 §3.2) or of an IPv6
// packet (RFC 8200 §4.5), as ParseFragment finds it. Its slices point into
// the buffer given to ParseFragment.
type Fragment struct {
	Version  uint8 // 4 or 6
	Src, Dst netip.Addr
	// Protocol is the IPv4 protocol, or the Next Header of the IPv6
	// fragment header: the first header of the fragmentable part, of which
	// only the first fragment's counts (RFC 8200 §4.5).
	Protocol uint8
	// ID is the IPv4 Identification (16 bits) or the IPv6 Fragment
	// Identification.
	ID uint32
	// Offset is where Data belongs in the reassembled payload, in bytes.
	Offset int
	// More is the M (more fragments) flag.
	More bool
	// Header is what reassembly keeps of the first fragment: the IPv4
	// header with its options, or the IPv6 header with the extension
	// headers before the fragment header (the unfragmentable part).
	Header []byte
	// NextHeaderAt is, for IPv6, where in Header the next-header byte is
	// that names the fragment header: 6 if the fragment header follows the
	// fixed header. Zero for IPv4.
	NextHeaderAt int
	// Data is the fragment's share of the fragmentable part.
	Data []byte
	// Raw is the whole fragment, without link padding: Raw[:len(Raw)-len(Data)]
	// is its headers, the IPv6 fragment header included.
	Raw []byte
}

// ParseFragment parses b, which holds one IP packet that ParseIP rejected
// with ErrFragment, and perhaps link padding. It checks what ParseIP checks
// of the headers before the fragment's data; a packet that is not a
// fragment gives ErrNotFragment.
func ParseFragment(b []byte) (Fragment, error) {
	if len(b) == 0 {
		return Fragment{}, ErrTruncated
	}
	switch b[0] >> 4 {
	case 4:
		return parseFragment4(b)
	case 6:
		return parseFragment6(b)
	}
	return Fragment{}, ErrBadVersion
}

func parseFragment4(b []byte) (Fragment, error) {
	headerLen, total, err := checkIPv4(b)
	if err != nil {
		return Fragment{}, err
	}
	flags := binary.BigEndian.Uint16(b[6:8])
	if flags&(ipv4MoreFragments|ipv4OffsetMask) == 0 {
		return Fragment{}, ErrNotFragment
	}
	b = b[:total:total]
	return Fragment{
		Version:  4,
		Src:      netip.AddrFrom4([4]byte(b[12:16])),
		Dst:      netip.AddrFrom4([4]byte(b[16:20])),
		Protocol: b[9],
		ID:       uint32(binary.BigEndian.Uint16(b[4:6])),
		Offset:   int(flags&ipv4OffsetMask) * 8,
		More:     flags&ipv4MoreFragments != 0,
		Header:   b[:headerLen],
		Data:     b[headerLen:],
		Raw:      b,
	}, nil
}

func parseFragment6(b []byte) (Fragment, error) {
	if len(b) < IPv6HeaderLen {
		return Fragment{}, ErrTruncated
	}
	total := IPv6HeaderLen + int(binary.BigEndian.Uint16(b[4:6]))
	if total > len(b) {
		return Fragment{}, ErrBadLength
	}
	b = b[:total:total]
	header, at, nextAt, err := walkIPv6Extensions(b, b[6])
	if err != nil {
		return Fragment{}, err
	}
	if header != ipv6Fragment {
		return Fragment{}, ErrNotFragment
	}
	if at+ipv6FragmentHeaderLen > len(b) {
		return Fragment{}, ErrTruncated
	}
	h := b[at : at+ipv6FragmentHeaderLen]
	offsetFlags := binary.BigEndian.Uint16(h[2:4])
	return Fragment{
		Version:      6,
		Src:          netip.AddrFrom16([16]byte(b[8:24])),
		Dst:          netip.AddrFrom16([16]byte(b[24:40])),
		Protocol:     h[0],
		ID:           binary.BigEndian.Uint32(h[4:8]),
		Offset:       int(offsetFlags &^ 7), // 13 bits of 8-byte units, then 2 reserved bits and M
		More:         offsetFlags&1 != 0,
		Header:       b[:at],
		NextHeaderAt: nextAt,
		Data:         b[at+ipv6FragmentHeaderLen:],
		Raw:          b,
	}, nil
}

// HeaderChainComplete reports whether f, a first fragment (Offset 0), holds
// the whole IPv6 header chain: every extension header after the fragment
// header and the upper-layer header (RFC 7112 §5). Of the upper-layer
// header it wants TCP's fixed header and options (RFC 9293 §3.1), and the 8
// bytes of a UDP or ICMPv6 header; of any other protocol, nothing. For
// IPv4 it reports true: RFC 1858's rule for TCP is the caller's.
func (f *Fragment) HeaderChainComplete() bool {
	if f.Version != 6 {
		return true
	}
	b, next := f.Data, f.Protocol
	for {
		switch next {
		case ipv6HopByHop, ipv6Routing, ipv6DestOptions:
			if len(b) < 8 || len(b) < (int(b[1])+1)*8 {
				return false
			}
			next, b = b[0], b[(int(b[1])+1)*8:]
		case ipv6Fragment:
			if len(b) < ipv6FragmentHeaderLen {
				return false
			}
			next, b = b[0], b[ipv6FragmentHeaderLen:]
		case ProtoTCP:
			return len(b) >= TCPHeaderLen && len(b) >= int(b[12]>>4)*4
		case ProtoUDP, ProtoICMPv6:
			return len(b) >= 8
		default:
			return true
		}
	}
}

// Reassembled writes into buf the datagram whose first fragment is first
// and whose fragmentable part is data, as RFC 791 §3.2 and RFC 8200 §4.5
// rebuild it: the first fragment's headers with the fragment fields gone
// (IPv4: offset and MF cleared, length and checksum recomputed; IPv6: the
// fragment header removed, its Next Header put in its place, the payload
// length recomputed). It returns the datagram's length; ErrPacketTooLong
// if the length field cannot say it, ErrBufferTooSmall if buf cannot hold
// it. data may already be in place in buf, right after first.Header.
func Reassembled(buf []byte, first *Fragment, data []byte) (int, error) {
	h := len(first.Header)
	total := h + len(data)
	switch {
	case first.Version == 4 && total > 0xffff,
		first.Version == 6 && total-IPv6HeaderLen > 0xffff:
		return 0, ErrPacketTooLong
	case total > len(buf):
		return 0, ErrBufferTooSmall
	}
	copy(buf[h:], data) // first: data may overlap first.Header's place in buf
	copy(buf, first.Header)
	if first.Version == 4 {
		binary.BigEndian.PutUint16(buf[2:4], uint16(total))
		flags := binary.BigEndian.Uint16(buf[6:8])
		binary.BigEndian.PutUint16(buf[6:8], flags&ipv4DontFragment)
		refreshChecksum4(buf[:h])
		return total, nil
	}
	buf[first.NextHeaderAt] = first.Protocol
	binary.BigEndian.PutUint16(buf[4:6], uint16(total-IPv6HeaderLen))
	return total, nil
}

// BuildFragment writes into buf the fragment of the whole IP packet pkt
// that carries bytes [from, to) of its fragmentable part, with
// identification id and the M flag more, and returns its length. from must
// be a multiple of 8. For IPv4 the fragmentable part is everything after
// the header, whose options every fragment copies, and DF is cleared. For
// IPv6 it is everything after the extension headers that ParseIP skips,
// which stay in front of the fragment header (RFC 8200 §4.5).
//
// The stack fragments nothing it sends; tests use BuildFragment to play a
// peer that does.
func BuildFragment(buf, pkt []byte, id uint32, from, to int, more bool) (int, error) {
	var headerLen, nextAt, total int
	switch {
	case len(pkt) > 0 && pkt[0]>>4 == 4:
		var err error
		if headerLen, total, err = checkIPv4(pkt); err != nil {
			return 0, err
		}
	case len(pkt) >= IPv6HeaderLen && pkt[0]>>4 == 6:
		total = IPv6HeaderLen + int(binary.BigEndian.Uint16(pkt[4:6]))
		if total > len(pkt) {
			return 0, ErrBadLength
		}
		var err error
		if _, headerLen, nextAt, err = walkIPv6Extensions(pkt[:total], pkt[6]); err != nil {
			return 0, err
		}
	default:
		return 0, ErrBadVersion
	}
	payload := pkt[headerLen:total]
	if from < 0 || from%8 != 0 || to < from || to > len(payload) || from/8 > ipv4OffsetMask {
		return 0, ErrBadLength
	}
	data := payload[from:to]
	fragHeader := 0
	if pkt[0]>>4 == 6 {
		fragHeader = ipv6FragmentHeaderLen
	}
	n := headerLen + fragHeader + len(data)
	if n > len(buf) {
		return 0, ErrBufferTooSmall
	}
	copy(buf, pkt[:headerLen])
	copy(buf[headerLen+fragHeader:], data)
	offsetField := uint16(from / 8)
	if pkt[0]>>4 == 4 {
		if more {
			offsetField |= ipv4MoreFragments
		}
		binary.BigEndian.PutUint16(buf[2:4], uint16(n))
		binary.BigEndian.PutUint16(buf[4:6], uint16(id))
		binary.BigEndian.PutUint16(buf[6:8], offsetField)
		refreshChecksum4(buf[:headerLen])
		return n, nil
	}
	f := buf[headerLen : headerLen+fragHeader]
	f[0], f[1] = pkt[nextAt], 0
	offsetField <<= 3
	if more {
		offsetField |= 1
	}
	binary.BigEndian.PutUint16(f[2:4], offsetField)
	binary.BigEndian.PutUint32(f[4:8], id)
	buf[nextAt] = ipv6Fragment
	binary.BigEndian.PutUint16(buf[4:6], uint16(n-IPv6HeaderLen))
	return n, nil
}

// refreshChecksum4 recomputes the checksum of the IPv4 header h.
func refreshChecksum4(h []byte) {
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:12], Checksum(h, 0))
}
