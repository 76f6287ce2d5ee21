package tcp

import "time"

// The Conn's side of loss recovery (recovery.go, rack.go): it feeds the
// recovery what ACKs say, runs the RACK and tail loss probe timers, tells
// congestion control of a congestion event, and sends the retransmissions
// the recovery asks for.

// takeLoss gives the recovery an acceptable ACK and looks for losses if
// it delivered anything.
func (c *Conn) takeLoss(now time.Time, s *Segment) {
	if !c.rec.onACK(now, s, c.snd.una, c.snd.max, c.sackOK) {
		return
	}
	if c.cfg.DisableRACKTLP {
		if c.sackOK {
			c.rec.markLostBySACK(uint32(c.dataMSS()))
		}
		return
	}
	c.timers.set(timerRACK, c.rec.rackDetectLoss(now, c.rtt.srtt))
}

// duplicateACK counts a duplicate ACK (RFC 5681 §2).
func (c *Conn) duplicateACK(s *Segment) {
	if c.rec.duplicateACK(s, c.snd.una, c.snd.max, c.snd.wnd, c.snd.shift) {
		c.drop(s, ReasonACKDuplicate)
	}
}

// afterACK runs once an ACK has been applied: fast recovery starts or
// ends, and a start is a congestion event (RFC 5681 §3.2).
func (c *Conn) afterACK(advanced bool) {
	if c.rec.afterACK(advanced, c.snd.una, c.snd.max, c.sackOK) {
		c.cc.onCongestion(c.cfg.Congestion.algorithm(), c.snd.una.Size(c.snd.max), c.snd.mss)
		c.timers.stop(timerTLP)
	}
}

// rackExpired is RACK's reordering timer (RFC 8985 §6.2): what it waited
// for is lost now if no ACK said otherwise.
func (c *Conn) rackExpired(now time.Time) {
	c.timers.set(timerRACK, c.rec.rackDetectLoss(now, c.rtt.srtt))
	c.afterACK(false)
	c.output(now)
}

// nextSegWithoutLoss is recovery.nextSegWithoutLoss when it applies: with
// SACK, and RACK-TLP off.
func (c *Conn) nextSegWithoutLoss() (*txSegment, bool) {
	if !c.sackOK || !c.cfg.DisableRACKTLP {
		return nil, false
	}
	return c.rec.nextSegWithoutLoss(c.snd.una)
}

// armTLP schedules a tail loss probe after new data went out (RFC 8985
// §7.2); if the RTO would fire sooner, the probe goes at the RTO's time
// instead.
func (c *Conn) armTLP(now time.Time) {
	pto, ok := c.rec.probeTimeout(&c.rtt)
	if !ok || c.cfg.DisableRACKTLP {
		c.timers.stop(timerTLP)
		return
	}
	at := now.Add(pto)
	if rto := c.timers.at[timerRetransmit]; !rto.IsZero() && at.After(rto) {
		at = rto
	}
	c.timers.set(timerTLP, at)
}

// tlpExpired sends the probe: new data if the window allows, else the
// last segment again (RFC 8985 §7.3).
func (c *Conn) tlpExpired(now time.Time) {
	if c.rec.sb.empty() {
		return
	}
	c.rec.tlpOut = true
	if !c.sendNew(now, ReasonTailLossProbeNewData) {
		c.retransmit(now, c.rec.sb.last(), ReasonTailLossProbe)
	}
	c.startRetransmitTimer(now)
}

// retransmit sends segment t again.
func (c *Conn) retransmit(now time.Time, t *txSegment, why Reason) {
	dataEnd := c.snd.dataEnd()
	flags := FlagACK
	n := t.size()
	if c.snd.finQueued && t.end == dataEnd.Add(1) {
		flags |= FlagFIN
		n--
	}
	s := c.header(now, t.start, flags)
	s.Payload = c.snd.buf.slice(t.start, int(n))
	if len(s.Payload) < int(n) {
		return // the segment is no longer in the buffer: acknowledged meanwhile
	}
	if n > 0 && t.start.Add(n) == dataEnd {
		s.Flags |= FlagPSH
	}
	c.rec.retransmitted(t, now)
	c.retransmits++
	if why == ReasonNone {
		switch {
		case c.rec.inRecovery:
			why = ReasonRecoveryRetransmit
		case n == 0:
			why = ReasonRetransmitFIN
		default:
			why = ReasonRetransmitData
		}
	}
	c.emit(now, s, why)
}
