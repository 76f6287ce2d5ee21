package tcp

// recvBuffer holds received bytes the user has not read yet, in order, and
// the segments that arrived ahead of RCV.NXT. Out-of-order data is kept
// only inside the advertised window, so the memory it uses is bounded by
// the buffer size.
type recvBuffer struct {
	data  []byte // data[head:] is unread
	head  int
	limit int
	ooo   []oooSegment // sorted by seq, not overlapping
}

// oooSegment is data that arrived beyond RCV.NXT.
type oooSegment struct {
	seq  Seq
	data []byte
	fin  bool
}

func (b *recvBuffer) len() int   { return len(b.data) - b.head }
func (b *recvBuffer) space() int { return b.limit - b.len() }

func (b *recvBuffer) write(p []byte) {
	if b.data == nil {
		b.data = make([]byte, 0, b.limit)
	}
	if len(b.data)+len(p) > cap(b.data) {
		live := copy(b.data, b.data[b.head:])
		b.data = b.data[:live]
		b.head = 0
	}
	b.data = append(b.data, p...)
}

func (b *recvBuffer) read(p []byte) int {
	n := copy(p, b.data[b.head:])
	b.head += n
	if b.head == len(b.data) {
		b.data = b.data[:0]
		b.head = 0
	}
	return n
}

// queue stores a segment that starts after RCV.NXT. Overlaps with queued
// data keep the bytes already queued (they are identical in a correct peer).
func (b *recvBuffer) queue(seq Seq, p []byte, fin bool) {
	end := seq.Add(uint32(len(p)))
	i := 0
	for i < len(b.ooo) && b.ooo[i].seq.LessThan(seq) {
		i++
	}
	// Trim against the previous segment.
	if i > 0 {
		prev := &b.ooo[i-1]
		prevEnd := prev.seq.Add(uint32(len(prev.data)))
		if prevEnd.GreaterThanEq(end) && !fin {
			return
		}
		if prevEnd.GreaterThan(seq) {
			cut := int(seq.Size(prevEnd))
			if cut > len(p) {
				cut = len(p)
			}
			p = p[cut:]
			seq = seq.Add(uint32(cut))
		}
	}
	// Trim against the next segment.
	if i < len(b.ooo) {
		next := b.ooo[i].seq
		if next.LessThan(end) {
			p = p[:seq.Size(next)]
			fin = false
		}
		if next == seq && len(p) == 0 {
			return
		}
	}
	if len(p) == 0 && !fin {
		return
	}
	b.ooo = append(b.ooo, oooSegment{})
	copy(b.ooo[i+1:], b.ooo[i:])
	b.ooo[i] = oooSegment{seq: seq, data: append([]byte(nil), p...), fin: fin}
}

// pull moves queued segments that now start at or before rcvNxt into the
// in-order data. It returns the new RCV.NXT and whether a FIN was reached.
func (b *recvBuffer) pull(rcvNxt Seq) (Seq, bool) {
	fin := false
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
		if s.fin {
			fin = true
			break
		}
	}
	if n > 0 {
		b.ooo = append(b.ooo[:0], b.ooo[n:]...)
	}
	if fin {
		b.ooo = b.ooo[:0]
	}
	return rcvNxt, fin
}

func (b *recvBuffer) queuedBytes() int {
	n := 0
	for _, s := range b.ooo {
		n += len(s.data)
	}
	return n
}
