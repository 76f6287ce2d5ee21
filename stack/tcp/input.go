package tcp

import "time"

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

// inputListen is §3.10.7.2.
func (c *Conn) inputListen(now time.Time, seg *Segment) {
	switch {
	case seg.Flags.Has(FlagRST):
		c.drop(seg, ReasonListenRSTIgnored)
	case seg.Flags.Has(FlagACK):
		// "Any acknowledgment is bad if it arrives on a connection still
		// in the LISTEN state. An acceptable reset segment should be formed
		// for any arriving ACK-bearing segment."
		if c.resetAllowed(now, seg, ReasonListenACKReset) {
			c.drop(seg, ReasonListenACKReset)
			c.sendReset(now, seg.Ack, ReasonListenACKReset)
		}
	case seg.Flags.Has(FlagSYN):
		c.rcv.irs = seg.Seq
		c.rcv.nxt = seg.Seq.Add(1)
		c.rcv.edge = c.rcv.nxt
		c.selectISS(now)
		c.negotiate(&seg.Options)
		c.snd.wnd = uint32(seg.Window) // never scaled in a SYN (RFC 7323 §2.2)
		c.snd.wl1, c.snd.wl2 = seg.Seq, c.snd.iss
		c.snd.maxWnd = c.snd.wnd
		c.setState(SynReceived, seg, ReasonListenSYN)
		// Text and FIN on the SYN are not queued: the peer sends them again.
		c.sendSYNACK(now, &seg.Options, ReasonListenSYN)
	default:
		c.drop(seg, ReasonListenNoSYN)
	}
}

// negotiate applies the options of the peer's SYN: MSS (RFC 9293 §3.7.1)
// and window scaling (RFC 7323 §2.2: in use only if both SYNs carry it).
func (c *Conn) negotiate(o *Options) {
	if o.MSS != 0 {
		c.snd.mss = o.MSS
	}
	c.snd.mss = min(c.snd.mss, c.cfg.MSS)
	if c.snd.mss == 0 {
		c.snd.mss = 1
	}
	c.wsOK = o.HasWindowScale
	if c.wsOK {
		c.snd.shift = min(o.WindowScale, 14) // RFC 7323 §2.3
	}
	c.sackOK = o.SACKPermitted && !c.cfg.DisableSACK
	c.tsOK = o.HasTimestamps && !c.cfg.DisableTimestamps
	if c.tsOK {
		c.tsRecent = o.TSVal
	}
	c.cc.init(c.snd.mss)
}

// inputSynSent is §3.10.7.3.
func (c *Conn) inputSynSent(now time.Time, seg *Segment) {
	ackOK := false
	if seg.Flags.Has(FlagACK) {
		// "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless
		// the RST bit is set, if so drop the segment and return)."
		if seg.Ack.LessThanEq(c.snd.iss) || seg.Ack.GreaterThan(c.snd.nxt) {
			c.drop(seg, ReasonSynSentBadACK)
			if !seg.Flags.Has(FlagRST) {
				c.sendReset(now, seg.Ack, ReasonSynSentBadACK)
			}
			return
		}
		ackOK = true
	}
	if seg.Flags.Has(FlagRST) {
		if !ackOK {
			c.drop(seg, ReasonSynSentRSTIgnored)
			return
		}
		c.err = ErrConnectionRefused
		c.enterClosed(seg, ReasonSynSentRefused)
		return
	}
	if !seg.Flags.Has(FlagSYN) {
		c.drop(seg, ReasonSynSentNoSYN)
		return
	}
	c.rcv.irs = seg.Seq
	c.rcv.nxt = seg.Seq.Add(1)
	c.rcv.edge = c.rcv.nxt
	c.negotiate(&seg.Options)
	c.snd.wnd = uint32(seg.Window)
	c.snd.maxWnd = c.snd.wnd
	c.snd.wl1 = seg.Seq
	if !ackOK {
		// Simultaneous open (Figure 7): <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
		c.snd.wl2 = c.snd.iss
		c.setState(SynReceived, seg, ReasonSynSentSimultaneous)
		c.sendSYNACK(now, &seg.Options, ReasonSynSentSimultaneous)
		return
	}
	c.snd.wl2 = seg.Ack
	c.ackAdvance(now, seg)
	c.setState(Established, seg, ReasonSynSentSynAck)
	c.established()
	// Data or FIN on the SYN-ACK continue at the sixth step.
	s := &c.env.work.in
	*s = *seg
	s.Flags &^= FlagSYN
	s.Seq = s.Seq.Add(1)
	c.oweACK(ReasonSynSentSynAck)
	c.processText(now, s)
	c.output(now)
}

