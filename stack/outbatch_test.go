package stack

import "testing"

// Small packets take small buffers, segments with data take whole 64 KiB
// ones (wireguard-go's GRO coalesces into them), and both are reused.
func TestOutBatchBufferSizes(t *testing.T) {
	o := &outBatch{size: Headroom + maxPacket}
	tests := []struct {
		need    int
		wantCap int // exact for a small buffer, at least for a large one
	}{
		{need: 60, wantCap: Headroom + smallPacket},            // a pure ACK
		{need: smallPacket, wantCap: Headroom + smallPacket},   // the largest small one
		{need: 120 + 1460, wantCap: Headroom + maxPacket},      // a full segment
		{need: 2 * maxPacket, wantCap: Headroom + 2*maxPacket}, // larger than any buffer
	}
	for round := 0; round < 2; round++ {
		for _, tt := range tests {
			b := o.next(tt.need)
			small := tt.wantCap == Headroom+smallPacket
			if small && cap(b) != tt.wantCap || !small && cap(b) < tt.wantCap || len(b) != cap(b) {
				t.Fatalf("round %d: next(%d) gave len %d cap %d, want cap %d", round, tt.need, len(b), cap(b), tt.wantCap)
			}
			o.commit(tt.need)
		}
		if len(o.packets()) != len(tests) {
			t.Fatalf("%d packets, want %d", len(o.packets()), len(tests))
		}
		o.reset()
	}
	if len(o.small) != 2 || len(o.large) != 2 {
		t.Errorf("spares: %d small, %d large; want 2 and 2 (reused, not made again)", len(o.small), len(o.large))
	}
	// A buffer taken and not committed goes back.
	o.next(60)
	o.next(1500)
	o.commit(1500)
	if o.n != 1 || cap(o.packets()[0]) < Headroom+maxPacket || len(o.small) != 2 {
		t.Errorf("after an uncommitted next: %d packets, %d small spares", o.n, len(o.small))
	}
}
