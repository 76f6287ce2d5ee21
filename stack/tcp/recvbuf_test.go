package tcp

import (
	"math/rand"
	"testing"
)

func TestRecvBufferReassembly(t *testing.T) {
	const text = "abcdefghijklmnopqrstuvwxyz"
	tests := []struct {
		name   string
		pieces [][2]int // [start, end) offsets into text, all after offset 0
	}{
		{"in reverse", [][2]int{{20, 26}, {10, 20}, {1, 10}}},
		{"overlapping", [][2]int{{5, 15}, {10, 20}, {1, 8}, {18, 26}}},
		{"spanning gaps", [][2]int{{5, 7}, {10, 12}, {15, 17}, {1, 26}}},
		{"duplicates", [][2]int{{3, 9}, {3, 9}, {1, 26}, {4, 5}}},
		{"inside existing", [][2]int{{1, 26}, {4, 6}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := recvBuffer{byteQueue: byteQueue{limit: 100}}
			for _, p := range tt.pieces {
				b.queue(nil, Seq(p[0]), []byte(text[p[0]:p[1]]), p[1] == len(text))
				checkNoOverlap(t, &b)
			}
			b.write(nil, 0, GrantStore, []byte(text[:1]))
			nxt, fin := b.pull(nil, 0, 1)
			if nxt != Seq(len(text)) || !fin {
				t.Fatalf("pull = %d, %v; want %d, true", nxt, fin, len(text))
			}
			got := make([]byte, 100)
			n := b.read(got)
			if string(got[:n]) != text {
				t.Fatalf("reassembled %q", got[:n])
			}
			if b.queuedBytes() != 0 {
				t.Fatalf("%d bytes left queued", b.queuedBytes())
			}
		})
	}
}

func TestRecvBufferRandomOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	data := make([]byte, 5000)
	rng.Read(data)
	for round := 0; round < 50; round++ {
		b := recvBuffer{byteQueue: byteQueue{limit: 10000}}
		var nxt Seq = 0xfffff000 // across the wrap
		base := nxt
		for nxt != base.Add(uint32(len(data))) {
			start := rng.Intn(len(data))
			end := min(start+1+rng.Intn(700), len(data))
			seq := base.Add(uint32(start))
			if seq.LessThanEq(nxt) && seq.Add(uint32(end-start)).GreaterThan(nxt) {
				b.write(nil, 0, GrantStore, data[base.Size(nxt):end])
				nxt = base.Add(uint32(end))
				nxt, _ = b.pull(nil, 0, nxt)
			} else if seq.GreaterThan(nxt) {
				b.queue(nil, seq, data[start:end], false)
				checkNoOverlap(t, &b)
			}
		}
		got := make([]byte, len(data))
		if n := b.read(got); n != len(data) || string(got) != string(data) {
			t.Fatalf("round %d: reassembled %d bytes, mismatch", round, n)
		}
	}
}

func checkNoOverlap(t *testing.T, b *recvBuffer) {
	t.Helper()
	for i := 1; i < len(b.ooo); i++ {
		if prevEnd := b.ooo[i-1].end(); prevEnd.GreaterThanEq(b.ooo[i].seq) {
			t.Fatalf("blocks overlap or touch: %d+%d and %d", b.ooo[i-1].seq, len(b.ooo[i-1].data), b.ooo[i].seq)
		}
	}
}

func TestReceiveWindowNeverNegative(t *testing.T) {
	// Data taken over the limit (a scaled window rounded up) must close
	// the window, not wrap it around to 4 GiB.
	h := established(t)
	h.c.rcv.buf.limit = 10
	h.c.rcv.buf.write(nil, 0, GrantStore, []byte("fifteen bytes!!"))
	if w := h.c.rcvWindow(); w != 0 {
		t.Fatalf("window %d with the buffer over its limit", w)
	}
}

// queuedBytes is how much out-of-order data is held.
func (b *recvBuffer) queuedBytes() int { return b.oooBytes() }

// queue reports the first run of a segment that was queued already: the
// D-SACK block of RFC 2883 §4 for a duplicate above RCV.NXT.
func TestRecvBufferQueueReportsDuplicate(t *testing.T) {
	tests := []struct {
		name     string
		queued   [][2]Seq // [start, end) already queued
		seg      [2]Seq
		want     SACKBlock
		wantDup  bool
		wantSize int // octets queued afterwards
	}{
		{"new data", [][2]Seq{{10, 20}}, [2]Seq{30, 40}, SACKBlock{}, false, 20},
		{"exact duplicate", [][2]Seq{{10, 20}}, [2]Seq{10, 20}, SACKBlock{10, 20}, true, 10},
		{"overlaps the end", [][2]Seq{{10, 20}}, [2]Seq{15, 25}, SACKBlock{15, 20}, true, 15},
		{"covers two, first reported", [][2]Seq{{10, 20}, {30, 40}}, [2]Seq{5, 45}, SACKBlock{10, 20}, true, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := recvBuffer{byteQueue: byteQueue{limit: 100}}
			for _, q := range tt.queued {
				b.queue(nil, q[0], make([]byte, q[0].Size(q[1])), false)
			}
			got, dup, _ := b.queue(nil, tt.seg[0], make([]byte, tt.seg[0].Size(tt.seg[1])), false)
			if got != tt.want || dup != tt.wantDup {
				t.Errorf("queue = %v, %v; want %v, %v", got, dup, tt.want, tt.wantDup)
			}
			if n := b.queuedBytes(); n != tt.wantSize {
				t.Errorf("%d octets queued, want %d", n, tt.wantSize)
			}
		})
	}
}
