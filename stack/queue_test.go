package stack

import (
	"bytes"
	"math/rand"
	"testing"
)

func TestByteQueueWrapsAround(t *testing.T) {
	q := newByteQueue(8)
	if n := q.Write([]byte("abcdef")); n != 6 {
		t.Fatalf("Write took %d, want 6", n)
	}
	got := make([]byte, 4)
	if n := q.Read(got); n != 4 || string(got) != "abcd" {
		t.Fatalf("Read = %d %q, want 4 abcd", n, got)
	}
	// 2 queued, 6 free, and the next write wraps past the end of storage.
	if n := q.Write([]byte("ghijklmn")); n != 6 {
		t.Fatalf("Write took %d, want 6", n)
	}
	if q.Free() != 0 || q.Len() != 8 {
		t.Fatalf("Len %d Free %d, want 8 0", q.Len(), q.Free())
	}
	peek := make([]byte, 3)
	if n := q.Peek(peek); n != 3 || string(peek) != "efg" {
		t.Fatalf("Peek = %d %q, want 3 efg", n, peek)
	}
	all := make([]byte, 16)
	n := q.Read(all)
	if !bytes.Equal(all[:n], []byte("efghijkl")) {
		t.Fatalf("Read = %q, want efghijkl", all[:n])
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d after draining", q.Len())
	}
}

func TestByteQueueEmptyOperations(t *testing.T) {
	q := newByteQueue(4)
	if q.Read(make([]byte, 4)) != 0 || q.Peek(make([]byte, 4)) != 0 {
		t.Fatal("empty queue returned bytes")
	}
	q.Write([]byte("xy"))
	q.Reset()
	if q.Len() != 0 || q.Free() != 4 {
		t.Fatalf("after Reset Len %d Free %d", q.Len(), q.Free())
	}
}

func TestByteQueueGrowsAcrossTheWrap(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	q := newByteQueue(64 << 10)
	var ref []byte
	next := byte(0)
	for i := 0; i < 5000; i++ {
		if rng.Intn(2) == 0 {
			p := make([]byte, rng.Intn(5000))
			for j := range p {
				p[j] = next
				next++
			}
			n := q.Write(p)
			ref = append(ref, p[:n]...)
		} else {
			p := make([]byte, rng.Intn(5000))
			n := q.Read(p)
			if !bytes.Equal(p[:n], ref[:n]) {
				t.Fatalf("step %d: read differs from what was written", i)
			}
			ref = ref[n:]
		}
		if q.Len() != len(ref) || len(q.buf) > q.limit {
			t.Fatalf("step %d: Len %d, reference %d, storage %d", i, q.Len(), len(ref), len(q.buf))
		}
	}
}

func TestByteQueueStartsSmall(t *testing.T) {
	q := newByteQueue(64 << 10)
	q.Write([]byte("x"))
	if len(q.buf) > minQueueStorage {
		t.Fatalf("one byte queued takes %d bytes of storage", len(q.buf))
	}
}
