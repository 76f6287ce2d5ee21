package tcp

import "fmt"

// CheckInvariants reports the first invariant of the TCB that does not
// hold, or nil. It is for tests and fuzz targets, which call it after
// every call into the engine; it holds whatever arrives, however hostile.
//
//   - SND.UNA =< SND.NXT =< the highest sequence number sent, and every
//     octet in flight is still in the send buffer (RFC 9293 §3.3.1);
//   - the send buffer holds at most its size, the receive buffer at most
//     its size plus the rounding of a scaled window (recvBuffer.write);
//   - out-of-order data lies above RCV.NXT and inside the window last
//     advertised, in order, without overlaps: what a peer can make the
//     connection hold is bounded by the window;
//   - no timer runs in CLOSED or LISTEN, none in TIME-WAIT but 2MSL.
func (c *Conn) CheckInvariants() error {
	if (c.state == Closed || c.state == Listen) && !c.Deadline().IsZero() {
		return fmt.Errorf("a timer runs in %s: deadline %v", c.state, c.Deadline())
	}
	if c.state == Closed || c.state == Listen {
		return nil
	}
	if c.ackNow && !c.timers.running(timerFlush) {
		return fmt.Errorf("%s: an ACK is owed (%s) and nothing will send it", c.state, c.ackWhy)
	}
	if c.SndUna.GreaterThan(c.SndNxt) || c.SndNxt.GreaterThan(c.sndMax) {
		return fmt.Errorf("%s: SND.UNA %d, SND.NXT %d, highest sent %d: want SND.UNA =< SND.NXT =< highest sent", c.state, c.SndUna, c.SndNxt, c.sndMax)
	}
	// The send buffer starts at SND.UNA; at ISS+1 while the SYN is
	// unacknowledged, and at its (empty) end once the FIN is.
	switch {
	case c.SndUna == c.ISS:
		if c.snd.seq != c.ISS.Add(1) {
			return fmt.Errorf("%s: SYN unacknowledged, but the send buffer starts at %d, not ISS+1 %d", c.state, c.snd.seq, c.ISS.Add(1))
		}
	case c.finQueued && c.SndUna == c.snd.end().Add(1):
		if c.snd.len() != 0 {
			return fmt.Errorf("%s: FIN acknowledged, but %d octets are left in the send buffer", c.state, c.snd.len())
		}
	case c.snd.seq != c.SndUna:
		return fmt.Errorf("%s: send buffer starts at %d, SND.UNA is %d", c.state, c.snd.seq, c.SndUna)
	}
	if c.sndMax.GreaterThan(c.snd.end().Add(1)) {
		return fmt.Errorf("%s: sent up to %d, but the send buffer ends at %d", c.state, c.sndMax, c.snd.end())
	}
	if c.snd.len() > c.snd.limit {
		return fmt.Errorf("%s: send buffer holds %d, limit %d", c.state, c.snd.len(), c.snd.limit)
	}
	slack := 0
	if c.wsOK {
		slack = 1<<c.rcvShift - 1
	}
	if c.rcv.len() > c.rcv.limit+slack {
		return fmt.Errorf("%s: receive buffer holds %d, limit %d", c.state, c.rcv.len(), c.rcv.limit)
	}
	if c.state == SynSent {
		return nil // nothing received yet
	}
	prev := c.RcvNxt
	for i, s := range c.rcv.ooo {
		end := s.seq.Add(uint32(len(s.data)))
		switch {
		case len(s.data) == 0:
			return fmt.Errorf("%s: out-of-order block %d is empty", c.state, i)
		case i == 0 && !s.seq.GreaterThan(c.RcvNxt):
			return fmt.Errorf("%s: out-of-order data at %d, not above RCV.NXT %d", c.state, s.seq, c.RcvNxt)
		case s.seq.LessThan(prev):
			return fmt.Errorf("%s: out-of-order block %d at %d overlaps the one before, which ends at %d", c.state, i, s.seq, prev)
		case end.GreaterThan(c.rcvAdvEdge):
			return fmt.Errorf("%s: out-of-order block %d ends at %d, past the window's edge %d", c.state, i, end, c.rcvAdvEdge)
		}
		prev = end
	}
	if k, at := c.timers.next(1 << timerClose); c.state == TimeWait && !at.IsZero() {
		return fmt.Errorf("TIME-WAIT with timer %d at %v", k, at)
	}
	return nil
}
