package stack

// echo is the echo service (RFC 862) on one of the stack's own
// connections: it moves the bytes from the receive queue to the send
// queue under the connection's lock, and returns at the peer's FIN (the
// caller then closes, so its FIN follows the data) or when the connection
// fails. io.Copy would hold a 32 KiB buffer of its own per connection, full
// while its Write waits on a peer that does not read: 64 MiB for 2,000
// such peers, outside the buffer budget. Here every byte stays in the
// queues the budget bounds.
func (c *Conn) echo() {
	counted := false
	for {
		c.mu.Lock()
		if c.writeErrLocked() != nil {
			c.mu.Unlock()
			return
		}
		if c.recv.Len() > 0 {
			if c.recv.MoveTo(c.s.mem, &c.send) > 0 {
				c.recv.ReleaseIfIdle(c.s.mem)
				c.mu.Unlock()
				c.s.wakeConn(c) // to send it, and to refill recv
				continue
			}
			if !counted && c.send.Clamped(c.s.mem) {
				counted = true // as Write counts a writer the budget holds back
				c.s.memory.writersBlocked.Add(1)
			}
		} else if c.readClosed || c.err != nil || c.peerClosed || c.finished {
			c.mu.Unlock()
			return
		}
		changed := c.waitLocked()
		c.mu.Unlock()
		<-changed
	}
}
