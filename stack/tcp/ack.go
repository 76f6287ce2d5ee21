package tcp

import "time"

// The fifth step of SEGMENT ARRIVES (RFC 9293 §3.10.7.4), the ACK: the
// sender and the loss recovery take what it acknowledges, the window it
// offers, and the moves the ACK of our FIN makes.

// inputACK is the fifth step of §3.10.7.4. It reports whether processing
// goes on to the text.
func (c *Conn) inputACK(now time.Time, s *Segment) bool {
	if c.state == SynReceived {
		if !(c.snd.una.LessThan(s.Ack) && s.Ack.LessThanEq(c.snd.max)) {
			c.drop(s, ReasonSynReceivedBadACK)
			c.sendReset(now, s.Ack, ReasonSynReceivedBadACK)
			return false
		}
		c.snd.takeWindow(s)
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

	// "If the ACK acks something not yet sent ... send an ACK, drop the
	// segment, and return"; RFC 5961 §5.2: so for an ACK older than any
	// window the peer could have seen.
	if why := c.snd.checkACK(s.Ack); why != ReasonNone {
		c.answerInvalid(now, s, why)
		return false
	}

	c.takeACK(now, s)
	// "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated."
	if c.snd.updateWindow(s) && c.snd.wnd > 0 && c.timers.persist {
		c.stopRetransmitTimer()
		c.backoff = 0
	}

	return c.ackOfFIN(now, s)
}

// ackOfFIN makes the moves of the ACK step that the ACK of our FIN
// causes in FIN-WAIT-1, CLOSING and LAST-ACK; it reports false when the
// connection is gone.
func (c *Conn) ackOfFIN(now time.Time, s *Segment) bool {
	switch c.state {
	case FinWait1:
		if c.snd.finAcked() {
			c.setState(FinWait2, s, ReasonFinAcked)
			if c.orphaned {
				c.timers.set(timerClose, now.Add(c.cfg.FinWait2Timeout))
			}
		}
	case Closing:
		if c.snd.finAcked() {
			c.setState(TimeWait, s, ReasonClosingDone)
			c.startTimeWait(now)
		}
	case LastAck:
		if c.snd.finAcked() {
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
	if sent := c.rec.firstAcked; !sent.IsZero() {
		// The send time of the oldest segment this ACK covers, none of
		// them sent twice: the clock's resolution, as Linux's seq_rtt_us
		// (a timestamp echo counts milliseconds, and a path under one
		// would read as no time at all).
		c.rtt.sample(now.Sub(sent), c.cfg.MinRTO, c.cfg.MaxRTO)
		c.snd.rttTiming = false
	} else if rtt, ok := c.snd.timed(ack, now); ok {
		// The one segment timed (a SYN or SYN-ACK, or data when no
		// scoreboard sample applies), sent once: the clock's resolution.
		c.rtt.sample(rtt, c.cfg.MinRTO, c.cfg.MaxRTO)
	} else if c.tsOK && s.Options.HasTimestamps && s.Options.TSEcr != 0 {
		// RFC 7323 §4: the echo times even a retransmitted segment's
		// ACK. Under one tick it counts as one, as Linux's
		// tcp_rtt_tsopt_us does.
		ticks := max(c.tsNow(now)-s.Options.TSEcr, 1)
		if int32(ticks) > 0 {
			c.rtt.sample(time.Duration(ticks)*time.Millisecond, c.cfg.MinRTO, c.cfg.MaxRTO)
		} else {
			sampled = false
		}
	} else {
		sampled = false
	}
	if !c.rec.inRecovery {
		c.cc.onACK(c.cfg.Congestion.algorithm(), now, acked, c.snd.mss, c.rtt.srtt)
	}
	c.rec.onAdvance(ack)
	c.snd.advance(ack)
	if c.snd.buf.len() == 0 && c.mem != nil {
		c.releaseIfIdle()
	}
	c.timeouts = 0 // progress: the R2 count starts again
	if sampled {
		// RFC 6298 §5 and RFC 9293 §3.8.1: the backed-off RTO stays until
		// new data is acknowledged without retransmission.
		c.backoff = 0
	}
	if c.snd.outstanding() == 0 {
		c.stopRetransmitTimer()
		c.timers.stop(timerTLP)
		c.timers.stop(timerUser)
	} else {
		c.startRetransmitTimer(now)
		c.startUserTimeout(now)
		c.armTLP(now)
	}
}
