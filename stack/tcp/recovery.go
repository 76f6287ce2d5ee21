package tcp

import "time"

// Loss recovery: what an ACK tells the sender (cumulative ACK, SACK
// blocks, duplicate ACKs), which segments are lost, and fast recovery with
// SACK (RFC 6675) or, for a peer without SACK, NewReno (RFC 6582).

// dupThresh is DupThresh of RFC 5681 and RFC 6675.
const dupThresh = 3

// onACK processes the loss-recovery side of an acceptable ACK: ack is
// SEG.ACK, s the segment (its SACK blocks).
func (c *Conn) onACK(now time.Time, s *Segment) {
	ack := s.Ack
	delivered := false
	deliver := func(t *txSegment) {
		delivered = true
		c.rackDelivered(now, t)
	}
	if ack.GreaterThan(c.SndUna) {
		c.sb.ackTo(ack, deliver)
	}
	if c.sackOK && s.Options.NumSACK > 0 {
		c.sb.markSACKed(s.Options.SACK[:s.Options.NumSACK], ack.Max(c.SndUna), c.sndMax, deliver)
	}
	if delivered {
		c.rackDetectLoss(now)
		if c.sackOK && c.cfg.DisableRACKTLP {
			c.markLostBySACK()
		}
	}
}

// markLostBySACK marks lost every segment for which RFC 6675 §4's IsLost
// holds: DupThresh SACKed segments above it, or more than (DupThresh-1)
// full segments' worth of SACKed octets. Segments already retransmitted
// in this recovery (below HighRxt) are left alone. RACK-TLP, when on,
// detects losses by time instead (RFC 8985 §6).
func (c *Conn) markLostBySACK() {
	var segs int
	var octets uint32
	limit := uint32(dupThresh-1) * uint32(c.dataMSS())
	for i := c.sb.len() - 1; i >= 0; i-- {
		s := c.sb.at(i)
		switch {
		case s.sacked:
			segs++
			octets += s.size()
		case segs >= dupThresh || octets > limit:
			if c.inRecovery && s.start.LessThan(c.highRxt) {
				return
			}
			c.sb.markLost(s)
		}
	}
}

// nextSegWithoutLoss is NextSeg's rules (3) and (4) of RFC 6675 §4, for
// when nothing is judged lost and no new data can go: an unSACKed segment
// below the highest SACKed octet not yet retransmitted in this recovery,
// else once per recovery, after a partial ACK, the highest unSACKed
// segment (the rescue retransmission). RACK-TLP's probes take their place
// when it is on.
func (c *Conn) nextSegWithoutLoss() (seg *txSegment, rescue bool) {
	if !c.inRecovery || !c.sackOK || !c.cfg.DisableRACKTLP {
		return nil, false
	}
	highestSACKed := -1
	for i := c.sb.len() - 1; i >= 0; i-- {
		if c.sb.at(i).sacked {
			highestSACKed = i
			break
		}
	}
	for i := 0; i < highestSACKed; i++ {
		if s := c.sb.at(i); !s.sacked && s.start.GreaterThanEq(c.highRxt) {
			return s, false
		}
	}
	if !c.rescued && c.SndUna.GreaterThan(c.rescueRxt) {
		for i := c.sb.len() - 1; i >= 0; i-- {
			if s := c.sb.at(i); !s.sacked {
				return s, true
			}
		}
	}
	return nil, false
}

// duplicateACK counts ACKs that acknowledge nothing new while data is
// outstanding (RFC 5681 §2 "DUPLICATE ACKNOWLEDGMENT"); the third marks the
// first unacknowledged segment lost (RFC 5681 §3.2, RFC 6675 §5 (a)).
func (c *Conn) duplicateACK(now time.Time, s *Segment) {
	if len(s.Payload) > 0 || s.Flags&(FlagSYN|FlagFIN) != 0 || c.SndUna == c.sndMax ||
		c.SndWnd == 0 || (uint32(s.Window)<<c.sndShift != c.SndWnd && s.Options.NumSACK == 0) {
		return
	}
	c.dupAcks++
	c.drop(s, ReasonACKDuplicate)
	if c.dupAcks == dupThresh && !c.sb.empty() {
		c.sb.markLost(c.sb.at(0))
	}
}

// afterACK runs once an ACK has been applied: start or end fast recovery
// and, for NewReno, retransmit after a partial ACK.
func (c *Conn) afterACK(now time.Time, advanced bool) {
	if c.inRecovery && c.SndUna.GreaterThanEq(c.recoverSeq) {
		c.inRecovery = false // RFC 6675 §5 / RFC 6582 §3.2 step 3: full acknowledgment
	}
	if c.inRecovery && advanced && !c.sackOK && !c.sb.empty() {
		// NewReno partial acknowledgment (RFC 6582 §3.2 step 5): the next
		// hole is lost too, and goes at once.
		c.sb.markLost(c.sb.at(0))
		c.rtxNow = ReasonRecoveryRetransmit
	}
	if !c.inRecovery && !c.afterRTO && c.sb.lostBytes > 0 {
		c.inRecovery = true
		c.recoverSeq = c.sndMax
		c.cc.onCongestion(c.cfg.Congestion.algorithm(), c.SndUna.Size(c.sndMax), c.sndMSS)
		c.timers.stop(timerTLP)
		c.rtxNow = ReasonFastRetransmit
		c.highRxt, c.rescued = c.SndUna, false
	}
}

// retransmit sends segment t again.
func (c *Conn) retransmit(now time.Time, t *txSegment, why Reason) {
	dataEnd := c.dataEnd()
	flags := FlagACK
	n := t.size()
	if c.finQueued && t.end == dataEnd.Add(1) {
		flags |= FlagFIN
		n--
	}
	s := c.header(now, t.start, flags)
	s.Payload = c.snd.slice(t.start, int(n))
	if len(s.Payload) < int(n) {
		return // the segment is no longer in the buffer: acknowledged meanwhile
	}
	if n > 0 && t.start.Add(n) == dataEnd {
		s.Flags |= FlagPSH
	}
	c.sb.retransmitted(t, now)
	c.retransmits++
	if c.inRecovery {
		c.highRxt = c.highRxt.Max(t.end)
	}
	if why == ReasonNone {
		switch {
		case c.inRecovery:
			why = ReasonRecoveryRetransmit
		case n == 0:
			why = ReasonRetransmitFIN
		default:
			why = ReasonRetransmitData
		}
	}
	c.emit(now, s, why)
}
