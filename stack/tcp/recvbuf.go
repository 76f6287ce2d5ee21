package tcp

import "time"

// recvBuffer holds received bytes the user has not read yet, in order, and
// the data that arrived ahead of RCV.NXT.
//
// Out-of-order data is bounded three ways. Its octets: only what lies
// inside the advertised window is kept (trim cuts the rest), so a
// connection holds at most its window. Its storage: each block of it is
// charged to the Budget, and a block the budget cannot pay for is dropped
// (ReasonRecvBudget). Its blocks: pieces that touch or overlap are
// coalesced into one block, and a segment that would start a block beyond
// maxOOOBlocks is dropped (ReasonOOOLimit), so that a peer sending one
// octet in every other position of the window costs at most that many
// blocks, each found and merged in O(maxOOOBlocks).
//
// Linux bounds the out-of-order queue by memory alone: every segment
// costs its skb's truesize (at least a few hundred octets even for one
// octet of data) against sk_rcvbuf, and when that is exceeded it prunes
// the queue from its highest sequence number down (tcp_prune_ofo_queue),
// reneging on data it already SACKed. FreeBSD bounds it by segments
// (net.inet.tcp.reass.maxqueuelen, 100). Here the block count is bounded
// as FreeBSD's segments are, but after coalescing, so an honest sender's
// in-order runs cost one block each however long; and the newest segment
// is the one dropped, so that data already SACKed is never taken back
// (RFC 2018 §8 allows reneging, but the sender must then keep SACKed data
// until it is cumulatively acknowledged, and retransmits it on a time-out:
// costly for both ends).
type recvBuffer struct {
	byteQueue
	ooo []oooBlock // sorted by seq; blocks neither overlap nor touch
	// A FIN that arrived ahead of RCV.NXT, at finSeq.
	fin    bool
	finSeq Seq
}

// maxOOOBlocks bounds the blocks of out-of-order data of one connection.
const maxOOOBlocks = 64

// oooBlock is data that arrived beyond RCV.NXT, contiguous.
type oooBlock struct {
	seq  Seq
	data []byte // starts where its storage (from the Budget) starts
}

func (b *oooBlock) end() Seq { return b.seq.Add(uint32(len(b.data))) }

// write appends in-order data as far as the storage mem grants (see
// Budget.Take) and returns how much it took. The window keeps the data
// within the limit, but for the rounding of a scaled window (less than
// 2^14 octets), which the buffer takes over its limit rather than lose.
func (b *recvBuffer) write(mem *Budget, floor int, how Grant, p []byte) int {
	if over := len(p) - b.space(); over > 0 {
		b.limit += over
		n := b.push(mem, floor, how, p)
		b.limit -= over
		return n
	}
	return b.push(mem, floor, how, p)
}

// read copies unread data into p.
func (b *recvBuffer) read(p []byte) int {
	n := copy(p, b.bytes(0))
	b.pop(n)
	return n
}

// queue stores a segment that starts after RCV.NXT. Bytes already queued
// are kept (a correct peer sends the same bytes again); only the parts of p
// not yet covered are added, so the queue never overlaps itself. It
// returns the first run of p that was queued already, if any (a
// duplicate), and why the segment was not stored, or ReasonNone.
func (b *recvBuffer) queue(mem *Budget, seq Seq, p []byte, fin bool) (dup SACKBlock, hadDup bool, why Reason) {
	end := seq.Add(uint32(len(p)))
	if len(p) == 0 {
		if fin {
			b.fin, b.finSeq = true, end
		}
		return SACKBlock{}, false, ReasonNone
	}
	// Blocks i..j-1 overlap or touch [seq, end).
	i := 0
	for i < len(b.ooo) && b.ooo[i].end().LessThan(seq) {
		i++
	}
	j := i
	for j < len(b.ooo) && b.ooo[j].seq.LessThanEq(end) {
		if l, r := seq.Max(b.ooo[j].seq), end.Min(b.ooo[j].end()); !hadDup && l.LessThan(r) {
			dup, hadDup = SACKBlock{l, r}, true
		}
		j++
	}
	if i == j {
		why = b.insert(mem, i, seq, p)
	} else {
		why = b.merge(mem, i, j, seq, p)
	}
	if why == ReasonNone && fin {
		b.fin, b.finSeq = true, end
	}
	return dup, hadDup, why
}

// insert makes p, which touches no block, a block of its own at index i.
func (b *recvBuffer) insert(mem *Budget, i int, seq Seq, p []byte) Reason {
	if len(b.ooo) >= maxOOOBlocks {
		return ReasonOOOLimit
	}
	buf, ok := mem.Take(0, len(p), 0, GrantStore)
	if !ok {
		return ReasonRecvBudget
	}
	n := copy(buf, p)
	b.ooo = append(b.ooo, oooBlock{})
	copy(b.ooo[i+1:], b.ooo[i:])
	b.ooo[i] = oooBlock{seq: seq, data: buf[:n]}
	return ReasonNone
}

