package tcp

import "time"

// SEGMENT ARRIVES (RFC 9293 §3.10.7): which state's rules take the
// segment, and, for SYN-RECEIVED and the synchronized states, the checks
// in the RFC's order (§3.10.7.4): the sequence number, RST, SYN, ACK
// (ack.go), text and FIN (text.go). TIME-WAIT has its own (timewait.go),
// LISTEN and SYN-SENT theirs (handshake.go).

// Input is SEGMENT ARRIVES (RFC 9293 §3.10.7) for a segment addressed to
// this connection. seg is not kept after the call.
func (c *Conn) Input(now time.Time, seg *Segment) {
	c.segsIn++
	c.heard(now)
	switch c.state {
	case Closed:
		c.inputClosed(now, seg)
	case Listen:
		c.inputListen(now, seg)
	case SynSent:
		c.inputSynSent(now, seg)
	case TimeWait:
		c.inputTimeWait(now, seg) // timewait.go
	default:
		c.inputSynchronized(now, seg)
	}
}

// inputClosed is §3.10.7.1: everything but a RST is answered with a RST.
func (c *Conn) inputClosed(now time.Time, seg *Segment) {
	rst := &c.env.work.out
	var ok bool
	*rst, ok = ResetFor(seg)
	if ok && !c.resetAllowed(now, seg, ReasonClosedRST) {
		return
	}
	c.drop(seg, ReasonClosedRST)
	if ok {
		c.segsOut++
		c.env.out.Output(c, rst, ReasonClosedRST)
	}
}

// inputSynchronized is §3.10.7.4, "Otherwise": SYN-RECEIVED and every
// synchronized state, the checks in the RFC's order.
func (c *Conn) inputSynchronized(now time.Time, seg *Segment) {
	// RFC 7323 §5.3: PAWS comes before the sequence number test.
	if c.pawsReject(seg) {
		c.answerInvalid(now, seg, ReasonPAWS)
		return
	}
	if c.tsOK && !seg.Options.HasTimestamps && !seg.Flags.Has(FlagRST) {
		c.drop(seg, ReasonNoTimestamp) // RFC 7323 §3.2: SHOULD silently drop
		return
	}
	// First: the sequence number.
	if !c.rcv.acceptable(seg) {
		c.unacceptable(now, seg)
		return
	}
	// Work on a copy in the shared workspace: trimming must not change
	// the caller's segment, and a local copy would escape to the heap.
	s := &c.env.work.in
	*s = *seg
	trimmed, dup := c.rcv.trim(s, c.sackOK)

	// Second: RST (with RFC 5961 §3.2).
	if s.Flags.Has(FlagRST) {
		c.inputRST(now, s)
		return
	}
	// Third: security and precedence — not applicable (RFC 9293 §3.10.7.4 note).

	// Fourth: SYN.
	if s.Flags.Has(FlagSYN) {
		if c.state == SynReceived && c.passive {
			// "return this connection to the LISTEN state and return"
			c.returnToListen(seg, ReasonSYNInSynReceived)
			return
		}
		// RFC 5961 §4.2: challenge ACK for any SYN in a synchronized state.
		c.challengeACK(now, seg, ReasonSYNChallenge)
		return
	}

	// Fifth: ACK.
	if !s.Flags.Has(FlagACK) {
		c.drop(seg, ReasonNoACK)
		return
	}
	if !c.inputACK(now, s) {
		return
	}
	// RFC 7323 §4.3: TS.Recent is taken from a segment only once it
	// has passed the checks, the ACK's included, as Linux's tcp_ack
	// does: a forged segment in the window with a later TSval and a
	// bad ACK must not make the peer's next honest segments fail PAWS.
	c.updateTSRecent(seg)
	// The ACK that trimming owes, now that the segment is taken: one
	// dropped at a later check owes none (CheckInvariants found it left
	// owed in SYN-RECEIVED).
	if trimmed == ReasonDuplicateData {
		c.rcv.reportDuplicate(dup)
	}
	if trimmed != ReasonNone {
		c.oweACK(trimmed)
	}

	// Sixth: URG — the urgent pointer is not supported; the data is
	// delivered in line like any other.

	// Seventh and eighth: text and FIN.
	c.processText(now, s)
	c.output(now)
}

