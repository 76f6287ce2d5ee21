package ladder

import (
	"testing"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// TestPeerInference plays the peer's side of each close and checks the
// state inferred after every segment. "<" is a segment the peer sent, ">"
// one the stack sent it. The stack's ISN is 5000, the peer's 1000.
func TestPeerInference(t *testing.T) {
	type step struct {
		dir   byte // '<' from the peer, '>' to it
		flags tcp.Flags
		seq   tcp.Seq
		ack   tcp.Seq
		want  tcp.State
	}
	const (
		syn = tcp.FlagSYN
		ack = tcp.FlagACK
		fin = tcp.FlagFIN | tcp.FlagACK
		rst = tcp.FlagRST
	)
	open := []step{
		{'<', syn, 1000, 0, tcp.SynSent},
		{'>', syn | ack, 5000, 1001, tcp.SynSent},
		{'<', ack, 1001, 5001, tcp.Established},
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"peer closes first", append(open[:3:3],
			step{'<', fin, 1001, 5001, tcp.FinWait1},
			step{'>', ack, 5001, 1002, tcp.FinWait2},
			step{'>', fin, 5001, 1002, tcp.FinWait2},
			step{'<', ack, 1002, 5002, tcp.TimeWait},
		)},
		{"peer closes first, our FIN acknowledges its", append(open[:3:3],
			step{'<', fin, 1001, 5001, tcp.FinWait1},
			step{'>', fin, 5001, 1002, tcp.FinWait2},
			step{'<', ack, 1002, 5002, tcp.TimeWait},
		)},
		{"stack closes first", append(open[:3:3],
			step{'>', fin, 5001, 1001, tcp.Established},
			step{'<', ack, 1001, 5002, tcp.CloseWait},
			step{'<', fin, 1001, 5002, tcp.LastAck},
			step{'>', ack, 5002, 1002, tcp.Closed},
		)},
		{"stack closes first, peer's FIN acknowledges ours", append(open[:3:3],
			step{'>', fin, 5001, 1001, tcp.Established},
			step{'<', fin, 1001, 5002, tcp.LastAck},
		)},
		{"simultaneous close", append(open[:3:3],
			step{'>', fin, 5001, 1001, tcp.Established},
			step{'<', fin, 1001, 5001, tcp.FinWait1},
			step{'<', ack, 1002, 5002, tcp.Closing},
			step{'>', ack, 5002, 1002, tcp.TimeWait},
		)},
		{"stack opens", []step{
			{'>', syn, 5000, 0, tcp.Listen},
			{'<', syn | ack, 1000, 5001, tcp.SynReceived},
			{'>', ack, 5001, 1001, tcp.Established},
		}},
		{"RST is left to the stack's verdict", append(open[:3:3],
			step{'<', rst, 1001, 0, tcp.Established},
		)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m peerModel
			if tc.steps[0].dir == '>' {
				m.set(tcp.Listen)
			} else {
				m.set(tcp.Closed)
			}
			for i, s := range tc.steps {
				seg := stack.SegmentSummary{Flags: s.flags, Seq: s.seq, Ack: s.ack}
				if s.dir == '<' {
					m.sent(seg)
				} else {
					m.received(seg)
				}
				if m.state != s.want {
					t.Fatalf("after step %d (%c %v seq=%d ack=%d): peer %v, want %v", i, s.dir, s.flags, s.seq, s.ack, m.state, s.want)
				}
			}
		})
	}
}

// TestPeerUnknownMidConnection: events that start in the middle of a
// connection say nothing of the peer until it sends.
func TestPeerUnknownMidConnection(t *testing.T) {
	var m peerModel
	m.received(stack.SegmentSummary{Flags: tcp.FlagACK, Seq: 10, Ack: 20})
	if m.known {
		t.Fatalf("peer state %v known from a segment sent to it", m.state)
	}
	m.sent(stack.SegmentSummary{Flags: tcp.FlagACK, Seq: 20, Ack: 10})
	if !m.known || m.state != tcp.Established {
		t.Fatalf("peer %v (known %v) after an ACK, want ESTABLISHED", m.state, m.known)
	}
}
