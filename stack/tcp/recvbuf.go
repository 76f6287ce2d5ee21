package tcp

import "time"

// recvBuffer holds received bytes the user has not read yet, in order, and
// the segments that arrived ahead of RCV.NXT. Out-of-order data is kept
// only inside the advertised window, so the memory it uses is bounded by
// the buffer size.
type recvBuffer struct {
	byteQueue
	ooo []oooSegment // sorted by seq, not overlapping
	// A FIN that arrived ahead of RCV.NXT, at finSeq.
	fin    bool
	finSeq Seq
}

// oooSegment is data that arrived beyond RCV.NXT.
type oooSegment struct {
	seq  Seq
	data []byte
}

// write appends in-order data. The window keeps it within the limit, but
// for the rounding of a scaled window (less than 2^14 octets), which the
// buffer takes over its limit rather than lose.
func (b *recvBuffer) write(p []byte) {
	if over := len(p) - b.space(); over > 0 {
		b.limit += over
		b.push(p)
		b.limit -= over
		return
	}
	b.push(p)
}

// read copies unread data into p.
func (b *recvBuffer) read(p []byte) int {
	n := copy(p, b.bytes(0))
	b.pop(n)
	return n
}

// queue stores a segment that starts after RCV.NXT. Bytes already queued
// are kept (a correct peer sends the same bytes again); only the parts of p
// not yet covered are added, so the queue never overlaps itself. It returns
// the first run of p that was queued already, if any: a duplicate.
func (b *recvBuffer) queue(seq Seq, p []byte, fin bool) (dup SACKBlock, hadDup bool) {
	end := seq.Add(uint32(len(p)))
	if fin {
		b.fin, b.finSeq = true, end
	}
	if len(p) == 0 {
		return SACKBlock{}, false
	}
	merged := make([]oooSegment, 0, len(b.ooo)+1)
	cur := seq
	for _, e := range b.ooo {
		eEnd := e.seq.Add(uint32(len(e.data)))
		if l, r := seq.Max(e.seq), end.Min(eEnd); !hadDup && l.LessThan(r) {
			dup, hadDup = SACKBlock{l, r}, true
		}
		if cur.LessThan(end) && cur.LessThan(e.seq) {
			pieceEnd := end.Min(e.seq)
			merged = append(merged, b.piece(seq, p, cur, pieceEnd))
			cur = pieceEnd
		}
		merged = append(merged, e)
		if cur.LessThan(eEnd) {
			cur = eEnd
		}
	}
	if cur.LessThan(end) {
		merged = append(merged, b.piece(seq, p, cur, end))
	}
	b.ooo = merged
	return dup, hadDup
}

// piece copies p's bytes from sequence number from to to.
func (b *recvBuffer) piece(seq Seq, p []byte, from, to Seq) oooSegment {
	off := seq.Size(from)
	return oooSegment{seq: from, data: append([]byte(nil), p[off:off+from.Size(to)]...)}
}

// pull moves queued segments that now start at or before rcvNxt into the
// in-order data. It returns the new RCV.NXT and whether the FIN that was
// queued is now next in sequence.
func (b *recvBuffer) pull(rcvNxt Seq) (Seq, bool) {
	n := 0
	for _, s := range b.ooo {
		if s.seq.GreaterThan(rcvNxt) {
			break
		}
		n++
		end := s.seq.Add(uint32(len(s.data)))
		if end.GreaterThan(rcvNxt) {
			b.write(s.data[s.seq.Size(rcvNxt):])
			rcvNxt = end
		}
	}
	if n > 0 {
		b.ooo = append(b.ooo[:0], b.ooo[n:]...)
	}
	if b.fin && b.finSeq == rcvNxt {
		b.fin = false
		b.ooo = b.ooo[:0]
		return rcvNxt, true
	}
	return rcvNxt, false
}

// autotune is receive-window auto-tuning (dynamic right-sizing): once per
// RTT, if the application read more than half the buffer, the sender is
// limited by our window, so the buffer grows to twice what was read, up to
// MaxReceiveBuffer.
func (c *Conn) autotune(now time.Time, n int) {
	if c.rcv.limit >= c.cfg.MaxReceiveBuffer || !c.rtt.hasSample {
		return
	}
	if c.rcvSpaceStart.IsZero() {
		c.rcvSpaceStart = now
	}
	c.rcvSpaceRead += n
	rtt := max(c.rtt.srtt, c.rack.minRTT, clockGranularity)
	if now.Sub(c.rcvSpaceStart) < rtt {
		return
	}
	if 2*c.rcvSpaceRead > c.rcv.limit {
		c.rcv.limit = min(2*c.rcvSpaceRead, c.cfg.MaxReceiveBuffer)
	}
	c.rcvSpaceStart, c.rcvSpaceRead = now, 0
}
