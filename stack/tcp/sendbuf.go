package tcp

// sendBuffer holds the bytes the user has sent and the peer has not yet
// acknowledged: from seq (the sequence number of the first byte) on. It is
// one contiguous slice so a segment's payload never needs a copy; acked
// bytes are dropped from the front and the rest moved down only when the
// dead space is larger than what is live.
type sendBuffer struct {
	buf   []byte // buf[head:] is live
	head  int
	limit int
	seq   Seq // sequence number of buf[head]
}

func (b *sendBuffer) len() int   { return len(b.buf) - b.head }
func (b *sendBuffer) space() int { return b.limit - b.len() }
func (b *sendBuffer) end() Seq   { return b.seq.Add(uint32(b.len())) }

// write appends as much of p as fits and returns how much that was.
func (b *sendBuffer) write(p []byte) int {
	n := min(len(p), b.space())
	if n == 0 {
		return 0
	}
	if b.buf == nil {
		b.buf = make([]byte, 0, b.limit)
	}
	if len(b.buf)+n > cap(b.buf) {
		live := copy(b.buf, b.buf[b.head:])
		b.buf = b.buf[:live]
		b.head = 0
	}
	b.buf = append(b.buf, p[:n]...)
	return n
}

// slice returns up to n bytes starting at sequence number from.
func (b *sendBuffer) slice(from Seq, n int) []byte {
	off := b.head + int(b.seq.Size(from))
	if off >= len(b.buf) {
		return nil
	}
	return b.buf[off:min(off+n, len(b.buf))]
}

// ack drops every byte before upTo.
func (b *sendBuffer) ack(upTo Seq) {
	if !upTo.GreaterThan(b.seq) {
		return
	}
	n := min(int(b.seq.Size(upTo)), b.len())
	b.head += n
	b.seq = b.seq.Add(uint32(n))
	if b.head == len(b.buf) {
		b.buf = b.buf[:0]
		b.head = 0
	}
}
