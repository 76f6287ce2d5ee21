package tcp

// This file is how a connection's buffers live within the Budget: how
// much send space and receive window it offers, and when it gives storage
// back.

// floor is the storage each of the connection's buffers keeps whatever
// the budget says: two full segments (at least Floor), so that a
// connection always moves data, and a receiver acknowledging every second
// segment (RFC 9293 §3.8.6.3) still does. New computes it once.
func (c *Conn) floor() int { return int(c.memFloor) }

func floorFor(cfg *Config) int32 { return int32(max(Floor, 2*int(cfg.MSS))) }

// sendSpace is how many more bytes the send buffer takes now: its free
// space under the limit, less what the budget would not let it grow to.
func (c *Conn) sendSpace() int {
	space := c.snd.buf.space()
	if c.mem == nil || c.mem.Roomy(2*c.snd.buf.limit) {
		c.snd.clamped = false
		return space
	}
	allowed := c.mem.Allowance(c.snd.buf.held(), c.floor()) - c.snd.buf.len()
	clamped := allowed < space
	if clamped && !c.snd.clamped {
		c.mem.noteSendClamp()
	}
	c.snd.clamped = clamped
	return max(min(space, allowed), 0)
}

// rcvWindow is the receive window: the free space of the receive buffer,
// no more than the budget lets it grow to.
func (c *Conn) rcvWindow() uint32 {
	if c.mem != nil {
		return c.budgetedWindow()
	}
	return c.rcvSpace()
}

// rcvSpace is the free space of the receive buffer: the window without a
// budget. The hot paths call it, and budgetedWindow only with a budget,
// so that it stays inlined there.
func (c *Conn) rcvSpace() uint32 {
	// Data taken over the limit (a rounded-up scaled window) closes the
	// window; it must not wrap around.
	return uint32(max(c.rcv.buf.space(), 0))
}

func (c *Conn) budgetedWindow() uint32 {
	wnd, _ := c.rcvWindowClamped()
	return wnd
}

// rcvWindowClamped is rcvWindow and whether the budget made it smaller.
func (c *Conn) rcvWindowClamped() (uint32, bool) {
	// Data taken over the limit (a rounded-up scaled window) closes the
	// window; it must not wrap around.
	space := max(c.rcv.buf.space(), 0)
	// Allowance rounds down to a size class: room for twice the limit
	// leaves it above the limit.
	if c.mem == nil || c.mem.Roomy(2*c.rcv.buf.limit) {
		return uint32(space), false
	}
	if allowed := c.mem.Allowance(c.rcv.buf.held(), c.floor()) - c.rcv.buf.len(); allowed < space {
		return uint32(max(allowed, 0)), true
	}
	return uint32(space), false
}

// noteWindow counts the start of a run of windows the budget clamped.
func (c *Conn) noteWindow(clamped bool) {
	if clamped && !c.rcv.clamped {
		c.mem.noteWindowClamp()
	}
	c.rcv.clamped = clamped
}

// releaseIfIdle gives back the storage of a buffer that has emptied, when
// the budget is under pressure (others need it) or the connection is
// closed (nothing will arrive): a busy connection under no pressure keeps
// its storage, and grows it no more than once.
func (c *Conn) releaseIfIdle() {
	if c.rcv.buf.len() == 0 && c.rcv.buf.held() > 0 && (c.state == Closed || c.mem.Pressure()) {
		c.rcv.buf.release(c.mem)
	}
	if c.snd.buf.len() == 0 && c.snd.buf.held() > 0 && c.mem.Pressure() {
		c.snd.buf.release(c.mem)
	}
}

// releaseAfterClose gives back what a CLOSED connection no longer needs:
// the send buffer, the out-of-order data, and the receive buffer unless
// it holds data the user may still read.
func (c *Conn) releaseAfterClose() {
	c.snd.buf.ack(c.snd.buf.end())
	c.snd.buf.release(c.mem)
	c.rcv.buf.releaseOOO(c.mem)
	c.rcv.buf.fin = false
	if c.rcv.buf.len() == 0 {
		c.rcv.buf.release(c.mem)
	}
}

// ReleaseBuffers gives every buffer's storage back to the budget, data
// not yet read included, and takes the connection out of the budget: what
// it holds afterwards, if it is used at all, is not counted. The owner
// calls it when it lets the connection go: once CLOSED, or when it keeps
// only the TIME-WAIT record.
func (c *Conn) ReleaseBuffers() {
	c.snd.buf.ack(c.snd.buf.end())
	c.snd.buf.release(c.mem)
	c.rcv.buf.releaseOOO(c.mem)
	c.rcv.buf.fin = false
	c.rcv.buf.pop(c.rcv.buf.len())
	c.rcv.buf.release(c.mem)
	c.mem.Leave(2)
	c.mem = nil
}

// BufferStorage is how many bytes of storage the connection's buffers
// hold, out-of-order data included.
func (c *Conn) BufferStorage() int {
	n := c.snd.buf.held() + c.rcv.buf.held()
	for _, blk := range c.rcv.buf.ooo {
		n += cap(blk.data)
	}
	return n
}
