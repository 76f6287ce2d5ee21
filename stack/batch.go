package stack

// One read from the link can carry a burst of segments for a connection:
// the kernel's 64 KiB TSO super-packet, split. Each connection hears of
// the burst (tcp.Conn.InputBurst) and acknowledges it once at its end,
// instead of every second segment: a TUN write saved per two segments.

// batch notes that c gets segments from the current read.
func (s *Stack) batch(c *Conn) {
	if !c.inBatch {
		c.inBatch = true
		s.batched = append(s.batched, c)
	}
}

// endBatch ends the burst for every connection that had one.
func (s *Stack) endBatch() {
	for i, c := range s.batched {
		s.batched[i] = nil
		// Service first: the burst's data moves to the application's
		// queue, so the ACK that ends the burst advertises the window
		// that frees. Its timer is scheduled after the Flush: until
		// then the held ACK is due at once, and the wheel would take
		// it in only to let it go again.
		s.service(c)
		c.inBatch = false
		if !c.removed {
			c.engine.Flush(s.now)
			s.timers.schedule(c, c.engine.Deadline())
		}
	}
	s.batched = s.batched[:0]
}
