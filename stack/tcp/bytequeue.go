package tcp

// byteQueue is a FIFO of bytes in one contiguous slice, so a segment's
// payload is always a sub-slice and never needs a copy. Bytes leave from
// the front; the live bytes are moved down only once the space they left
// is at least as large as what is live, so each byte is moved O(1) times.
// The storage comes from a Budget and grows on demand up to about twice
// the limit, so an idle connection holds little memory; when the budget
// refuses more, the queue makes do with the storage it has.
type byteQueue struct {
	buf   []byte // buf[head:] is live; buf starts where its storage starts
	head  int
	limit int
}

func (q *byteQueue) len() int   { return len(q.buf) - q.head }
func (q *byteQueue) space() int { return q.limit - q.len() }

// bytes returns the live bytes from offset off on.
func (q *byteQueue) bytes(off int) []byte { return q.buf[q.head+off:] }

// held is the storage the queue holds.
func (q *byteQueue) held() int { return cap(q.buf) }

// push appends as much of p as fits under the limit and in the storage
// mem grants (how, floor: see Budget.Take), and returns how much.
func (q *byteQueue) push(mem *Budget, floor int, how Grant, p []byte) int {
	n := min(len(p), q.space())
	if n <= 0 {
		return 0
	}
	if len(q.buf)+n > cap(q.buf) {
		n = q.makeRoom(mem, floor, how, n)
	}
	q.buf = append(q.buf, p[:n]...)
	return n
}

// makeRoom makes room for n more bytes after the live ones, by moving
// them down or taking larger storage, and returns how many fit.
func (q *byteQueue) makeRoom(mem *Budget, floor int, how Grant, n int) int {
	live := q.len()
	if q.head >= live && live+n <= cap(q.buf) {
		q.compact()
		return n
	}
	// Twice what is needed, so that growing is rare; or, if the budget
	// will not have that, what is needed.
	for i, size := range []int{max(min(2*(live+n), 2*q.limit), live+n, 4096), live + n} {
		if size <= cap(q.buf) {
			break
		}
		grant := how
		if i == 0 && how == GrantMove {
			// A move may go over the budget for what it must hold,
			// never for room to grow into.
			grant = GrantStore
		}
		if buf, ok := mem.Take(cap(q.buf), size, floor, grant); ok {
			copy(buf, q.buf[q.head:])
			mem.Release(q.buf)
			q.buf, q.head = buf[:live], 0
			return n
		}
	}
	q.compact()
	return min(n, cap(q.buf)-live)
}

// compact moves the live bytes to the front of the storage.
func (q *byteQueue) compact() {
	if q.head == 0 {
		return
	}
	live := copy(q.buf, q.buf[q.head:])
	q.buf, q.head = q.buf[:live], 0
}

// pop drops n bytes from the front.
func (q *byteQueue) pop(n int) {
	q.head += n
	if q.head >= len(q.buf) {
		q.buf = q.buf[:0]
		q.head = 0
	}
}

// release gives the storage back to mem; the queue must be empty.
func (q *byteQueue) release(mem *Budget) {
	mem.Release(q.buf)
	q.buf, q.head = nil, 0
}