// established runs on entering ESTABLISHED from either side of the handshake.
func (c *Conn) established() {
	// RFC 6298 §5.7: if the SYN or SYN-ACK was lost, start data with an
	// RTO of 3 s unless an RTT was measured.
	if c.synRetransmit && !c.rtt.hasSample {
		c.rtt.rto = max(c.rtt.rto, 3*time.Second)
		c.backoff = 0 // "re-initialized to 3 seconds"
	}
}

// acceptable is the sequence number test of §3.10.7.4, first step, with
// the four cases of its table. RCV.WND is the window we advertised.
func (c *Conn) acceptable(seg *Segment) bool {
	var wnd uint32
	if c.rcv.edge.GreaterThan(c.rcv.nxt) {
		wnd = c.rcv.nxt.Size(c.rcv.edge)
	}
	n := seg.Len()
	switch {
	case n == 0 && wnd == 0:
		return seg.Seq == c.rcv.nxt
	case n == 0:
		return seg.Seq.InWindow(c.rcv.nxt, wnd)
	case wnd == 0:
		// "special allowance should be made to accept valid ACKs, URGs,
		// and RSTs": a segment at RCV.NXT is processed for its control
		// bits; trim drops its text.
		return seg.Seq == c.rcv.nxt
	default:
		return seg.Seq.InWindow(c.rcv.nxt, wnd) || seg.Seq.Add(n-1).InWindow(c.rcv.nxt, wnd)
	}
}

// trim cuts what lies outside the receive window off an acceptable
// segment: "only the new parts are processed", and data beyond the window
// is not kept (§3.10.7.4, first step).
func (c *Conn) trim(s *Segment) {
	if s.Seq.LessThan(c.rcv.nxt) {
		cut := s.Seq.Size(c.rcv.nxt)
		if c.sackOK && len(s.Payload) > 0 && !s.Flags.Has(FlagSYN) {
			dup := min(cut, uint32(len(s.Payload)))
			c.rcv.hasDSACK, c.rcv.dsack = true, SACKBlock{s.Seq, s.Seq.Add(dup)}
			c.oweACK(ReasonDuplicateData)
		}
		if s.Flags.Has(FlagSYN) {
			s.Flags &^= FlagSYN
			cut--
			s.Seq = s.Seq.Add(1)
		}
		cut = min(cut, uint32(len(s.Payload)))
		s.Payload = s.Payload[cut:]
		s.Seq = s.Seq.Add(cut)
	}
	var wnd uint32
	if c.rcv.edge.GreaterThan(c.rcv.nxt) {
		wnd = c.rcv.nxt.Size(c.rcv.edge)
	}
	edge := c.rcv.nxt.Add(wnd)
	if end := s.Seq.Add(uint32(len(s.Payload))); end.GreaterThan(edge) {
		keep := uint32(0)
		if edge.GreaterThan(s.Seq) {
			keep = s.Seq.Size(edge)
		}
		s.Payload = s.Payload[:keep]
		c.oweACK(ReasonTrimmedToWindow) // tell the sender where the window ends
		s.Flags &^= FlagFIN             // it came after the text cut off
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
	if !c.acceptable(seg) {
		c.unacceptable(now, seg)
		return
	}
	// Work on a copy in the shared workspace: trimming must not change
	// the caller's segment, and a local copy would escape to the heap.
	s := &c.env.work.in
	*s = *seg
	c.trim(s)

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
	case seg.Flags.Has(FlagRST) && c.rstAtWindowEdge(seg):
		c.challengeACK(now, seg, ReasonRSTAtWindowEdge)
	case seg.Flags.Has(FlagRST):
		c.drop(seg, ReasonRSTOutsideWindow)
	default:
		// An old duplicate is honest loss recovery and always answered;
		// other answers, keep-alive probes among them (as Linux's
		// tcp_oow_rate_limited rations pure ACKs), are rationed
		// (ratelimit.go).
		why := ReasonUnacceptable
		if c.keepAliveProbe(seg) {
			why = ReasonKeepAliveProbe
		}
		dup := c.oldDuplicate(seg)
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
			c.rcv.hasDSACK, c.rcv.dsack = true, SACKBlock{seg.Seq, seg.Seq.Add(uint32(len(seg.Payload)))}
		}
		if answer {
			c.sendAck(now, why)
		}
	}
}

