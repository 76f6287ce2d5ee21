package tcp

import (
	"bytes"
	"math/rand"
	"testing"
)

func TestByteQueueAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	q := byteQueue{limit: 10000}
	var ref []byte
	next := byte(0)
	for i := 0; i < 20000; i++ {
		if rng.Intn(2) == 0 {
			p := make([]byte, rng.Intn(3000))
			for j := range p {
				p[j] = next
				next++
			}
			n := q.push(nil, 0, GrantPromise, p)
			if want := min(len(p), 10000-len(ref)); n != want {
				t.Fatalf("push took %d, want %d", n, want)
			}
			ref = append(ref, p[:n]...)
		} else if len(ref) > 0 {
			n := rng.Intn(len(ref) + 1)
			q.pop(n)
			ref = ref[n:]
		}
		if !bytes.Equal(q.bytes(0), ref) {
			t.Fatalf("step %d: queue holds %d bytes, reference %d, or they differ", i, q.len(), len(ref))
		}
		if cap(q.buf) > classSize(2*q.limit) {
			t.Fatalf("capacity %d over twice the limit, rounded to a size class", cap(q.buf))
		}
	}
}

func TestByteQueueStartsSmall(t *testing.T) {
	q := byteQueue{limit: 256 << 10}
	q.push(nil, 0, GrantPromise, []byte("x"))
	if cap(q.buf) > 4096 {
		t.Fatalf("one byte queued holds %d bytes of memory", cap(q.buf))
	}
}
