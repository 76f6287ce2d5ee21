package tcp

// sendBuffer holds the bytes the user has sent and the peer has not yet
// acknowledged, from seq (the sequence number of the first byte) on.
type sendBuffer struct {
	byteQueue
	seq Seq // sequence number of the first live byte
}

func (b *sendBuffer) end() Seq { return b.seq.Add(uint32(b.len())) }

// write appends as much of p as fits, in the limit and in the storage
// mem grants a promise (see Budget.Take), and returns how much that was.
func (b *sendBuffer) write(mem *Budget, floor int, p []byte) int {
	return b.push(mem, floor, GrantPromise, p)
}

// slice returns up to n bytes starting at sequence number from.
func (b *sendBuffer) slice(from Seq, n int) []byte {
	off := int(b.seq.Size(from))
	if off >= b.len() {
		return nil
	}
	p := b.bytes(off)
	return p[:min(n, len(p))]
}

// ack drops every byte before upTo.
func (b *sendBuffer) ack(upTo Seq) {
	if !upTo.GreaterThan(b.seq) {
		return
	}
	n := min(int(b.seq.Size(upTo)), b.len())
	b.pop(n)
	b.seq = b.seq.Add(uint32(n))
}
