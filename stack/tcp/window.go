package tcp

import "time"

// The receive window the connection advertises (RFC 9293 §3.8.6.2.2,
// RFC 7323 §2): the free space of the receive buffer, within the budget
// (memory.go), opened in steps and never shrunk (receiver.offer).

// advertise computes SEG.WND for an outgoing segment and records the
// right edge it offers.
func (c *Conn) advertise() uint16 {
	wnd := c.rcvSpace()
	if c.mem != nil {
		var clamped bool
		wnd, clamped = c.rcvWindowClamped()
		c.noteWindow(clamped)
	}
	return c.rcv.offer(wnd, c.windowStep(), c.windowShift())
}

// windowShift is the scale of the windows we advertise: ours if both SYNs
// carried the option (RFC 7323 §2.2), else none.
func (c *Conn) windowShift() uint8 {
	if !c.wsOK {
		return 0
	}
	return c.rcv.shift
}

// windowStep is the smallest opening of the receive window worth
// advertising: min(buffer/2, MSS) (RFC 9293 §3.8.6.2.2).
func (c *Conn) windowStep() uint32 {
	return min(uint32(c.rcv.buf.limit/2), uint32(c.cfg.MSS))
}

// maybeWindowUpdate sends a window update when reading opened the window
// by enough to matter (RFC 9293 §3.8.6.2.2).
func (c *Conn) maybeWindowUpdate(now time.Time) {
	if c.windowUpdateDue() {
		c.emit(now, c.header(now, c.snd.nxt, FlagACK), ReasonWindowUpdate)
	}
}

// windowUpdateDue reports whether the window we could advertise now
// reaches past the one we last advertised by at least windowStep.
func (c *Conn) windowUpdateDue() bool {
	switch c.state {
	case Established, FinWait1, FinWait2:
	default:
		return false
	}
	wnd := c.rcvSpace()
	if c.mem != nil {
		wnd = c.budgetedWindow()
	}
	return c.rcv.opens(wnd, c.windowStep(), c.windowShift())
}
