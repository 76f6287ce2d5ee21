package stack

// byteQueue is a bounded FIFO of bytes: the per-connection send and receive
// queues between an application and the event loop. It is a ring whose
// storage starts small on first use and doubles as needed up to the limit,
// so idle connections and short exchanges cost little.
// It is not safe for concurrent use; Conn.mu guards it.
type byteQueue struct {
	buf   []byte
	limit int
	head  int // index of the first byte
	size  int // bytes queued
}

func newByteQueue(limit int) byteQueue { return byteQueue{limit: limit} }

// Len is the number of bytes queued.
func (q *byteQueue) Len() int { return q.size }

// Free is how many more bytes Write would take.
func (q *byteQueue) Free() int { return q.limit - q.size }

// Write appends as much of p as fits and returns how much it took.
func (q *byteQueue) Write(p []byte) int {
	n := min(len(p), q.Free())
	if n == 0 {
		return 0
	}
	if q.size+n > len(q.buf) {
		q.grow(q.size + n)
	}
	tail := (q.head + q.size) % len(q.buf)
	c := copy(q.buf[tail:], p[:n])
	copy(q.buf, p[c:n])
	q.size += n
	return n
}

// WriteSpace returns the free storage right after the queued bytes, up to
// n bytes of it, growing the storage first if that leaves room. It is
// contiguous, so it may be shorter than n (and than Free) when the free
// space wraps around the end of the ring. Commit queues what the caller
// wrote into it: a producer fills the queue without a copy of its own.
func (q *byteQueue) WriteSpace(n int) []byte {
	n = min(n, q.Free())
	if n == 0 {
		return nil
	}
	if q.size+n > len(q.buf) {
		q.grow(q.size + n)
	}
	tail := (q.head + q.size) % len(q.buf)
	if tail+n > len(q.buf) && q.head+q.size <= len(q.buf) && q.size <= n {
		// The room wraps and the bytes queued are fewer than the
		// room wanted: moving them to the front costs less than
		// filling the room in two pieces.
		copy(q.buf, q.buf[q.head:q.head+q.size])
		q.head, tail = 0, q.size
	}
	end := min(tail+n, len(q.buf))
	if tail < q.head {
		end = min(end, q.head) // the free space runs up to the head
	}
	return q.buf[tail:end]
}

// Commit queues the first n bytes of the last WriteSpace.
func (q *byteQueue) Commit(n int) { q.size += n }

// minQueueStorage is the storage a queue starts with.
const minQueueStorage = 512

// grow moves the queue into storage that holds at least need bytes.
func (q *byteQueue) grow(need int) {
	size := max(2*len(q.buf), minQueueStorage)
	for size < need {
		size *= 2
	}
	buf := make([]byte, min(size, q.limit))
	q.Peek(buf)
	q.buf, q.head = buf, 0
}

// Peek copies up to len(p) queued bytes into p without removing them.
func (q *byteQueue) Peek(p []byte) int {
	n := min(len(p), q.size)
	if n == 0 {
		return 0
	}
	c := copy(p[:n], q.buf[q.head:min(q.head+n, len(q.buf))])
	copy(p[c:n], q.buf)
	return n
}

// Discard removes the first n queued bytes (n <= Len).
func (q *byteQueue) Discard(n int) {
	q.size -= n
	if q.size == 0 {
		q.head = 0 // keep later writes contiguous
		return
	}
	q.head = (q.head + n) % len(q.buf)
}

// Read moves up to len(p) queued bytes into p.
func (q *byteQueue) Read(p []byte) int {
	n := q.Peek(p)
	q.Discard(n)
	return n
}

// Reset drops everything queued.
func (q *byteQueue) Reset() { q.head, q.size = 0, 0 }
