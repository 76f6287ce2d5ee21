package ladder

import (
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// peerModel infers the peer's state from the segments it sent and from
// those the stack sent it, assuming they arrived and that the peer follows
// RFC 9293's state diagram. It tracks only what it needs for that: where
// each side's SYN and FIN end, and whether the other side acknowledged
// them.
type peerModel struct {
	state tcp.State
	known bool // false until the first segment says something

	ourSYNEnd, ourFINEnd   tcp.Seq // just past our SYN and FIN
	ourSYNSent, ourFINSent bool
	ourFINAcked            bool // the peer acknowledged our FIN
	peerFINEnd             tcp.Seq
	peerFINSent            bool
	peerFINAcked           bool // we acknowledged the peer's FIN
}

func (m *peerModel) set(st tcp.State) { m.state, m.known = st, true }

// sent updates the model with a segment the peer sent, acceptable or not:
// even a dropped segment says what the peer was doing. A RST is left to
// resetBy: one the stack does not accept may not be the peer's at all
// (RFC 5961's blind reset).
func (m *peerModel) sent(seg stack.SegmentSummary) {
	f := seg.Flags
	switch {
	case f.Has(tcp.FlagRST):
		return
	case f.Has(tcp.FlagSYN | tcp.FlagACK):
		m.set(tcp.SynReceived)
		return
	case f.Has(tcp.FlagSYN):
		m.set(tcp.SynSent)
		return
	}
	if f.Has(tcp.FlagACK) {
		m.sentACK(seg.Ack)
	}
	if f.Has(tcp.FlagFIN) {
		m.peerFINSent = true
		m.peerFINEnd = seg.Seq.Add(uint32(seg.Len) + 1)
		switch m.state {
		case tcp.CloseWait:
			m.set(tcp.LastAck)
		case tcp.Established, tcp.SynReceived:
			m.set(tcp.FinWait1)
		default:
			if !m.known {
				m.set(tcp.FinWait1)
			}
		}
	}
}

// sentACK is the peer acknowledging up to ack.
func (m *peerModel) sentACK(ack tcp.Seq) {
	switch {
	case !m.known:
		m.set(tcp.Established)
	case m.state == tcp.SynSent || m.state == tcp.SynReceived:
		if !m.ourSYNSent || ack.GreaterThanEq(m.ourSYNEnd) {
			m.set(tcp.Established)
		}
	}
	if !m.ourFINSent || m.ourFINAcked || ack.LessThan(m.ourFINEnd) {
		return
	}
	m.ourFINAcked = true
	switch m.state {
	case tcp.Established:
		m.set(tcp.CloseWait)
	case tcp.FinWait1:
		// Our FIN reached it before the ACK of its own: simultaneous
		// close, unless our FIN carried that ACK.
		if m.peerFINAcked {
			m.set(tcp.TimeWait)
		} else {
			m.set(tcp.Closing)
		}
	case tcp.FinWait2:
		m.set(tcp.TimeWait)
	}
}

// received updates the model with a segment the stack sent the peer.
func (m *peerModel) received(seg stack.SegmentSummary) {
	f := seg.Flags
	if f.Has(tcp.FlagRST) {
		m.set(tcp.Closed)
		return
	}
	if f.Has(tcp.FlagSYN) {
		m.ourSYNSent = true
		m.ourSYNEnd = seg.Seq.Add(uint32(seg.Len) + 1)
	}
	if f.Has(tcp.FlagACK) && !f.Has(tcp.FlagSYN) && m.state == tcp.SynReceived && m.known {
		m.set(tcp.Established) // the ACK of its SYN-ACK
	}
	if f.Has(tcp.FlagACK) && m.peerFINSent && !m.peerFINAcked && seg.Ack.GreaterThanEq(m.peerFINEnd) {
		m.peerFINAcked = true
		switch m.state {
		case tcp.FinWait1:
			m.set(tcp.FinWait2)
		case tcp.Closing:
			m.set(tcp.TimeWait)
		case tcp.LastAck:
			m.set(tcp.Closed)
		}
	}
	if f.Has(tcp.FlagFIN) && !m.ourFINSent {
		m.ourFINSent = true
		m.ourFINEnd = seg.Seq.Add(uint32(seg.Len) + 1)
		if f.Has(tcp.FlagSYN) {
			m.ourFINEnd = m.ourFINEnd.Add(1)
		}
	}
}

// resetBy is the stack accepting the peer's RST: the peer has deleted its
// TCB.
func (m *peerModel) resetBy() { m.set(tcp.Closed) }
