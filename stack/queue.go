package stack

import "github.com/tunstack/tunstack/stack/tcp"

// byteQueue is a bounded FIFO of bytes: the per-connection send and receive
// queues between an application and the event loop. It is a ring whose
// storage starts small on first use and doubles as needed up to the limit,
// so idle connections and short exchanges cost little. The storage comes
// from the stack's buffer budget (the mem argument, nil for none; the
// connection's stack holds it, so that an idle Conn does not keep two
// pointers to it): under pressure the queue grows no further than the
// budget allows, which is how writers come to wait instead of memory
// growing.
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

// Free is how many more bytes Write would take: the room under the limit,
// within what the budget lets the storage grow to.
func (q *byteQueue) Free(mem *tcp.Budget) int {
	free := q.limit - q.size
	if mem != nil && !mem.Roomy(2*q.limit) {
		free = min(free, mem.Allowance(len(q.buf), tcp.Floor)-q.size)
	}
	return max(free, 0)
}

// Clamped reports whether the budget, not the limit, keeps Free down.
func (q *byteQueue) Clamped(mem *tcp.Budget) bool { return q.Free(mem) < q.limit-q.size }

// Write appends as much of p as fits and returns how much it took.
func (q *byteQueue) Write(mem *tcp.Budget, p []byte) int {
	n := min(len(p), q.Free(mem))
	if n == 0 {
		return 0
	}
	if q.size+n > len(q.buf) && !q.grow(mem, q.size+n) {
		// Another connection took the memory meanwhile: what the
		// storage holds.
		n = len(q.buf) - q.size
		if n == 0 {
			return 0
		}
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
func (q *byteQueue) WriteSpace(mem *tcp.Budget, n int) []byte {
	n = min(n, q.Free(mem))
	if n == 0 {
		return nil
	}
	if q.size+n > len(q.buf) && !q.grow(mem, q.size+n) {
		n = len(q.buf) - q.size
		if n == 0 {
			return nil
		}
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

// grow moves the queue into storage that holds at least need bytes, twice
// what it had if the budget allows, else just enough; it reports false if
// the budget allows neither.
func (q *byteQueue) grow(mem *tcp.Budget, need int) bool {
	size := max(2*len(q.buf), minQueueStorage)
	for size < need {
		size *= 2
	}
	buf, ok := mem.Take(len(q.buf), min(size, q.limit), tcp.Floor, tcp.GrantPromise)
	if !ok {
		if buf, ok = mem.Take(len(q.buf), need, tcp.Floor, tcp.GrantPromise); !ok {
			return false
		}
	}
	q.Peek(buf)
	mem.Release(q.buf)
	q.buf, q.head = buf, 0
	return true
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

// MoveTo moves as many queued bytes into dst as it takes, without a copy
// of its own, and returns how many.
func (q *byteQueue) MoveTo(mem *tcp.Budget, dst *byteQueue) int {
	moved := 0
	for q.size > 0 {
		space := dst.WriteSpace(mem, q.size)
		if len(space) == 0 {
			break
		}
		n := q.Peek(space)
		dst.Commit(n)
		q.Discard(n)
		moved += n
	}
	return moved
}

// Reset drops everything queued.
func (q *byteQueue) Reset() { q.head, q.size = 0, 0 }

// Release drops everything queued and gives the storage back.
func (q *byteQueue) Release(mem *tcp.Budget) {
	q.Reset()
	mem.Release(q.buf)
	q.buf = nil
}

// ReleaseIfIdle gives the storage of an empty queue back while the budget
// is under pressure: others need it more than an idle queue does.
func (q *byteQueue) ReleaseIfIdle(mem *tcp.Budget) {
	if q.size == 0 && len(q.buf) > 0 && mem.Pressure() {
		q.Release(mem)
	}
}
