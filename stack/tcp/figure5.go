package tcp

import "fmt"

// Edge is one legal state change of a connection: an arrow of RFC 9293's
// Figure 5, or one the RFC's text adds to it (the figure, as the RFC says,
// "is only a summary"). Reasons are the engine's reasons that may take the
// edge: a state change is legal if its edge is here and its reason is one
// of them. A new rule that moves a connection needs its reason added here,
// which is the point: a change of state that nobody described fails the
// checks that use this table (the engine's fuzz target and the stack's).
type Edge struct {
	From, To State
	Event    string // what moves the connection, in the RFC's words
	Rule     string // where the RFC says so
	Reasons  []Reason
}

// The reasons that end a connection from many states at once.
var (
	// ABORT (§3.10.5) from any state; CLOSE with unread data resets
	// instead (RFC 2525 §2.17); data that arrives after CLOSE resets too.
	abortReasons = []Reason{ReasonUserAbort, ReasonCloseUnreadData, ReasonFinAfterRecvClosed}
	// R2 (§3.8.3) and the user timeout (RFC 5482).
	timeoutReasons = []Reason{ReasonGiveUp, ReasonUserTimeout}
)

func joined(groups ...[]Reason) []Reason {
	var all []Reason
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}

func anyOf(r ...Reason) []Reason { return r }

// figure5 lists every legal edge, the figure's first, then the text's.
var figure5 = []Edge{
	// Figure 5.
	{Closed, Listen, "passive OPEN", "rfc9293:3.10.1", anyOf(ReasonUserOpenPassive)},
	{Closed, SynSent, "active OPEN, snd SYN", "rfc9293:3.10.1", anyOf(ReasonUserOpenActive)},
	{Listen, Closed, "CLOSE", "rfc9293:3.10.4", anyOf(ReasonUserClose, ReasonUserAbort)},
	{Listen, SynReceived, "rcv SYN, snd SYN,ACK", "rfc9293:3.10.7.2", anyOf(ReasonListenSYN)},
	// RFC 4987 §3.6: a listener that answered a SYN with a cookie and
	// kept nothing rebuilds the SYN-RECEIVED TCB from the ACK that
	// returns a valid cookie, which then moves it on as in SYN-RECEIVED.
	{Listen, SynReceived, "rcv ACK with a valid SYN cookie", "rfc4987:3.6", anyOf(ReasonSynCookieValid)},
	{Listen, SynSent, "SEND, snd SYN", "rfc9293:3.10.2", anyOf(ReasonUserSend)},
	{SynSent, Closed, "CLOSE", "rfc9293:3.10.4", anyOf(ReasonUserClose)},
	{SynSent, SynReceived, "rcv SYN, snd SYN,ACK (simultaneous open)", "rfc9293:3.10.7.3", anyOf(ReasonSynSentSimultaneous)},
	{SynSent, Established, "rcv SYN,ACK, snd ACK", "rfc9293:3.10.7.3", anyOf(ReasonSynSentSynAck)},
	{SynReceived, Listen, "rcv RST (note 1)", "rfc9293:3.10.7.4/rst", anyOf(ReasonRSTSynReceivedToListen)},
	{SynReceived, Established, "rcv ACK of SYN", "rfc9293:3.10.7.4/ack", anyOf(ReasonSynReceivedACK)},
	{SynReceived, FinWait1, "CLOSE, snd FIN", "rfc9293:3.10.4", anyOf(ReasonUserClose)},
	{Established, FinWait1, "CLOSE, snd FIN", "rfc9293:3.10.4", anyOf(ReasonUserClose)},
	{Established, CloseWait, "rcv FIN, snd ACK", "rfc9293:3.10.7.4/fin", anyOf(ReasonFinReceived)},
	{FinWait1, FinWait2, "rcv ACK of FIN", "rfc9293:3.10.7.4/ack", anyOf(ReasonFinAcked)},
	{FinWait1, Closing, "rcv FIN, snd ACK", "rfc9293:3.10.7.4/fin", anyOf(ReasonFinInFinWait1)},
	{FinWait2, TimeWait, "rcv FIN, snd ACK", "rfc9293:3.10.7.4/fin", anyOf(ReasonFinInFinWait2)},
	{Closing, TimeWait, "rcv ACK of FIN", "rfc9293:3.10.7.4/ack", anyOf(ReasonClosingDone)},
	{CloseWait, LastAck, "CLOSE, snd FIN", "rfc9293:3.10.4", anyOf(ReasonUserClose)},
	{LastAck, Closed, "rcv ACK of FIN", "rfc9293:3.10.7.4/ack", anyOf(ReasonLastAckDone)},
	{TimeWait, Closed, "Timeout=2MSL", "rfc9293:3.10.8", anyOf(ReasonTimeWaitExpired)},

	// What the text adds. The fourth step: a SYN in SYN-RECEIVED from a
	// passive OPEN returns the connection to LISTEN.
	{SynReceived, Listen, "rcv SYN", "rfc9293:3.10.7.4/syn", anyOf(ReasonSYNInSynReceived)},
	// The eighth step: a FIN in SYN-RECEIVED, and a FIN in FIN-WAIT-1
	// that comes with (or after) the ACK of ours.
	{SynReceived, CloseWait, "rcv FIN, snd ACK", "rfc9293:3.10.7.4/fin", anyOf(ReasonFinReceived)},
	{FinWait1, TimeWait, "rcv FIN and ACK of FIN, snd ACK", "rfc9293:3.10.7.4/fin", anyOf(ReasonFinInFinWait2)},
	// RST: refused in the handshake (an active OPEN's SYN-RECEIVED
	// included), reset in the synchronized states, and in TIME-WAIT unless
	// RFC 1337 ignores it.
	{SynSent, Closed, "rcv RST with acceptable ACK", "rfc9293:3.10.7.3", anyOf(ReasonSynSentRefused)},
	{SynReceived, Closed, "rcv RST (active OPEN)", "rfc9293:3.10.7.4/rst", anyOf(ReasonSynReceivedRefused)},
	{Established, Closed, "rcv RST", "rfc9293:3.10.7.4/rst", anyOf(ReasonRSTReset)},
	{FinWait1, Closed, "rcv RST", "rfc9293:3.10.7.4/rst", anyOf(ReasonRSTReset)},
	{FinWait2, Closed, "rcv RST", "rfc9293:3.10.7.4/rst", anyOf(ReasonRSTReset)},
	{CloseWait, Closed, "rcv RST", "rfc9293:3.10.7.4/rst", anyOf(ReasonRSTReset)},
	{Closing, Closed, "rcv RST", "rfc9293:3.10.7.4/rst", anyOf(ReasonRSTClose)},
	{LastAck, Closed, "rcv RST", "rfc9293:3.10.7.4/rst", anyOf(ReasonRSTClose)},
	{TimeWait, Closed, "rcv RST (RFC 1337 off)", "rfc9293:3.10.7.4/rst", anyOf(ReasonRSTClose)},
	// RFC 6191 (RFC 1122 §4.2.2.13): a new SYN ends TIME-WAIT; the SYN
	// goes to the listener, which makes a new connection for it.
	{TimeWait, Closed, "rcv new SYN", "rfc6191", anyOf(ReasonTimeWaitReopen)},
	// ABORT (§3.10.5), CLOSE with unread data (RFC 2525 §2.17), data
	// after CLOSE, and the time-outs (§3.8.3, §3.10.8, RFC 5482, RFC 1122
	// §4.2.3.6) and hard ICMP errors in the handshake (RFC 1122 §4.2.3.9)
	// end a connection wherever the rule applies.
	{SynSent, Closed, "ABORT, timeout, ICMP hard error", "rfc9293:3.10.5,3.8.3",
		joined(abortReasons, timeoutReasons, anyOf(ReasonICMPHardError))},
	{SynReceived, Closed, "ABORT, timeout, ICMP hard error", "rfc9293:3.10.5,3.8.3",
		joined(abortReasons, timeoutReasons, anyOf(ReasonICMPHardError))},
	{Established, Closed, "ABORT, timeout", "rfc9293:3.10.5,3.8.3",
		joined(abortReasons, timeoutReasons, anyOf(ReasonKeepAliveTimeout))},
	{FinWait1, Closed, "ABORT, timeout", "rfc9293:3.10.5,3.8.3", joined(abortReasons, timeoutReasons)},
	{FinWait2, Closed, "ABORT, timeout", "rfc9293:3.10.5,3.10.8",
		joined(abortReasons, timeoutReasons, anyOf(ReasonFinWait2Timeout))},
	{CloseWait, Closed, "ABORT, timeout", "rfc9293:3.10.5,3.8.3",
		joined(abortReasons, timeoutReasons, anyOf(ReasonKeepAliveTimeout))},
	{Closing, Closed, "ABORT, timeout", "rfc9293:3.10.5,3.8.3", joined(abortReasons, timeoutReasons)},
	{LastAck, Closed, "ABORT, timeout", "rfc9293:3.10.5,3.8.3", joined(abortReasons, timeoutReasons)},
	{TimeWait, Closed, "ABORT", "rfc9293:3.10.5", anyOf(ReasonUserAbort)},
}

