package tcp

// SACK blocks for the ACKs we send (RFC 2018 §4, D-SACK of RFC 2883): the
// first block holds the segment that triggered the ACK, the others repeat
// the most recently reported blocks first; a duplicate segment is reported
// once, as a first block of its own (RFC 2883 §4).

// sackBlocks fills o with the blocks to report now.
func (c *Conn) sackBlocks(o *Options) {
	k, first := 0, 0 // o.SACK[:first] is a D-SACK block
	if c.rcv.hasDSACK {
		o.SACK[0] = c.rcv.dsack
		k, first = 1, 1
		c.rcv.hasDSACK = false
	}
	add := func(left, right Seq) {
		if k == MaxSACKBlocks {
			return
		}
		for j := first; j < k; j++ {
			if o.SACK[j].Left == left {
				return
			}
		}
		o.SACK[k] = SACKBlock{left, right}
		k++
	}
	// The blocks that held the most recent out-of-order segments, most
	// recent first; then any others, from the highest down.
	for _, seq := range c.rcv.recentOOO[:c.rcv.numRecentOOO] {
		if i := c.oooIndex(seq); i >= 0 {
			add(c.oooRange(i))
		}
	}
	for i := len(c.rcv.buf.ooo) - 1; i >= 0 && k < MaxSACKBlocks; i-- {
		add(c.oooRange(i))
	}
	o.NumSACK = uint8(k)
}

// noteOOO records that an out-of-order segment starting at seq arrived:
// its block is now the most recent. Older entries that fell into the
// same block make room for other blocks.
func (c *Conn) noteOOO(seq Seq) {
	i := c.oooIndex(seq)
	if i < 0 {
		return
	}
	left, right := c.oooRange(i)
	older := c.rcv.recentOOO // a copy
	c.rcv.recentOOO[0] = seq
	n := 1
	for _, old := range older[:c.rcv.numRecentOOO] {
		if n < len(c.rcv.recentOOO) && !old.InRange(left, right) {
			c.rcv.recentOOO[n] = old
			n++
		}
	}
	c.rcv.numRecentOOO = uint8(n)
}

// oooIndex is the index of the queued piece that holds seq, or -1.
func (c *Conn) oooIndex(seq Seq) int {
	for i := range c.rcv.buf.ooo {
		if seq.InRange(c.rcv.buf.ooo[i].seq, c.rcv.buf.ooo[i].seq.Add(uint32(len(c.rcv.buf.ooo[i].data)))) {
			return i
		}
	}
	return -1
}

// oooRange is the contiguous block of queued data around piece i.
func (c *Conn) oooRange(i int) (Seq, Seq) {
	q := c.rcv.buf.ooo
	lo, hi := i, i
	for lo > 0 && q[lo-1].seq.Add(uint32(len(q[lo-1].data))) == q[lo].seq {
		lo--
	}
	for hi+1 < len(q) && q[hi].seq.Add(uint32(len(q[hi].data))) == q[hi+1].seq {
		hi++
	}
	return q[lo].seq, q[hi].seq.Add(uint32(len(q[hi].data)))
}