// keepAliveProbe reports whether an unacceptable segment is a keep-alive
// probe: an ACK with SEG.SEQ = RCV.NXT-1 and no more than the one octet of
// garbage old implementations put in it (RFC 1122 §4.2.3.6). It is
// unacceptable by design, so that the answer is an ACK; it is told apart
// from the rest because a peer that keeps idle connections alive sends one
// per connection and interval. Go's net.Dialer turns keep-alives on (15 s)
// for every connection it makes: a client that opens tens of thousands of
// connections over more than 15 s made the stack report tens of thousands
// of "unacceptable" segments while they were being opened (issue 9); they
// were these probes, each rightly answered.
func (c *Conn) keepAliveProbe(seg *Segment) bool {
	return c.state.Synchronized() && seg.Flags&(FlagSYN|FlagFIN|FlagRST|FlagACK) == FlagACK &&
		len(seg.Payload) <= 1 && seg.Seq == c.rcv.nxt.Add(^uint32(0))
}

// rstAtWindowEdge reports whether a RST that failed the sequence test
// carries exactly the right edge of the window we advertised,
// RCV.NXT+RCV.WND. A Linux peer sends its RST there when it has filled
// our window (tcp_acceptable_seq: SND.NXT, or the window's end), which is
// what a client that wrote and never read does when it aborts; and Linux
// takes the right edge into the window for this test (tcp_sequence). RFC
// 5961 §3.2 would drop it silently, and the connection would stay until a
// probe of ours drew another RST, perhaps minutes later, holding its
// buffers. A challenge ACK instead draws the exact RST from a peer that
// really reset, and nothing from one that did not (RFC 5961 §3.2's own
// answer to a RST in the window); it is rate-limited like the others.
func (c *Conn) rstAtWindowEdge(seg *Segment) bool {
	return c.state.Synchronized() &&
		c.rcv.edge.GreaterThan(c.rcv.nxt) && seg.Seq == c.rcv.edge
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

// inputACK is the fifth step of §3.10.7.4. It reports whether processing
// goes on to the text.
func (c *Conn) inputACK(now time.Time, s *Segment) bool {
	if c.state == SynReceived {
		if !(c.snd.una.LessThan(s.Ack) && s.Ack.LessThanEq(c.snd.max)) {
			c.drop(s, ReasonSynReceivedBadACK)
			c.sendReset(now, s.Ack, ReasonSynReceivedBadACK)
			return false
		}
		c.snd.wnd = uint32(s.Window) << c.snd.shift
		c.snd.maxWnd = max(c.snd.maxWnd, c.snd.wnd)
		c.snd.wl1, c.snd.wl2 = s.Seq, s.Ack
		c.ackAdvance(now, s)
		c.setState(Established, s, ReasonSynReceivedACK)
		c.established()
		if c.closeOnEstab {
			c.closeOnEstab = false
			c.snd.finQueued = true
			c.setState(FinWait1, nil, ReasonUserClose)
		}
		return true
	}

	switch {
	case s.Ack.GreaterThan(c.snd.max):
		// "If the ACK acks something not yet sent ... send an ACK, drop
		// the segment, and return."
		c.answerInvalid(now, s, ReasonACKOfUnsent)
		return false
	case s.Ack.LessThan(c.snd.una.Add(-c.snd.maxWnd)):
		// RFC 5961 §5.2: an ACK older than any window the peer could
		// have seen is not acceptable.
		c.answerInvalid(now, s, ReasonACKOld)
		return false
	}

	c.takeACK(now, s)
	// "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated."
	if c.snd.wl1.LessThan(s.Seq) || (c.snd.wl1 == s.Seq && c.snd.wl2.LessThanEq(s.Ack)) {
		c.snd.wnd = uint32(s.Window) << c.snd.shift
		c.snd.maxWnd = max(c.snd.maxWnd, c.snd.wnd)
		c.snd.wl1, c.snd.wl2 = s.Seq, s.Ack
		if c.snd.wnd > 0 && c.timers.persist {
			c.stopRetransmitTimer()
			c.backoff = 0
		}
	}

	return c.ackOfFIN(now, s)
}

// ackOfFIN makes the moves of the ACK step that the ACK of our FIN
// causes in FIN-WAIT-1, CLOSING and LAST-ACK; it reports false when the
// connection is gone.
func (c *Conn) ackOfFIN(now time.Time, s *Segment) bool {
	switch c.state {
	case FinWait1:
		if c.finAcked() {
			c.setState(FinWait2, s, ReasonFinAcked)
			if c.orphaned {
				c.timers.set(timerClose, now.Add(c.cfg.FinWait2Timeout))
			}
		}
	case Closing:
		if c.finAcked() {
			c.setState(TimeWait, s, ReasonClosingDone)
			c.startTimeWait(now)
		}
	case LastAck:
		if c.finAcked() {
			c.enterClosed(s, ReasonLastAckDone)
			return false
		}
	}
	return true
}

// takeACK applies SEG.ACK (already checked not to acknowledge unsent
// data): the scoreboard and RACK learn what was delivered, SND.UNA moves or
// the duplicate is counted, and fast recovery starts or ends.
func (c *Conn) takeACK(now time.Time, s *Segment) {
	advanced := s.Ack.GreaterThan(c.snd.una)
	c.snd.probesOut = 0 // the peer answers: its zero window may stay (persistExpired)
	c.takeLoss(now, s)
	if advanced {
		c.ackAdvance(now, s)
	} else if s.Ack == c.snd.una {
		c.duplicateACK(s)
	}
	c.afterACK(advanced)
}

// ackAdvance takes an ACK that acknowledges new data: SND.UNA moves, the
// acknowledged bytes leave the send buffer, the RTT is sampled (from the
// echoed timestamp, RFC 7323 §4, or from one timed segment under Karn's
// rule), cwnd grows outside recovery and the retransmission timer restarts
// (RFC 6298 §5.2, §5.3).
func (c *Conn) ackAdvance(now time.Time, s *Segment) {
	ack := s.Ack
	acked := c.snd.una.Size(ack)
	sampled := true
	switch {
	case c.tsOK && s.Options.HasTimestamps && s.Options.TSEcr != 0:
		rtt := time.Duration(c.tsNow(now)-s.Options.TSEcr) * time.Millisecond
		c.rtt.sample(rtt, c.cfg.MinRTO, c.cfg.MaxRTO)
		c.snd.rttTiming = false
	case c.snd.rttTiming && ack.GreaterThanEq(c.snd.rttSeq):
		c.snd.rttTiming = false
		c.rtt.sample(now.Sub(c.snd.rttStart), c.cfg.MinRTO, c.cfg.MaxRTO)
	default:
		sampled = false
	}
	if !c.rec.inRecovery {
		c.cc.onACK(c.cfg.Congestion.algorithm(), now, acked, c.snd.mss, c.rtt.srtt)
	}
	c.rec.onAdvance(ack)
	c.snd.una = ack
	if c.snd.nxt.LessThan(ack) {
		c.snd.nxt = ack
	}
	c.snd.buf.ack(ack)
	if c.snd.buf.len() == 0 && c.mem != nil {
		c.releaseIfIdle()
	}
	c.timeouts = 0 // progress: the R2 count starts again
	if sampled {
		// RFC 6298 §5 and RFC 9293 §3.8.1: the backed-off RTO stays until
		// new data is acknowledged without retransmission.
		c.backoff = 0
	}
	if c.snd.una == c.snd.max {
		c.stopRetransmitTimer()
		c.timers.stop(timerTLP)
		c.timers.stop(timerUser)
	} else {
		c.startRetransmitTimer(now)
		c.startUserTimeout(now)
		c.armTLP(now)
	}
}

// processText is the seventh and eighth steps of §3.10.7.4: deliver
// in-order data, queue what is ahead of RCV.NXT, then the FIN.
func (c *Conn) processText(now time.Time, s *Segment) {
	fin := s.Flags.Has(FlagFIN)
	switch c.state {
	case Established, FinWait1, FinWait2:
	default:
		// CLOSE-WAIT, CLOSING, LAST-ACK: after the peer's FIN no text
		// can be new: ignore it, and the FIN with it.
		if len(s.Payload) > 0 {
			c.drop(s, ReasonTextAfterFIN)
		}
		return
	}
	if len(s.Payload) > 0 && c.orphaned {
		// RFC 2525 §2.17 / RFC 9293 §3.10.4: nobody will read this data.
		c.sendReset(now, c.snd.nxt, ReasonFinAfterRecvClosed)
		c.err = ErrConnectionReset
		c.enterClosed(s, ReasonFinAfterRecvClosed)
		return
	}
	if s.Seq.GreaterThan(c.rcv.nxt) {
		// Out of order: keep it in the window, send a duplicate ACK at once
		// (RFC 5681 §4.2).
		dup, had, why := c.rcv.buf.queue(c.mem, s.Seq, s.Payload, fin)
		if had && c.sackOK {
			// RFC 2883 §4: a duplicate above RCV.NXT is reported as a
			// D-SACK block, followed by the block that holds it.
			c.rcv.hasDSACK, c.rcv.dsack = true, dup
		}
		if why != ReasonNone {
			// Over the bound of out-of-order blocks, or no memory:
			// dropped like a lost segment, and the duplicate ACK
			// tells the sender so.
			c.drop(s, why)
			c.oweACK(why)
			return
		}
		if len(s.Payload) > 0 {
			c.noteOOO(s.Seq)
		}
		c.drop(s, ReasonOutOfOrder)
		c.oweACK(ReasonOutOfOrder)
		return
	}
	if len(s.Payload) > 0 {
		if n := c.rcv.buf.write(c.mem, c.floor(), GrantStore, s.Payload); n < len(s.Payload) {
			// The budget has no storage for the rest, although the
			// window offered it: keep what fits, drop the rest and the
			// FIN behind it; the sender sends them again.
			c.drop(s, ReasonRecvBudget)
			c.oweACK(ReasonRecvBudget)
			s.Payload = s.Payload[:n]
			fin = false
			if n == 0 {
				return
			}
		}
		c.rcv.nxt = c.rcv.nxt.Add(uint32(len(s.Payload)))
		filled := len(c.rcv.buf.ooo) > 0
		var queuedFIN bool
		c.rcv.nxt, queuedFIN = c.rcv.buf.pull(c.mem, c.floor(), c.rcv.nxt)
		fin = fin || queuedFIN
		c.rcv.ackPending++
		switch {
		case filled, c.rcv.ackPending >= 2, c.cfg.DelayedACK < 0, s.Flags.Has(FlagPSH) && c.cfg.DelayedACK == 0:
			// Filling a hole, every second full segment (RFC 9293
			// §3.8.6.3, RFC 1122 §4.2.3.2), or no delayed ACKs.
			c.oweACK(ReasonData)
		default:
			if !c.timers.running(timerDelayedACK) {
				c.timers.set(timerDelayedACK, now.Add(c.cfg.DelayedACK))
			}
		}
	}
	if fin {
		c.inputFIN(now, s)
	}
}

// inputFIN is the eighth step: the peer has no more data.
func (c *Conn) inputFIN(now time.Time, s *Segment) {
	c.rcv.nxt = c.rcv.nxt.Add(1)
	c.rcv.peerFIN = true
	// The ACK owed for the FIN names the transition it makes.
	why := ReasonFinReceived
	switch c.state { // processText lets only these three through
	case Established:
		c.setState(CloseWait, s, ReasonFinReceived)
	case FinWait1:
		if c.finAcked() {
			why = ReasonFinInFinWait2
			c.setState(TimeWait, s, why)
			c.startTimeWait(now)
		} else {
			why = ReasonFinInFinWait1
			c.setState(Closing, s, why)
		}
	case FinWait2:
		why = ReasonFinInFinWait2
		c.setState(TimeWait, s, why)
		c.startTimeWait(now)
	}
	c.oweACK(why)
}
