package tcp

// SACK blocks for the ACKs we send (RFC 2018 §4, D-SACK of RFC 2883): the
// first block holds the segment that triggered the ACK, the others repeat
// the most recently reported blocks first; a duplicate segment is reported
// once, as a first block of its own (RFC 2883 §4).

// sackBlocks fills o with the blocks to report now.
func (r *receiver) sackBlocks(o *Options) {
	k, first := 0, 0 // o.SACK[:first] is a D-SACK block
	if r.hasDSACK {
		o.SACK[0] = r.dsack
		k, first = 1, 1
		r.hasDSACK = false
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
	for _, seq := range r.recentOOO[:r.numRecentOOO] {
		if i := r.oooIndex(seq); i >= 0 {
			add(r.oooRange(i))
		}
	}
	for i := len(r.buf.ooo) - 1; i >= 0 && k < MaxSACKBlocks; i-- {
		add(r.oooRange(i))
	}
	o.NumSACK = uint8(k)
}

// noteOOO records that an out-of-order segment starting at seq arrived:
// its block is now the most recent. Older entries that fell into the
// same block make room for other blocks.
func (r *receiver) noteOOO(seq Seq) {
	i := r.oooIndex(seq)
	if i < 0 {
		return
	}
	left, right := r.oooRange(i)
	older := r.recentOOO // a copy
	r.recentOOO[0] = seq
	n := 1
	for _, old := range older[:r.numRecentOOO] {
		if n < len(r.recentOOO) && !old.InRange(left, right) {
			r.recentOOO[n] = old
			n++
		}
	}
	r.numRecentOOO = uint8(n)
}

// oooIndex is the index of the queued piece that holds seq, or -1.
func (r *receiver) oooIndex(seq Seq) int {
	for i := range r.buf.ooo {
		if seq.InRange(r.buf.ooo[i].seq, r.buf.ooo[i].seq.Add(uint32(len(r.buf.ooo[i].data)))) {
			return i
		}
	}
	return -1
}

// oooRange is the contiguous block of queued data around piece i.
func (r *receiver) oooRange(i int) (Seq, Seq) {
	q := r.buf.ooo
	lo, hi := i, i
	for lo > 0 && q[lo-1].seq.Add(uint32(len(q[lo-1].data))) == q[lo].seq {
		lo--
	}
	for hi+1 < len(q) && q[hi].seq.Add(uint32(len(q[hi].data))) == q[hi+1].seq {
		hi++
	}
	return q[lo].seq, q[hi].seq.Add(uint32(len(q[hi].data)))
}
