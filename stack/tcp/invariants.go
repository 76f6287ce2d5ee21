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
	if c.snd.una.GreaterThan(c.snd.nxt) || c.snd.nxt.GreaterThan(c.snd.max) {
		return fmt.Errorf("%s: SND.UNA %d, SND.NXT %d, highest sent %d: want SND.UNA =< SND.NXT =< highest sent", c.state, c.snd.una, c.snd.nxt, c.snd.max)
	}
	// The send buffer starts at SND.UNA; at ISS+1 while the SYN is
	// unacknowledged, and at its (empty) end once the FIN is.
	switch {
	case c.snd.una == c.snd.iss:
		if c.snd.buf.seq != c.snd.iss.Add(1) {
			return fmt.Errorf("%s: SYN unacknowledged, but the send buffer starts at %d, not ISS+1 %d", c.state, c.snd.buf.seq, c.snd.iss.Add(1))
		}
	case c.snd.finQueued && c.snd.una == c.snd.buf.end().Add(1):
		if c.snd.buf.len() != 0 {
			return fmt.Errorf("%s: FIN acknowledged, but %d octets are left in the send buffer", c.state, c.snd.buf.len())
		}
	case c.snd.buf.seq != c.snd.una:
		return fmt.Errorf("%s: send buffer starts at %d, SND.UNA is %d", c.state, c.snd.buf.seq, c.snd.una)
	}
	if c.snd.max.GreaterThan(c.snd.buf.end().Add(1)) {
		return fmt.Errorf("%s: sent up to %d, but the send buffer ends at %d", c.state, c.snd.max, c.snd.buf.end())
	}
	if c.snd.buf.len() > c.snd.buf.limit {
		return fmt.Errorf("%s: send buffer holds %d, limit %d", c.state, c.snd.buf.len(), c.snd.buf.limit)
	}
	slack := 0
	if c.wsOK {
		slack = 1<<c.rcv.shift - 1
	}
	if c.rcv.buf.len() > c.rcv.buf.limit+slack {
		return fmt.Errorf("%s: receive buffer holds %d, limit %d", c.state, c.rcv.buf.len(), c.rcv.buf.limit)
	}
	if c.state == SynSent {
		return nil // nothing received yet
	}
	prev := c.rcv.nxt
	for i, s := range c.rcv.buf.ooo {
		end := s.seq.Add(uint32(len(s.data)))
		switch {
		case len(s.data) == 0:
			return fmt.Errorf("%s: out-of-order block %d is empty", c.state, i)
		case i == 0 && !s.seq.GreaterThan(c.rcv.nxt):
			return fmt.Errorf("%s: out-of-order data at %d, not above RCV.NXT %d", c.state, s.seq, c.rcv.nxt)
		case s.seq.LessThan(prev):
			return fmt.Errorf("%s: out-of-order block %d at %d overlaps the one before, which ends at %d", c.state, i, s.seq, prev)
		case end.GreaterThan(c.rcv.edge):
			return fmt.Errorf("%s: out-of-order block %d ends at %d, past the window's edge %d", c.state, i, end, c.rcv.edge)
		}
		prev = end
	}
	if k, at := c.timers.next(1 << timerClose); c.state == TimeWait && !at.IsZero() {
		return fmt.Errorf("TIME-WAIT with timer %d at %v", k, at)
	}
	return nil
}
