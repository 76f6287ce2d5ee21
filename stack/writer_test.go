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
		{"a SYN cookie's answer", true, 0, false, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Stack{out: &outBatch{n: tt.packets}, burstRead: tt.burstRead}
			if tt.name == "a SYN cookie's answer" {
				s.out.flood = 1
			}
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

func TestHoldFloodAnswers(t *testing.T) {
	now := time.Unix(1000, 0)
	tests := []struct {
		name    string
		writer  bool
		packets int
		flood   int
		held    time.Duration // since the batch was first held; -1: not yet
		want    bool
	}{
		{"no writer", false, 1, 1, -1, false},
		{"nothing to send", true, 0, 0, -1, false},
		{"a cookie answer", true, 1, 1, -1, true},
		{"cookie answers, held a while", true, 5, 5, floodHoldTime / 2, true},
		{"held long enough", true, 5, 5, floodHoldTime, false},
		{"batch full", true, floodHoldPackets, floodHoldPackets, 0, false},
		{"another segment with them", true, 3, 2, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Stack{now: now, out: &outBatch{n: tt.packets, flood: tt.flood}}
			if tt.writer {
				s.writer = &linkWriter{}
			}
			if tt.held >= 0 {
				s.out.heldSince = now.Add(-tt.held)
			}
			if got := s.holdFloodAnswers(); got != tt.want {
				t.Fatalf("holdFloodAnswers() = %v, want %v", got, tt.want)
			}
			if tt.want && !s.heldUntil().Equal(s.out.heldSince.Add(floodHoldTime)) {
				t.Fatalf("heldUntil() = %v, want %v after the hold began", s.heldUntil(), floodHoldTime)
			}
		})
	}
}
