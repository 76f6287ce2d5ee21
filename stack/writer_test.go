package stack

import (
	"io"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

func TestHandOffPolicy(t *testing.T) {
	tests := []struct {
		name      string
		writer    bool
		inFlight  int32
		burstRead bool
		packets   int
		want      bool
	}{
		{"no writer (loop not running)", false, 0, true, 5, false},
		{"lone answer to a lone packet", true, 0, false, 1, false},
		{"answer to a burst read", true, 0, true, 1, true},
		{"a burst of output", true, 0, false, 2, true},
		{"behind batches still being written", true, 1, false, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Stack{out: &outBatch{n: tt.packets}, burstRead: tt.burstRead}
			if tt.writer {
				s.writer = &linkWriter{}
				s.writer.inFlight.Store(tt.inFlight)
			}
			if got := s.handOff(); got != tt.want {
				t.Errorf("handOff() = %v, want %v", got, tt.want)
			}
		})
	}
}

// While the link is slow to take a write, the loop goes on reading and
// delivering data, and the answers then leave in the order they were made.
func TestSlowLinkWriteHoldsUpNeitherReadsNorOrder(t *testing.T) {
	_, peer, c := establishBatched(t)
	peer.link.holdWrites()
	t.Cleanup(peer.link.releaseWrites) // also when the test fails early
	c.SetReadDeadline(time.Now().Add(testTimeout))

	const bursts = 5
	payload := make([]byte, 500)
	var acks []tcp.Seq
	for range bursts {
		peer.link.deliver(false, peer.segment(tcp.FlagACK, payload), peer.segment(tcp.FlagACK, payload))
		acks = append(acks, peer.seq)
	}
	// The first answer is stuck in the link; the data still arrives.
	<-peer.link.writeHeld
	if _, err := io.ReadFull(c, make([]byte, bursts*2*len(payload))); err != nil {
		t.Fatalf("reading while the link is stuck: %v", err)
	}
	peer.link.releaseWrites()
	var last tcp.Seq
	for len(acks) > 0 {
		seg := peer.expect()
		if seg.Ack.LessThan(last) {
			t.Fatalf("ACK %d after ACK %d: out of order", seg.Ack, last)
		}
		last = seg.Ack
		for len(acks) > 0 && !last.LessThan(acks[0]) {
			acks = acks[1:]
		}
	}
}
