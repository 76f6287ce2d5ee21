package wire

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Sum adds b to the running ones'-complement sum initial (RFC 1071) and
// returns the folded 16-bit sum, not complemented. b is read as big-endian
// 16-bit words with an odd last byte padded by a zero byte, so a message may
// be summed in pieces only if every piece but the last has even length.
//
// A received message whose checksum field is included verifies when its Sum
// (seeded with the pseudo-header sum where there is one) is 0xffff.
func Sum(b []byte, initial uint16) uint16 {
	return fold(sum64(b, uint64(initial)))
}

// Checksum is the Internet checksum of b seeded with initial: the complement
// of Sum. Write it into a checksum field that was zero while summing.
func Checksum(b []byte, initial uint16) uint16 {
	return ^Sum(b, initial)
}

// PseudoHeaderSum is the sum of the pseudo-header that the TCP, UDP and
// ICMPv6 checksums cover: for IPv4 the source, destination, protocol and
// length of RFC 9293 §3.1; for IPv6 the source, destination, upper-layer
// length and next header of RFC 8200 §8.1. length is the upper-layer
// header plus data. src and dst must be of the same family.
func PseudoHeaderSum(protocol uint8, src, dst netip.Addr, length int) uint16 {
	acc := uint64(protocol) + uint64(uint32(length))
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		acc += uint64(binary.BigEndian.Uint32(s[:])) + uint64(binary.BigEndian.Uint32(d[:]))
		return fold(acc)
	}
	s, d := src.As16(), dst.As16()
	return fold(sum64(d[:], sum64(s[:], acc)))
}

// addSums adds two folded ones'-complement sums.
func addSums(a, b uint16) uint16 {
	s := uint32(a) + uint32(b)
	return uint16(s + s>>16)
}

// sum64 adds b to acc in ones'-complement arithmetic on 64-bit words. That
// is the 16-bit ones'-complement sum in disguise: 2^16 ≡ 1 modulo 0xffff, so
// 2^64 ≡ 1 too and the end-around carry of the wide sum folds to the same
// 16-bit value (RFC 1071 §2(B), "parallel summation").
func sum64(b []byte, acc uint64) uint64 {
	var carry uint64
	for len(b) >= 32 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[0:8]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[8:16]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[16:24]), carry)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b[24:32]), carry)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b), carry)
		b = b[8:]
	}
	// The tail words keep their place within a 64-bit word: their offset
	// is irrelevant modulo 0xffff as long as each 16-bit word stays aligned.
	if len(b) >= 4 {
		acc, carry = bits.Add64(acc, uint64(binary.BigEndian.Uint32(b)), carry)
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, carry = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), carry)
		b = b[2:]
	}
	if len(b) == 1 {
		acc, carry = bits.Add64(acc, uint64(b[0])<<8, carry)
	}
	acc, carry = bits.Add64(acc, carry, 0)
	return acc + carry // cannot carry again: acc is 0 if it just did
}

// fold reduces a 64-bit ones'-complement sum to 16 bits with end-around
// carries.
func fold(s uint64) uint16 {
	s = s>>32 + s&0xffffffff
	s = s>>32 + s&0xffffffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return uint16(s)
}
