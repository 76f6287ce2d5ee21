package tcp

import (
	"encoding/binary"
	"testing"
)

// TestSipHash24Vectors checks sipHash24 against the paper's test vectors:
// key 00 01 .. 0f, message 00 01 .. (n-1) for n bytes; the paper's
// appendix works the 15-byte message through, and its reference code
// lists the outputs for every n from 0 to 63, as little-endian bytes.
func TestSipHash24Vectors(t *testing.T) {
	var key [16]byte
	for i := range key {
		key[i] = byte(i)
	}
	k0, k1 := sipKey(key[:])
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	for _, tc := range []struct {
		n    int
		want [8]byte
	}{
		{0, [8]byte{0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72}},
		{1, [8]byte{0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74}},
		{2, [8]byte{0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d}},
		{3, [8]byte{0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85}},
		{15, [8]byte{0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1}}, // the appendix: 0xa129ca6149be45e5
	} {
		if got := sipHash24(k0, k1, msg[:tc.n]); got != binary.LittleEndian.Uint64(tc.want[:]) {
			t.Errorf("SipHash-2-4 of %d bytes = %#016x, want %#016x", tc.n, got, binary.LittleEndian.Uint64(tc.want[:]))
		}
	}
}

// Every bit of the key and of the message changes the output.
func TestSipHash24KeyAndMessageMatter(t *testing.T) {
	msg := []byte("tunstack 4-tuple and sequence number, 46 bytes.")
	base := sipHash24(1, 2, msg)
	if sipHash24(1, 3, msg) == base || sipHash24(3, 2, msg) == base {
		t.Error("a different key gave the same output")
	}
	for i := range msg {
		for bit := range 8 {
			m := append([]byte(nil), msg...)
			m[i] ^= 1 << bit
			if sipHash24(1, 2, m) == base {
				t.Fatalf("flipping bit %d of byte %d gave the same output", bit, i)
			}
		}
	}
	if sipHash24(1, 2, msg[:len(msg)-1]) == base {
		t.Error("a shorter message gave the same output")
	}
}

func BenchmarkSipHash24(b *testing.B) {
	msg := make([]byte, 46) // a cookie's input
	for range b.N {
		msg[0] = byte(sipHash24(1, 2, msg))
	}
}