// Figure5 returns the legal edges: RFC 9293's Figure 5 and the edges its
// text adds. Several entries may share a From and To with different
// events.
func Figure5() []Edge {
	edges := make([]Edge, len(figure5))
	for i, e := range figure5 {
		e.Reasons = append([]Reason(nil), e.Reasons...)
		edges[i] = e
	}
	return edges
}

// LegalEdge reports whether RFC 9293 lets a connection move from one
// state to the other, for any reason.
func LegalEdge(from, to State) bool {
	for i := range figure5 {
		if figure5[i].From == from && figure5[i].To == to {
			return true
		}
	}
	return false
}

// CheckTransition says whether the state change from -> to for reason why
// is a legal edge taken for a reason listed with it; nil if so. Tests
// attach it to whatever observes state changes (tcp.Observer, the stack's
// events).
func CheckTransition(from, to State, why Reason) error {
	edge := false
	for i := range figure5 {
		e := &figure5[i]
		if e.From != from || e.To != to {
			continue
		}
		edge = true
		for _, r := range e.Reasons {
			if r == why {
				return nil
			}
		}
	}
	if !edge {
		return fmt.Errorf("%s -> %s (%s) is not an edge of RFC 9293 Figure 5 or its text", from, to, why)
	}
	return fmt.Errorf("%s -> %s is an edge, but not for reason %s (%s); if a new rule takes it, list the reason in stack/tcp/figure5.go", from, to, why, why.Rule())
}
