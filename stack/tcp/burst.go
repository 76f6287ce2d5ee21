package tcp

import "time"

// Output leaves a connection as its calls make it, at once, with two
// exceptions that let an owner put more in one segment: a burst of
// segments that arrived together is acknowledged once (InputBurst), and
// data queued right before a CLOSE leaves with the FIN (SendMore). Both
// hold output back for Flush, which any call that sends also does; and
// held output is due at once (Deadline), so that an owner that forgets
// Flush, or calls in an unexpected order, delays it by a timer tick and
// never loses it. CheckInvariants reports an ACK owed that nothing will
// send, and an owner's tests check that no connection holds output at
// the end of its loop turn (Held).

// InputBurst is Input for one of a burst of segments that arrived
// together (one read from the link): the ACK it owes and that nothing
// else carries waits for Flush, so that the burst is acknowledged once, as
// by a receiver whose device coalesces segments (GRO). Data, ACKs for
// unacceptable segments, RSTs and challenges still go out at once, and a
// FIN ends the burst.
func (c *Conn) InputBurst(now time.Time, seg *Segment) {
	c.burst = true
	c.Input(now, seg)
	c.burst = false
}

// SendMore is Send for data that more will follow at once, as Linux's
// MSG_MORE: it queues p and sends nothing, so that Close or CloseSend
// right after sends the data and the FIN in one segment. Flush sends what
// no FIN followed.
func (c *Conn) SendMore(now time.Time, p []byte) (int, error) {
	n, err := c.send(p)
	if n > 0 && (c.state == Established || c.state == CloseWait) {
		c.hold(now)
	}
	return n, err
}

// Flush sends what InputBurst and SendMore held back.
func (c *Conn) Flush(now time.Time) {
	switch {
	case !c.timers.running(timerFlush):
	case c.snd.nxt.LessThan(c.snd.dataEnd()) || c.snd.finQueued:
		c.output(now) // SendMore's data, or what a CLOSE left to send
	default: // only the burst's ACK
		c.timers.stop(timerFlush)
		if c.ackNow {
			c.sendAck(now, c.ackWhy)
		}
	}
}

// Held reports whether output is held back for Flush.
func (c *Conn) Held() bool { return c.timers.running(timerFlush) }
