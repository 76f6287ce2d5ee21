package ladder

import (
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// PeerReport is what the peer said of its own states: for the Linux
// kernel, the state changes its sock:inet_sock_set_state tracepoint
// reported for its socket. With one, a diagram shows the peer's real
// states, not states inferred from its segments.
type PeerReport struct {
	// Name is what notes call the peer ("kernel"); Source says where its
	// states come from ("sock:inet_sock_set_state").
	Name, Source string
	// Changes are the peer's state changes in time order. Before the
	// first the peer was in its From; with none it had no connection at
	// all: CLOSED throughout.
	Changes []PeerChange
}

// PeerChange is one state change of the peer.
type PeerChange struct {
	Time     time.Time
	From, To tcp.State
	// Note says what RFC 9293's rule for the edge does not: how the
	// peer's implementation got there, when that differs.
	Note string
}

func (p *PeerReport) initial() tcp.State {
	if len(p.Changes) == 0 {
		return tcp.Closed
	}
	return p.Changes[0].From
}

// States is the peer's state path: where it started, then every state it
// entered.
func (p *PeerReport) States() []tcp.State {
	path := []tcp.State{p.initial()}
	for _, c := range p.Changes {
		path = append(path, c.To)
	}
	return path
}

// peerEdge says what moves a peer along an edge of RFC 9293's Figure 5:
// a segment it received (cause: the flags that segment must carry), or
// its own call or timer, which may send a segment (sends). Edges to
// CLOSED other than from LAST-ACK and TIME-WAIT are left to the caller:
// a RST received, or an abort that sends one.
func peerEdge(from, to tcp.State) (cause, sends tcp.Flags, own bool) {
	const syn, ack, fin = tcp.FlagSYN, tcp.FlagACK, tcp.FlagFIN
	switch {
	case from == tcp.Closed && to == tcp.SynSent:
		return 0, syn, true // active OPEN
	case from == tcp.Closed && to == tcp.Listen:
		return 0, 0, true // passive OPEN
	case to == tcp.FinWait1 || from == tcp.CloseWait && to == tcp.LastAck:
		return 0, fin, true // CLOSE
	case from == tcp.TimeWait && to == tcp.Closed:
		return 0, 0, true // 2MSL
	case from == tcp.Listen && to == tcp.SynReceived, from == tcp.SynSent && to == tcp.SynReceived:
		return syn, 0, false
	case from == tcp.SynSent && to == tcp.Established:
		return syn | ack, 0, false
	case to == tcp.CloseWait, to == tcp.Closing, to == tcp.TimeWait:
		if from == tcp.Closing {
			return ack, 0, false // the ACK of our FIN
		}
		return fin, 0, false
	case to == tcp.Established, to == tcp.FinWait2, from == tcp.LastAck && to == tcp.Closed:
		return ack, 0, false
	case from == tcp.SynReceived && to == tcp.Listen:
		return tcp.FlagRST, 0, false
	}
	return 0, 0, false
}

// edgeReason is the rule of RFC 9293 (§3.10) that an edge of Figure 5
// follows, as the engine names it; reset says a RST moved the peer to
// CLOSED.
func edgeReason(from, to tcp.State, reset bool) tcp.Reason {
	if to == tcp.Closed && from != tcp.LastAck && from != tcp.TimeWait {
		switch {
		case !reset:
			return tcp.ReasonUserAbort
		case from == tcp.SynSent:
			return tcp.ReasonSynSentRefused
		case from == tcp.Closing:
			return tcp.ReasonRSTClose
		}
		return tcp.ReasonRSTReset
	}
	switch {
	case from == tcp.Closed && to == tcp.SynSent:
		return tcp.ReasonUserOpenActive
	case from == tcp.Closed && to == tcp.Listen:
		return tcp.ReasonUserOpenPassive
	case from == tcp.Listen && to == tcp.SynReceived:
		return tcp.ReasonListenSYN
	case from == tcp.SynSent && to == tcp.SynReceived:
		return tcp.ReasonSynSentSimultaneous
	case from == tcp.SynSent && to == tcp.Established:
		return tcp.ReasonSynSentSynAck
	case from == tcp.SynReceived && to == tcp.Established:
		return tcp.ReasonSynReceivedACK
	case from == tcp.SynReceived && to == tcp.Listen:
		return tcp.ReasonRSTSynReceivedToListen
	case to == tcp.FinWait1, from == tcp.CloseWait && to == tcp.LastAck:
		return tcp.ReasonUserClose
	case to == tcp.CloseWait:
		return tcp.ReasonFinReceived
	case from == tcp.FinWait1 && to == tcp.FinWait2:
		return tcp.ReasonFinAcked
	case from == tcp.FinWait1 && to == tcp.Closing:
		return tcp.ReasonFinInFinWait1
	case from == tcp.FinWait1 && to == tcp.TimeWait, from == tcp.FinWait2 && to == tcp.TimeWait:
		return tcp.ReasonFinInFinWait2
	case from == tcp.Closing && to == tcp.TimeWait:
		return tcp.ReasonClosingDone
	case from == tcp.LastAck && to == tcp.Closed:
		return tcp.ReasonLastAckDone
	case from == tcp.TimeWait && to == tcp.Closed:
		return tcp.ReasonTimeWaitExpired
	}
	return tcp.ReasonNone
}
