package tcp

import "time"

// RACK-TLP loss detection (RFC 8985): a segment is lost when one sent
// after it has been delivered and more than an RTT plus a reordering
// window has passed since it was sent; a tail loss probe recovers the last
// segments of a flight without waiting for the RTO.

// rackState is RACK's view of the most recently sent segment that was
// delivered (RFC 8985 §5.2).
type rackState struct {
	xmitTS time.Time // when it was sent
	endSeq Seq
	rtt    time.Duration
	minRTT time.Duration
}

// wcDelAckT is RFC 8985 §7.2's allowance for a delayed ACK in the probe
// time-out of a single segment.
const wcDelAckT = 200 * time.Millisecond

// tlpMinTimeout keeps the probe time-out above timer noise on very short
// paths (Linux uses the same 10 ms floor).
const tlpMinTimeout = 10 * time.Millisecond

// rackDelivered updates RACK with a segment the peer acknowledged or
// SACKed (RFC 8985 §6.2 step 2).
func (c *Conn) rackDelivered(now time.Time, s *txSegment) {
	rtt := now.Sub(s.sentAt)
	if s.xmits > 1 && c.rack.minRTT > 0 && rtt < c.rack.minRTT {
		return // the ACK may be for an earlier transmission
	}
	if c.rack.minRTT == 0 || rtt < c.rack.minRTT {
		c.rack.minRTT = rtt
	}
	if s.sentAt.After(c.rack.xmitTS) || (s.sentAt.Equal(c.rack.xmitTS) && s.end.GreaterThan(c.rack.endSeq)) {
		c.rack.xmitTS = s.sentAt
		c.rack.endSeq = s.end
		c.rack.rtt = rtt
	}
}

// rackDetectLoss marks lost every segment sent before the delivered one
// by more than RACK.rtt + reo_wnd, and arms the reordering timer for the
// first that is not yet due (RFC 8985 §6.2 step 5).
func (c *Conn) rackDetectLoss(now time.Time) {
	c.timers.stop(timerRACK)
	if c.rack.xmitTS.IsZero() || c.cfg.DisableRACKTLP {
		return
	}
	reoWnd := min(c.rack.minRTT/4, c.rtt.srtt)
	for i := 0; i < c.sb.len(); i++ {
		s := c.sb.at(i)
		sentBefore := s.sentAt.Before(c.rack.xmitTS) ||
			(s.sentAt.Equal(c.rack.xmitTS) && s.end.LessThan(c.rack.endSeq))
		if !sentBefore {
			if s.xmits == 1 {
				// Segments are first sent in sequence order: every later
				// one that was never retransmitted was sent later still.
				break
			}
			continue
		}
		if s.sacked || s.lost {
			continue
		}
		lostAt := s.sentAt.Add(c.rack.rtt + reoWnd)
		if !now.Before(lostAt) {
			c.sb.markLost(s)
		} else if at := c.timers.at[timerRACK]; at.IsZero() || lostAt.Before(at) {
			c.timers.set(timerRACK, lostAt)
		}
	}
}

// armTLP schedules a tail loss probe after new data went out (RFC 8985
// §7.2): PTO = 2*SRTT, plus a delayed-ACK allowance for a lone segment;
// if the RTO would fire sooner, the probe goes at the RTO's time instead.
func (c *Conn) armTLP(now time.Time) {
	if c.inRecovery || c.tlpOut || !c.rtt.hasSample || c.sb.empty() || c.cfg.DisableRACKTLP {
		c.timers.stop(timerTLP)
		return
	}
	pto := 2 * c.rtt.srtt
	if c.sb.len() == 1 {
		pto += wcDelAckT
	}
	pto = max(pto, tlpMinTimeout)
	at := now.Add(pto)
	if rto := c.timers.at[timerRetransmit]; !rto.IsZero() && at.After(rto) {
		at = rto
	}
	c.timers.set(timerTLP, at)
}

// tlpExpired sends the probe: new data if the window allows, else the
// last segment again (RFC 8985 §7.3).
func (c *Conn) tlpExpired(now time.Time) {
	if c.sb.empty() {
		return
	}
	c.tlpOut = true
	if !c.sendNew(now, ReasonTailLossProbeNewData) {
		c.retransmit(now, c.sb.last(), ReasonTailLossProbe)
	}
	c.startRetransmitTimer(now)
}
