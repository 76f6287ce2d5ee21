package tcp

import "time"

// The timers of a connection are plain deadlines checked against now
// (RFC 9293 §3.10.8): retransmission (or persist), TIME-WAIT's 2MSL, the
// orphaned FIN-WAIT-2 time-out and the delayed ACK.

func (c *Conn) startRetransmitTimer(now time.Time) {
	c.persist = false
	c.rtxAt = now.Add(c.rtt.backedOff(c.backoff, c.cfg.MaxRTO))
}

func (c *Conn) startPersistTimer(now time.Time) {
	c.persist = true
	c.rtxAt = now.Add(c.rtt.backedOff(c.backoff, c.cfg.MaxRTO))
}

func (c *Conn) stopRetransmitTimer() {
	c.rtxAt = time.Time{}
	c.persist = false
}

// startTimeWait enters the one timer of TIME-WAIT, 2*MSL (RFC 9293
// §3.10.8); every other stops, as the compact record has no other.
func (c *Conn) startTimeWait(now time.Time) {
	c.stopRetransmitTimer()
	c.finWait2At, c.delAckAt, c.tlpAt, c.rackAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	c.timeWaitAt = now.Add(2 * c.cfg.MSL)
}

// Deadline is when Tick must next be called; zero if no timer runs.
func (c *Conn) Deadline() time.Time {
	var d time.Time
	for _, t := range [...]time.Time{c.rtxAt, c.timeWaitAt, c.finWait2At, c.delAckAt, c.tlpAt, c.rackAt, c.userTimeoutAt(), c.keepAliveAt()} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	return d
}

// Tick fires every timer whose deadline is at or before now (§3.10.8).
func (c *Conn) Tick(now time.Time) {
	if due(c.userTimeoutAt(), now) {
		c.err = ErrTimedOut
		c.enterClosed(nil, ReasonUserTimeout)
		return
	}
	if due(c.keepAliveAt(), now) {
		c.keepAliveExpired(now)
		if c.state == Closed {
			return
		}
	}
	if due(c.timeWaitAt, now) {
		c.timeWaitAt = time.Time{}
		c.enterClosed(nil, ReasonTimeWaitExpired)
		return
	}
	if due(c.finWait2At, now) {
		c.finWait2At = time.Time{}
		if c.state == FinWait2 {
			c.enterClosed(nil, ReasonFinWait2Timeout)
			return
		}
	}
	if due(c.tlpAt, now) && !c.persist {
		// The probe was due no later than the RTO: it goes instead of
		// the RTO and restarts the timer (RFC 8985 §7.2).
		c.tlpExpired(now)
	}
	if due(c.rtxAt, now) {
		c.rtxAt = time.Time{}
		if c.persist {
			c.persistExpired(now)
		} else {
			c.retransmitExpired(now)
		}
		if c.state == Closed {
			return
		}
	}
	if due(c.rackAt, now) {
		c.rackAt = time.Time{}
		c.rackDetectLoss(now)
		c.afterACK(now, false)
		c.output(now)
	}
	if due(c.delAckAt, now) {
		c.delAckAt = time.Time{}
		if c.ackPending > 0 {
			c.sendAck(now, ReasonDelayedACK)
		}
	}
}

