package tcp

import "time"

// Congestion control of RFC 5681 (slow start, congestion avoidance, fast
// retransmit) with NewReno's recovery of RFC 6582. CUBIC and RACK-TLP are
// not implemented yet.

// congestionOnACK grows cwnd for an ACK of acked new octets, and ends or
// continues fast recovery.
func (c *Conn) congestionOnACK(now time.Time, ack Seq, acked uint32) {
	mss := uint32(c.sndMSS)
	c.dupAcks = 0
	if c.inRecovery {
		if ack.GreaterThanEq(c.recoverSeq) {
			// Full acknowledgment (RFC 6582 §3.2 step 3): deflate.
			c.inRecovery = false
			c.cwnd = max(min(c.ssthresh, c.SndUna.Size(c.sndMax)-acked+mss), mss)
			return
		}
		// Partial acknowledgment (step 4): retransmit the next hole,
		// deflate by what was acknowledged, add back one segment.
		c.SndUna = ack
		c.retransmitHead(now, ReasonFastRetransmit)
		if acked > c.cwnd {
			c.cwnd = mss
		} else {
			c.cwnd -= acked
		}
		c.cwnd += mss
		return
	}
	if c.cwnd < c.ssthresh {
		c.cwnd += min(acked, mss) // slow start (RFC 5681 §3.1, with L = 1 SMSS)
	} else {
		c.cwnd += max(mss*mss/c.cwnd, 1) // congestion avoidance
	}
	c.cwnd = min(c.cwnd, 1<<30)
}

// duplicateACK counts ACKs that acknowledge nothing new while data is
// outstanding (RFC 5681 §2 "DUPLICATE ACKNOWLEDGMENT"); the third starts
// fast retransmit and recovery.
func (c *Conn) duplicateACK(now time.Time, s *Segment) {
	if len(s.Payload) > 0 || s.Flags&(FlagSYN|FlagFIN) != 0 || c.SndUna == c.sndMax ||
		c.SndWnd == 0 || uint32(s.Window)<<c.sndShift != c.SndWnd {
		return
	}
	c.dupAcks++
	c.drop(s, ReasonACKDuplicate)
	mss := uint32(c.sndMSS)
	switch {
	case c.inRecovery:
		c.cwnd += mss // inflate for each segment that left the network
	case c.dupAcks == 3:
		flight := c.SndUna.Size(c.sndMax)
		c.ssthresh = max(flight/2, 2*mss)
		c.inRecovery = true
		c.recoverSeq = c.sndMax
		c.retransmitHead(now, ReasonFastRetransmit)
		c.cwnd = c.ssthresh + 3*mss
	}
}

// retransmitHead sends the first unacknowledged segment again.
func (c *Conn) retransmitHead(now time.Time, why Reason) {
	flags := FlagACK
	payload := c.snd.slice(c.SndUna, int(c.sndMSS))
	if c.finQueued && c.SndUna.Add(uint32(len(payload))) == c.finSeq() {
		flags |= FlagFIN
	}
	if len(payload) == 0 && flags&FlagFIN == 0 {
		return
	}
	s := c.header(c.SndUna, flags)
	s.Payload = payload
	c.retransmits++
	c.rttTiming = false
	c.startRetransmitTimer(now)
	c.emit(s, why)
}
