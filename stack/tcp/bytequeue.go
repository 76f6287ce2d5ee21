package tcp

// byteQueue is a FIFO of bytes in one contiguous slice, so a segment's
// payload is always a sub-slice and never needs a copy. Bytes leave from
// the front; the live bytes are moved down only once the space they left
// is at least as large as what is live, so each byte is moved O(1) times.
// The slice grows on demand up to twice the limit, so an idle connection
// holds little memory.
type byteQueue struct {
	buf   []byte // buf[head:] is live
	head  int
	limit int
}

func (q *byteQueue) len() int   { return len(q.buf) - q.head }
func (q *byteQueue) space() int { return q.limit - q.len() }

// bytes returns the live bytes from offset off on.
func (q *byteQueue) bytes(off int) []byte { return q.buf[q.head+off:] }

// push appends as much of p as fits under the limit and returns how much.
func (q *byteQueue) push(p []byte) int {
	n := min(len(p), q.space())
	if n == 0 {
		return 0
	}
	if len(q.buf)+n > cap(q.buf) {
		live := q.len()
		if q.head >= live && live+n <= cap(q.buf) {
			copy(q.buf, q.buf[q.head:])
			q.buf = q.buf[:live]
		} else {
			grown := make([]byte, live, min(max(2*(live+n), 4096), 2*q.limit))
			copy(grown, q.buf[q.head:])
			q.buf = grown
		}
		q.head = 0
	}
	q.buf = append(q.buf, p[:n]...)
	return n
}

// pop drops n bytes from the front.
func (q *byteQueue) pop(n int) {
	q.head += n
	if q.head >= len(q.buf) {
		q.buf = q.buf[:0]
		q.head = 0
	}
}
