package tcp

// SACK blocks for the ACKs we send (RFC 2018 §4, D-SACK of RFC 2883): the
// first block holds the segment that triggered the ACK; a duplicate
// segment is reported once as a first block below RCV.NXT.

// sackBlocks fills o with the blocks to report now.
func (c *Conn) sackBlocks(o *Options) {
	k := 0
	if c.hasDSACK {
		o.SACK[0] = c.dsack
		k = 1
		c.hasDSACK = false
	}
	// The block holding the most recent out-of-order segment first, then
	// the others from the highest down.
	first := -1
	if c.hasLastOOO {
		for i := range c.rcv.ooo {
			if c.lastOOO.InRange(c.rcv.ooo[i].seq, c.rcv.ooo[i].seq.Add(uint32(len(c.rcv.ooo[i].data)))) {
				first = i
				break
			}
		}
	}
	add := func(i int) {
		if k == MaxSACKBlocks {
			return
		}
		left, right := c.oooRange(i)
		for j := 0; j < k; j++ {
			if o.SACK[j].Left == left {
				return
			}
		}
		o.SACK[k] = SACKBlock{left, right}
		k++
	}
	if first >= 0 {
		add(first)
	}
	for i := len(c.rcv.ooo) - 1; i >= 0 && k < MaxSACKBlocks; i-- {
		add(i)
	}
	o.NumSACK = uint8(k)
}

// oooRange is the contiguous block of queued data around piece i.
func (c *Conn) oooRange(i int) (Seq, Seq) {
	q := c.rcv.ooo
	lo, hi := i, i
	for lo > 0 && q[lo-1].seq.Add(uint32(len(q[lo-1].data))) == q[lo].seq {
		lo--
	}
	for hi+1 < len(q) && q[hi].seq.Add(uint32(len(q[hi].data))) == q[hi+1].seq {
		hi++
	}
	return q[lo].seq, q[hi].seq.Add(uint32(len(q[hi].data)))
}
