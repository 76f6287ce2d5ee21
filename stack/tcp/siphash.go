package tcp

import (
	"encoding/binary"
	"math/bits"
)

// sipHash24 is SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
// short-input PRF", 2012) of msg under the 128-bit key k0 || k1 (k0 read
// little-endian from the key's first eight bytes): two rounds per
// 8-byte word of the message, four to finish.
//
// It is a PRF built for inputs as short as the ones the engine keys: a
// 4-tuple, a sequence number and a counter, under 64 bytes. Linux keys its
// SYN cookies (and, as RFC 6528 allows any keyed PRF, its ISNs) with it
// for that reason. A SHA-256 over the key and the input, which the engine
// used before, costs two compression blocks; this costs a fifth of that.
func sipHash24(k0, k1 uint64, msg []byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575 // "somepseudorandomlygeneratedbytes"
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573

	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}

	// The last word holds the message's length mod 256 in its top byte
	// and the bytes that do not fill a word below it.
	last := uint64(len(msg)) << 56
	for ; len(msg) >= 8; msg = msg[8:] {
		m := binary.LittleEndian.Uint64(msg)
		v3 ^= m
		round()
		round()
		v0 ^= m
	}
	for i, b := range msg {
		last |= uint64(b) << (8 * i)
	}
	v3 ^= last
	round()
	round()
	v0 ^= last

	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}

// sipKey splits a 16-byte key into SipHash's two words.
func sipKey(key []byte) (k0, k1 uint64) {
	return binary.LittleEndian.Uint64(key[:8]), binary.LittleEndian.Uint64(key[8:16])
}