// merge joins p and blocks i..j-1, which it overlaps or touches, into one
// block; the bytes of the blocks win where they overlap p.
func (b *recvBuffer) merge(mem *Budget, i, j int, seq Seq, p []byte) Reason {
	first := &b.ooo[i]
	lo := seq.Min(first.seq)
	hi := seq.Add(uint32(len(p))).Max(b.ooo[j-1].end())
	size := int(lo.Size(hi))
	if j == i+1 && lo == first.seq {
		// p extends one block at its end (the common case: segments
		// in order after a hole): in place, the storage doubling when
		// it must grow so that each octet is copied O(1) times.
		if size > cap(first.data) {
			buf, ok := mem.Take(cap(first.data), 2*size, 0, GrantStore)
			if !ok {
				buf, ok = mem.Take(cap(first.data), size, 0, GrantStore)
			}
			if !ok {
				return ReasonRecvBudget
			}
			copy(buf, first.data)
			mem.ReleaseExtra(first.data)
			first.data = buf[:len(first.data)]
		}
		// p starts at or before the block's end: only what lies
		// beyond it is new.
		old, had := first.end(), len(first.data)
		first.data = first.data[:size]
		if hi.GreaterThan(old) {
			copy(first.data[had:], p[seq.Size(old):])
		}
		return ReasonNone
	}
	held := 0
	for _, blk := range b.ooo[i:j] {
		held += cap(blk.data)
	}
	buf, ok := mem.Take(held, size, 0, GrantStore)
	if !ok {
		return ReasonRecvBudget
	}
	buf = buf[:size]
	copy(buf[lo.Size(seq):], p)
	for _, blk := range b.ooo[i:j] {
		copy(buf[lo.Size(blk.seq):], blk.data)
		mem.ReleaseExtra(blk.data)
	}
	b.ooo[i] = oooBlock{seq: lo, data: buf}
	b.ooo = append(b.ooo[:i+1], b.ooo[j:]...)
	clear(b.ooo[len(b.ooo) : len(b.ooo)+j-i-1])
	return ReasonNone
}

// pull moves queued blocks that now start at or before rcvNxt into the
// in-order data. It returns the new RCV.NXT and whether the FIN that was
// queued is now next in sequence.
func (b *recvBuffer) pull(mem *Budget, floor int, rcvNxt Seq) (Seq, bool) {
	n := 0
	for n < len(b.ooo) {
		blk := b.ooo[n]
		if blk.seq.GreaterThan(rcvNxt) {
			break
		}
		n++
		if !blk.end().GreaterThan(rcvNxt) {
			mem.ReleaseExtra(blk.data)
			continue
		}
		off := int(blk.seq.Size(rcvNxt))
		if b.len() == 0 {
			// The block becomes the in-order data, without a copy.
			b.release(mem)
			mem.Adopt(blk.data)
			b.buf, b.head = blk.data, off
		} else {
			b.write(mem, floor, GrantMove, blk.data[off:])
			mem.ReleaseExtra(blk.data)
		}
		rcvNxt = blk.end()
	}
	if n > 0 {
		b.dropBlocks(n)
	}
	if b.fin && b.finSeq == rcvNxt {
		b.fin = false
		b.releaseOOO(mem)
		return rcvNxt, true
	}
	return rcvNxt, false
}

// dropBlocks forgets the first n blocks, whose storage is gone.
func (b *recvBuffer) dropBlocks(n int) {
	rest := copy(b.ooo, b.ooo[n:])
	clear(b.ooo[rest:])
	b.ooo = b.ooo[:rest]
	if rest == 0 {
		b.ooo = nil // an idle connection keeps no block array
	}
}

// releaseOOO gives the storage of every out-of-order block back.
func (b *recvBuffer) releaseOOO(mem *Budget) {
	for _, blk := range b.ooo {
		mem.ReleaseExtra(blk.data)
	}
	b.dropBlocks(len(b.ooo))
}

// oooBytes is how many octets of out-of-order data are held.
func (b *recvBuffer) oooBytes() int {
	n := 0
	for _, blk := range b.ooo {
		n += len(blk.data)
	}
	return n
}

// autotune is receive-window auto-tuning (dynamic right-sizing): once per
// RTT, if the application read more than half the buffer, the sender is
// limited by our window, so the buffer grows to twice what was read, up to
// MaxReceiveBuffer; but not while the budget is under pressure.
func (c *Conn) autotune(now time.Time, n int) {
	if c.rcv.buf.limit >= c.cfg.MaxReceiveBuffer || !c.rtt.hasSample {
		return
	}
	if c.rcv.spaceStart.IsZero() {
		c.rcv.spaceStart = now
	}
	c.rcv.spaceRead += n
	rtt := max(c.rtt.srtt, c.rec.rack.minRTT, clockGranularity)
	if now.Sub(c.rcv.spaceStart) < rtt {
		return
	}
	if 2*c.rcv.spaceRead > c.rcv.buf.limit {
		if c.mem.Pressure() {
			c.mem.noteAutotuneHeld()
		} else {
			c.rcv.buf.limit = min(2*c.rcv.spaceRead, c.cfg.MaxReceiveBuffer)
		}
	}
	c.rcv.spaceStart, c.rcv.spaceRead = now, 0
}
