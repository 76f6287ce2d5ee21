package tcp

import "time"

// The seventh and eighth steps of SEGMENT ARRIVES (RFC 9293 §3.10.7.4):
// the text, in order or ahead of RCV.NXT, and the peer's FIN.

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
			c.rcv.reportDuplicate(dup)
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
			c.rcv.noteOOO(s.Seq)
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
		if c.snd.finAcked() {
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
