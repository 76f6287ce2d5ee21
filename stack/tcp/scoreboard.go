package tcp

import "time"

// txSegment is one segment sent and not yet cumulatively acknowledged.
type txSegment struct {
	start, end Seq // the octets (and FIN) it carries
	sentAt     time.Time
	xmits      uint16 // transmissions so far
	sacked     bool   // the peer has it (RFC 2018)
	lost       bool   // judged lost and not retransmitted since
}

func (s *txSegment) size() uint32 { return s.start.Size(s.end) }

// scoreboard is the sender's record of what is in flight, one entry per
// segment in sequence order: the scoreboard of RFC 6675 §3 with the
// per-segment send times RACK needs (RFC 8985 §5.2). It holds at most a
// window of segments; entries leave from the front as ACKs arrive.
type scoreboard struct {
	segs        []txSegment // segs[head:] are live
	head        int
	sackedBytes uint32
	lostBytes   uint32 // lost and waiting for retransmission
	// lostFrom is an index into segs below which no segment is lost:
	// firstLost starts there, so that sending in recovery does not scan
	// the whole window for every segment.
	lostFrom int
}

func (b *scoreboard) len() int            { return len(b.segs) - b.head }
func (b *scoreboard) at(i int) *txSegment { return &b.segs[b.head+i] }
func (b *scoreboard) empty() bool         { return b.head == len(b.segs) }
func (b *scoreboard) inFlight(outstanding uint32) uint32 {
	// "pipe" of RFC 6675 §4: what is outstanding less what the peer has
	// and what is judged lost.
	gone := b.sackedBytes + b.lostBytes
	if gone > outstanding {
		return 0
	}
	return outstanding - gone
}

// add records a new segment sent at now.
func (b *scoreboard) add(start, end Seq, now time.Time) {
	if b.head > 32 && b.head > len(b.segs)/2 {
		n := copy(b.segs, b.segs[b.head:])
		b.segs = b.segs[:n]
		b.lostFrom = max(b.lostFrom-b.head, 0)
		b.head = 0
	}
	b.segs = append(b.segs, txSegment{start: start, end: end, sentAt: now, xmits: 1})
}

// ackTo drops everything before ack, trimming a segment it splits, and
// calls delivered for each segment the ACK newly delivered in full.
func (b *scoreboard) ackTo(ack Seq, delivered func(*txSegment)) {
	for !b.empty() {
		s := b.at(0)
		if s.end.LessThanEq(ack) {
			if s.sacked {
				b.sackedBytes -= s.size()
			} else {
				delivered(s)
			}
			if s.lost {
				b.lostBytes -= s.size()
			}
			b.head++
			continue
		}
		if s.start.LessThan(ack) {
			cut := s.start.Size(ack)
			if s.sacked {
				b.sackedBytes -= cut
			}
			if s.lost {
				b.lostBytes -= cut
			}
			s.start = ack
		}
		break
	}
	if b.empty() {
		b.segs = b.segs[:0]
		b.head, b.lostFrom = 0, 0
	}
}

// markSACKed marks every segment that lies inside one of the blocks and
// calls delivered for each newly marked one. Blocks that do not lie in
// SND.UNA..SND.MAX are ignored (D-SACK blocks, RFC 2883, and bogus ones).
func (b *scoreboard) markSACKed(blocks []SACKBlock, sndUna, sndMax Seq, delivered func(*txSegment)) {
	for _, blk := range blocks {
		if !sndUna.LessThan(blk.Right) || !blk.Left.LessThan(blk.Right) || blk.Left.LessThan(sndUna) || blk.Right.GreaterThan(sndMax) {
			continue
		}
		for i := b.search(blk.Left); i < b.len(); i++ {
			s := b.at(i)
			if s.start.GreaterThanEq(blk.Right) {
				break
			}
			if s.sacked || s.start.LessThan(blk.Left) || s.end.GreaterThan(blk.Right) {
				continue
			}
			s.sacked = true
			b.sackedBytes += s.size()
			if s.lost {
				s.lost = false
				b.lostBytes -= s.size()
			}
			delivered(s)
		}
	}
}

// search returns the index of the first segment that ends after seq.
func (b *scoreboard) search(seq Seq) int {
	lo, hi := 0, b.len()
	for lo < hi {
		mid := (lo + hi) / 2
		if b.at(mid).end.LessThanEq(seq) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

func (b *scoreboard) markLost(s *txSegment) {
	if !s.lost && !s.sacked {
		s.lost = true
		b.lostBytes += s.size()
		b.lostFrom = min(b.lostFrom, b.head+b.search(s.start))
	}
}

// markAllLost is the retransmission time-out's view: everything not
// SACKed is lost (RFC 6675 §5.1, RFC 8985 §6.3).
func (b *scoreboard) markAllLost() {
	for i := 0; i < b.len(); i++ {
		b.markLost(b.at(i))
	}
}

// firstLost is the lowest segment waiting for retransmission, or nil.
func (b *scoreboard) firstLost() *txSegment {
	if b.lostBytes == 0 {
		return nil
	}
	for i := max(b.lostFrom, b.head); i < len(b.segs); i++ {
		if s := &b.segs[i]; s.lost {
			b.lostFrom = i
			return s
		}
	}
	return nil
}

// retransmitted records that s went out again at now.
func (b *scoreboard) retransmitted(s *txSegment, now time.Time) {
	if s.lost {
		s.lost = false
		b.lostBytes -= s.size()
	}
	s.xmits++
	s.sentAt = now
}

// last is the highest segment in flight, or nil.
func (b *scoreboard) last() *txSegment {
	if b.empty() {
		return nil
	}
	return b.at(b.len() - 1)
}

// holds counts the gaps between SND.UNA and the highest SACKed octet.
func (b *scoreboard) holes() int {
	holes, inHole := 0, false
	for i := 0; i < b.len(); i++ {
		s := b.at(i)
		if !s.sacked && !inHole {
			inHole = true
		}
		if s.sacked && inHole {
			holes++
			inHole = false
		}
	}
	return holes
}

// reset forgets everything (the connection is gone).
func (b *scoreboard) reset() { *b = scoreboard{segs: b.segs[:0]} }

// split cuts every segment larger than mss into pieces of at most mss,
// after the path MTU fell.
func (b *scoreboard) split(mss uint32) {
	var out []txSegment
	for i := 0; i < b.len(); i++ {
		s := *b.at(i)
		for s.size() > mss {
			piece := s
			piece.end = s.start.Add(mss)
			out = append(out, piece)
			s.start = piece.end
		}
		out = append(out, s)
	}
	b.segs, b.head, b.lostFrom = out, 0, 0
}
