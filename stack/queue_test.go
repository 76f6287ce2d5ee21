package stack

import (
	"bytes"
	"math/rand"
	"testing"
)

func TestByteQueueWrapsAround(t *testing.T) {
	q := newByteQueue(8)
	if n := q.Write(nil, []byte("abcdef")); n != 6 {
		t.Fatalf("Write took %d, want 6", n)
	}
	got := make([]byte, 4)
	if n := q.Read(got); n != 4 || string(got) != "abcd" {
		t.Fatalf("Read = %d %q, want 4 abcd", n, got)
	}
	// 2 queued, 6 free, and the next write wraps past the end of storage.
	if n := q.Write(nil, []byte("ghijklmn")); n != 6 {
		t.Fatalf("Write took %d, want 6", n)
	}
	if q.Free(nil) != 0 || q.Len() != 8 {
		t.Fatalf("Len %d Free %d, want 8 0", q.Len(), q.Free(nil))
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
	q.Write(nil, []byte("xy"))
	q.Reset()
	if q.Len() != 0 || q.Free(nil) != 4 {
		t.Fatalf("after Reset Len %d Free %d", q.Len(), q.Free(nil))
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
			n := q.Write(nil, p)
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
	q.Write(nil, []byte("x"))
	if len(q.buf) > minQueueStorage {
		t.Fatalf("one byte queued takes %d bytes of storage", len(q.buf))
	}
}

func TestByteQueueWriteSpace(t *testing.T) {
	// Storage doubles from 512 bytes, so after 7000 or 8192 bytes it is
	// 8192 long.
	tests := []struct {
		name      string
		written   int // bytes written, then
		read      int // bytes read, then
		again     int // bytes written again, before WriteSpace
		want      int // asked of WriteSpace
		wantSpace int
	}{
		{"empty queue grows to what is asked", 0, 0, 0, 3000, 3000},
		{"room after the queued bytes", 100, 0, 0, 200, 200},
		{"capped by the limit", 60000, 0, 0, 10000, 64<<10 - 60000},
		{"room wraps, few bytes queued: they move to the front", 8192, 8000, 0, 4000, 4000},
		{"room wraps, many bytes queued: the piece up to the end", 7000, 1000, 0, 2000, 8192 - 7000},
		{"queued bytes wrap: the room before the head", 8192, 4096, 3000, 1000, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newByteQueue(64 << 10)
			ref := sequence(0, tt.written+tt.again)
			q.Write(nil, ref[:tt.written])
			q.Read(make([]byte, tt.read))
			q.Write(nil, ref[tt.written:])
			ref = ref[tt.read:]
			space := q.WriteSpace(nil, tt.want)
			if len(space) != tt.wantSpace {
				t.Fatalf("WriteSpace(%d) gave %d bytes, want %d", tt.want, len(space), tt.wantSpace)
			}
			more := sequence(byte(len(ref)), len(space))
			copy(space, more)
			q.Commit(len(space))
			ref = append(ref, more...)
			got := make([]byte, q.Len()+1)
			if n := q.Read(got); n != len(ref) || !bytes.Equal(got[:n], ref) {
				t.Errorf("queue holds %d bytes that differ from the %d written", n, len(ref))
			}
		})
	}
}

// sequence returns n bytes counting up from first.
func sequence(first byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = first + byte(i)
	}
	return b
}