// unacceptable handles a segment that failed the sequence test: "If an
// incoming segment is not acceptable, an acknowledgment should be sent in
// reply (unless the RST bit is set ...)".
func (c *Conn) unacceptable(now time.Time, seg *Segment) {
	switch {
	case seg.Flags.Has(FlagRST) && c.state.Synchronized() && c.rcv.atRightEdge(seg):
		// A Linux peer sends its RST at the right edge of our window
		// when it has filled it (tcp_acceptable_seq), which is what a
		// client that wrote and never read does when it aborts; and
		// Linux takes the right edge into the window for this test
		// (tcp_sequence). RFC 5961 §3.2 would drop it silently, and the
		// connection would stay until a probe of ours drew another RST,
		// perhaps minutes later, holding its buffers. A challenge ACK
		// instead draws the exact RST from a peer that really reset, and
		// nothing from one that did not (RFC 5961 §3.2's own answer to a
		// RST in the window); it is rate-limited like the others.
		c.challengeACK(now, seg, ReasonRSTAtWindowEdge)
	case seg.Flags.Has(FlagRST):
		c.drop(seg, ReasonRSTOutsideWindow)
	default:
		// An old duplicate is honest loss recovery and always answered;
		// other answers, keep-alive probes among them (as Linux's
		// tcp_oow_rate_limited rations pure ACKs), are rationed
		// (ratelimit.go).
		why := ReasonUnacceptable
		if c.state.Synchronized() && keepAliveProbe(seg, c.rcv.nxt) {
			why = ReasonKeepAliveProbe
		}
		dup := oldDuplicate(seg, c.rcv.nxt, c.windowShift())
		answer := dup || c.answerAllowed(now, seg, why)
		if answer {
			c.drop(seg, why)
		}
		// "If the RCV.WND is zero, no segments will be acceptable, but
		// special allowance should be made to accept valid ACKs": an ACK
		// of new data still counts.
		if seg.Flags.Has(FlagACK) && seg.Ack.GreaterThan(c.snd.una) && seg.Ack.LessThanEq(c.snd.max) && c.state.Synchronized() {
			c.takeACK(now, seg)
			// All of it: an ACK of our FIN moves the state on as in
			// the ACK step, or the connection would wait in FIN-WAIT-1,
			// CLOSING or LAST-ACK with nothing left to send and no
			// timer, for ever (found by FuzzStackSession).
			if !c.ackOfFIN(now, seg) {
				return
			}
			c.output(now)
		}
		if dup && c.sackOK && len(seg.Payload) > 0 {
			// RFC 2883: tell the sender it sent this twice.
			c.rcv.reportDuplicate(SACKBlock{seg.Seq, seg.Seq.Add(uint32(len(seg.Payload)))})
		}
		if answer {
			c.sendAck(now, why)
		}
	}
}

// inputRST is the second step of §3.10.7.4, hardened by RFC 5961 §3.2.
func (c *Conn) inputRST(now time.Time, s *Segment) {
	if s.Seq != c.rcv.nxt {
		c.challengeACK(now, s, ReasonRSTInWindowChallenge)
		return
	}
	switch c.state {
	case SynReceived:
		if c.passive {
			// Figure 8: an old duplicate SYN was answered; go back to LISTEN.
			c.returnToListen(s, ReasonRSTSynReceivedToListen)
			return
		}
		c.err = ErrConnectionRefused
		c.enterClosed(s, ReasonSynReceivedRefused)
	case Established, FinWait1, FinWait2, CloseWait:
		c.err = ErrConnectionReset
		c.enterClosed(s, ReasonRSTReset)
	default: // CLOSING, LAST-ACK (TIME-WAIT: timewait.go)
		c.enterClosed(s, ReasonRSTClose)
	}
}