func due(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

// retransmitExpired is the retransmission time-out of RFC 6298 §5.4–5.6:
// back off, resend the earliest unacknowledged segment, restart the timer.
// After R2 time-outs the connection is given up (RFC 9293 §3.8.3).
func (c *Conn) retransmitExpired(now time.Time) {
	limit := c.cfg.DataRetries
	switch c.state {
	case SynSent:
		limit = c.cfg.SynRetries
	case SynReceived:
		limit = c.cfg.SynAckRetries
	case Established, CloseWait, FinWait1, Closing, LastAck:
		if c.SndUna == c.sndMax {
			// Nothing outstanding: the sender-side silly window wait
			// ended; send what the window allows (RFC 9293 §3.8.6.2.1).
			c.swsOverride = true
			c.sendOne(now)
			c.swsOverride = false
			return
		}
	default:
		return
	}
	if c.timeouts >= limit && c.cfg.UserTimeout == 0 {
		c.err = ErrTimedOut
		if c.softErr != nil {
			c.err = c.softErr // RFC 1122 §4.2.3.9: report the soft error
		}
		c.enterClosed(nil, ReasonGiveUp)
		return
	}
	c.timeouts++
	c.backoff = min(c.backoff+1, 30)
	c.rttTiming = false // Karn: no RTT sample from a retransmitted segment
	switch c.state {
	case SynSent:
		c.synRetransmit = true
		c.retransmits++
		c.sendSYN(now, ReasonRetransmitSYN)
	case SynReceived:
		c.synRetransmit = true
		c.retransmits++
		c.sendSYNACK(now, nil, ReasonRetransmitSYNACK)
	default:
		// RFC 5681 §3.1 (4) and RFC 6675 §5.1: after a time-out, ssthresh
		// falls, cwnd is one segment and everything not SACKed is lost;
		// retransmit from SND.UNA.
		c.onRTOCongestion(now)
		c.inRecovery, c.rtxNow = false, ReasonNone
		c.afterRTO = true
		c.recoverSeq = c.sndMax
		c.dupAcks = 0
		c.tlpAt, c.tlpOut = time.Time{}, false
		c.sb.markAllLost()
		c.stopRetransmitTimer()
		if c.SndUna == c.ISS {
			// CLOSE in SYN-RECEIVED sent a FIN before our SYN was
			// acknowledged: the SYN-ACK goes again first.
			c.retransmits++
			c.sendSYNACK(now, nil, ReasonRetransmitSYNACK)
		}
		if first := c.sb.firstLost(); first != nil {
			c.retransmit(now, first, ReasonNone)
		}
		c.startRetransmitTimer(now)
	}
}

// persistExpired probes a zero window (RFC 9293 §3.8.6.1): one octet of new
// data beyond the window, with the interval backing off. The peer's ACK
// keeps the connection alive however long the window stays closed.
func (c *Conn) persistExpired(now time.Time) {
	c.persist = false
	end := c.dataEnd()
	if c.SndWnd != 0 || !c.SndNxt.LessThan(end) {
		c.output(now)
		return
	}
	// RFC 1122 §4.2.2.17: the connection stays open as long as the peer
	// acknowledges the probes, however long its window stays shut; a
	// probe is a retransmission all the same, and R2 of them that nothing
	// answers end the connection (RFC 9293 §3.8.3), as Linux's
	// tcp_probe_timer does. Otherwise a peer that shuts its window and
	// goes silent would hold the connection and its send buffer for
	// ever (found by FuzzStackSession).
	if c.probesOut >= c.cfg.DataRetries && c.cfg.UserTimeout == 0 {
		c.err = ErrTimedOut
		c.enterClosed(nil, ReasonGiveUp)
		return
	}
	c.probesOut++
	if c.backoff < 30 {
		c.backoff++
	}
	// SND.NXT stays: if the peer takes the octet its ACK moves SND.NXT
	// on, and if not the octet goes out again with the window's opening.
	s := c.header(now, c.SndNxt, FlagACK)
	s.Payload = c.snd.slice(c.SndNxt, 1)
	c.sndMax = c.sndMax.Max(c.SndNxt.Add(1))
	c.startPersistTimer(now)
	c.emit(now, s, ReasonZeroWindowProbe)
}

// userTimeoutAt is when the user timeout closes the connection; zero if
// it is off or nothing waits for an acknowledgment.
func (c *Conn) userTimeoutAt() time.Time {
	if c.cfg.UserTimeout <= 0 || c.unackedSince.IsZero() || c.state == TimeWait || c.state == Closed {
		return time.Time{}
	}
	return c.unackedSince.Add(c.cfg.UserTimeout)
}

// keepAliveAt is when the next keep-alive probe is due: only in
// ESTABLISHED or CLOSE-WAIT with nothing outstanding (RFC 1122 §4.2.3.6).
func (c *Conn) keepAliveAt() time.Time {
	if c.cfg.KeepAliveIdle <= 0 || c.SndUna != c.sndMax || (c.state != Established && c.state != CloseWait) {
		return time.Time{}
	}
	return c.lastHeard.Add(c.cfg.KeepAliveIdle + time.Duration(c.keepAlivesSent)*c.cfg.KeepAliveInterval)
}

// keepAliveExpired sends a keep-alive probe, <SEQ=SND.NXT-1><ACK=RCV.NXT>
// with no data: an old sequence number the peer must acknowledge (RFC 1122
// §4.2.3.6), or gives up after KeepAliveCount probes went unanswered.
func (c *Conn) keepAliveExpired(now time.Time) {
	if c.keepAlivesSent >= c.cfg.KeepAliveCount {
		c.err = ErrTimedOut
		c.enterClosed(nil, ReasonKeepAliveTimeout)
		return
	}
	c.keepAlivesSent++
	c.emit(now, c.header(now, c.SndNxt.Add(^uint32(0)), FlagACK), ReasonKeepAlive)
}
