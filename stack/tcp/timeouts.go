package tcp

import "time"

// What each timer does when it fires (RFC 9293 §3.8, §3.10.8, and the
// RFCs that add timers); timers.go says when.

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
		if c.snd.una == c.snd.max {
			// Nothing outstanding: the sender-side silly window wait
			// ended; send what the window allows (RFC 9293 §3.8.6.2.1).
			c.snd.swsOverride = true
			c.sendOne(now)
			c.snd.swsOverride = false
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
	c.snd.rttTiming = false // Karn: no RTT sample from a retransmitted segment
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
		c.cc.onTimeout(c.cfg.Congestion.algorithm(), c.rec.inRecovery, c.snd.una.Size(c.snd.max), c.snd.mss)
		c.rec.onTimeout(c.snd.max)
		c.timers.stop(timerTLP)
		c.stopRetransmitTimer()
		if c.snd.una == c.snd.iss {
			// CLOSE in SYN-RECEIVED sent a FIN before our SYN was
			// acknowledged: the SYN-ACK goes again first.
			c.retransmits++
			c.sendSYNACK(now, nil, ReasonRetransmitSYNACK)
		}
		if first := c.rec.sb.firstLost(); first != nil {
			c.retransmit(now, first, ReasonNone)
		}
		c.startRetransmitTimer(now)
	}
}

// persistExpired probes a zero window (RFC 9293 §3.8.6.1): one octet of new
// data beyond the window, with the interval backing off. The peer's ACK
// keeps the connection alive however long the window stays closed.
func (c *Conn) persistExpired(now time.Time) {
	end := c.snd.dataEnd()
	if c.snd.wnd != 0 || !c.snd.nxt.LessThan(end) {
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
	if c.snd.probesOut >= c.cfg.DataRetries && c.cfg.UserTimeout == 0 {
		c.err = ErrTimedOut
		c.enterClosed(nil, ReasonGiveUp)
		return
	}
	c.snd.probesOut++
	if c.backoff < 30 {
		c.backoff++
	}
	// SND.NXT stays: if the peer takes the octet its ACK moves SND.NXT
	// on, and if not the octet goes out again with the window's opening.
	s := c.header(now, c.snd.nxt, FlagACK)
	s.Payload = c.snd.buf.slice(c.snd.nxt, 1)
	c.snd.max = c.snd.max.Max(c.snd.nxt.Add(1))
	c.startPersistTimer(now)
	c.emit(now, s, ReasonZeroWindowProbe)
}

// keepAliveExpired sends a keep-alive probe, <SEQ=SND.NXT-1><ACK=RCV.NXT>
// with no data: an old sequence number the peer must acknowledge (RFC 1122
// §4.2.3.6), or gives up after KeepAliveCount probes went unanswered.
func (c *Conn) keepAliveExpired(now, due time.Time) {
	if c.keepAlivesSent >= c.cfg.KeepAliveCount {
		c.err = ErrTimedOut
		c.enterClosed(nil, ReasonKeepAliveTimeout)
		return
	}
	c.keepAlivesSent++
	c.timers.set(timerKeepAlive, due.Add(c.cfg.KeepAliveInterval))
	c.emit(now, c.header(now, c.snd.nxt.Add(^uint32(0)), FlagACK), ReasonKeepAlive)
}
