package tcp

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Budget bounds the memory that the buffers of many connections hold
// together: their send and receive buffers, out-of-order data, and
// whatever else their owner charges to it (the stack's queues between
// application and loop). It is what Linux's tcp_mem is to its sockets.
//
// A Budget is shared by every connection of a stack and safe for
// concurrent use: the engine's buffers are charged from the loop, the
// stack's application queues from application goroutines. It is written
// only when a buffer takes or gives back storage (a doubling, a release),
// never per segment, and read (two atomic loads) when a window is
// advertised or send space asked for; so a connection's hot path takes no
// lock for it.
//
// Storage comes in power-of-two size classes from pools, so the memory a
// closed connection gives back is reused by the next one, and what stays
// unused goes back to the garbage collector (sync.Pool), and from it to
// the operating system.
//
// The budget decides with three levels, like tcp_mem's, on what is
// committed (the storage in use and the floors reserved, below):
//
//	committed < Limit/2  plenty: buffers grow as configured
//	committed < Limit    pressure: auto-tuning stops, a buffer grows only
//	                     up to its fair share (Limit / buffers holding
//	                     storage), receive windows and send space shrink
//	                     to match, and buffers that empty give their
//	                     storage back
//	committed >= Limit   full: no buffer grows past its guaranteed minimum;
//	                     arriving data that would need more is dropped and
//	                     writers wait
//
// Every buffer is guaranteed a small minimum (Floor, and for the engine's
// buffers two segments) whatever the level, so that an honest connection
// always progresses. The floors come out of the limit: the buffers of a
// connection join the budget when it is made, and the floors they have
// not taken yet are reserved, so the other levels see InUse plus that
// reserve. The reserve is capped at a quarter of the limit, so that many
// idle connections (95,000 of them reserve 1.5 GB) do not starve a busy
// one; past that cap the floors of buffers that wake up late go over the
// limit, which Options.MaxConns bounds.
type Budget struct {
	limit int64 // 0: no bound; the pools and the accounting still work

	used atomic.Int64 // bytes of storage held
	peak atomic.Int64
	live atomic.Int64 // storage allocations held: the fair share divides by it
	// reserve is the floors not taken yet: a Floor for each buffer that
	// joined, less what each allocation covers of one. One counter, so
	// that the levels cost two loads. Storage that no buffer joined for
	// (out-of-order blocks) counts against it too: the reserve is then
	// smaller than the floors left, never larger.
	reserve atomic.Int64

	windowClamps atomic.Uint64
	sendClamps   atomic.Uint64
	autotuneHeld atomic.Uint64
	denied       atomic.Uint64

	pools [numClasses]sync.Pool
}

// Floor is the storage every buffer may hold whatever the budget says: a
// page, as Linux's tcp_rmem[0] and tcp_wmem[0].
const Floor = 4096

// Size classes: powers of two from 512 bytes to 64 MiB. Larger storage is
// allocated and charged but not pooled.
const (
	minClassShift = 9
	numClasses    = 18
)

// NewBudget returns a budget of limit bytes; limit <= 0 bounds nothing
// but still pools storage and counts what is held.
func NewBudget(limit int64) *Budget {
	return &Budget{limit: max(limit, 0)}
}

// BudgetStats is a snapshot of a budget.
type BudgetStats struct {
	Limit int64 // 0: no bound
	InUse int64 // bytes of buffer storage held now
	Peak  int64 // the most InUse has been
	// WindowClamps counts runs of segments that advertised a smaller
	// receive window than the buffer's free space because the budget was
	// tight, one per connection and run.
	WindowClamps uint64
	// SendClamps counts runs during which a connection's send buffer
	// took less than its free space because of the budget: writers wait.
	SendClamps uint64
	// AutotuneHeld counts receive-buffer auto-tuning steps not taken
	// because the budget was tight.
	AutotuneHeld uint64
	// Denied counts requests for storage that the budget refused.
	Denied uint64
}

// Stats returns a snapshot. A nil Budget has none.
func (b *Budget) Stats() BudgetStats {
	if b == nil {
		return BudgetStats{}
	}
	return BudgetStats{
		Limit: b.limit, InUse: b.used.Load(), Peak: b.peak.Load(),
		WindowClamps: b.windowClamps.Load(), SendClamps: b.sendClamps.Load(),
		AutotuneHeld: b.autotuneHeld.Load(), Denied: b.denied.Load(),
	}
}

// InUse is how many bytes of buffer storage are held now.
func (b *Budget) InUse() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// Join adds n buffers that may each claim a Floor of storage; Leave
// takes them out once their storage is released.
func (b *Budget) Join(n int) {
	if b != nil {
		b.reserve.Add(int64(n) * Floor)
	}
}

// Leave is the end of Join's buffers.
func (b *Budget) Leave(n int) {
	if b != nil {
		b.reserve.Add(-int64(n) * Floor)
	}
}

// committed is what the levels count: the storage held, and the floors
// the buffers that joined have not taken yet, up to a quarter of the
// limit.
func (b *Budget) committed() int64 {
	return b.used.Load() + min(max(b.reserve.Load(), 0), b.limit/4)
}

// Roomy reports whether a buffer may grow by n bytes, whatever it holds,
// before the budget reaches any of its levels: then no window or send
// space needs clamping, and Allowance need not be asked. Two loads, no
// call, for the hot paths.
func (b *Budget) Roomy(n int) bool {
	return b.limit == 0 || 2*(b.used.Load()+max(b.reserve.Load(), 0)+int64(n)) <= b.limit
}

// Pressure reports whether the budget is at least half committed:
// buffers then stop growing beyond their fair share and give back
// storage they no longer use.
func (b *Budget) Pressure() bool {
	return b != nil && b.limit > 0 && 2*b.committed() >= b.limit
}

// Grant says how a request for storage is judged.
type Grant uint8

const (
	// GrantPromise is for storage the buffer may need for data not yet
	// offered: a receive window, send space, an application queue's
	// free room. It grows only under the levels' rules.
	GrantPromise Grant = iota
	// GrantStore is for data that has arrived within a window already
	// advertised: it may use the budget up to its limit.
	GrantStore
	// GrantMove is for data already charged elsewhere that changes
	// buffers (out-of-order data joining the in-order queue): always.
	GrantMove
)

// Allowance is the largest storage a buffer holding held bytes may grow
// to for a promise: a size class, never less than held or floor (rounded
// up to its class).
func (b *Budget) Allowance(held, floor int) int {
	if b == nil || b.limit == 0 {
		return maxInt
	}
	used := b.committed()
	// Plenty: grow while the budget stays at most half used.
	allow := b.limit/2 - used + int64(held)
	if 2*used >= b.limit {
		// Pressure: the fair share, if the budget has it.
		share := b.limit / max(b.live.Load(), 1)
		allow = max(allow, min(share, b.limit-used+int64(held)))
	}
	return max(classBelow(allow), held, floorClass(floor))
}

// floorClass is the storage a floor of n bytes guarantees: its class, or
// nothing for none.
func floorClass(n int) int {
	if n <= 0 {
		return 0
	}
	return classSize(n)
}

// classBelow is the largest size class not over n, or 0.
func classBelow(n int64) int {
	if n < 1<<minClassShift {
		return 0
	}
	if n >= 1<<(minClassShift+numClasses) {
		return int(min(n, int64(maxInt)))
	}
	return 1 << (bits.Len64(uint64(n)) - 1)
}

const maxInt = int(^uint(0) >> 1)

// allows reports whether a buffer holding held bytes may hold size.
func (b *Budget) allows(held, size, floor int, how Grant) bool {
	if b == nil || b.limit == 0 || size <= max(held, floorClass(floor)) || how == GrantMove {
		return true
	}
	if how == GrantPromise {
		return size <= b.Allowance(held, floor)
	}
	return b.committed()+int64(size-held) <= b.limit
}

// Take returns storage of at least size bytes (a size class; len is
// cap) for a buffer that holds held bytes now, if the budget allows the
// buffer that much (floor is its guaranteed minimum); the caller copies
// what it keeps and gives the old storage back with Release. A nil
// Budget allocates without bound or pool.
func (b *Budget) Take(held, size, floor int, how Grant) ([]byte, bool) {
	size = classSize(size)
	if !b.allows(held, size, floor, how) {
		b.denied.Add(1)
		return nil, false
	}
	return b.alloc(size), true
}

// Release gives storage from Take back to the pool. buf may be any
// slice of it that starts where it starts.
func (b *Budget) Release(buf []byte) {
	if cap(buf) == 0 {
		return
	}
	if b == nil {
		return
	}
	n := int64(cap(buf))
	b.used.Add(-n)
	b.live.Add(-1)
	b.reserve.Add(min(n, Floor))
	if c := classOf(cap(buf)); c >= 0 && 1<<(c+minClassShift) == cap(buf) {
		// The pool keeps a pointer to the array: an interface holding a
		// pointer needs no allocation of its own.
		b.pools[c].Put(unsafe.SliceData(buf[:cap(buf)]))
	}
}

// alloc takes size bytes (a class size) from the pool or the heap and
// charges them.
func (b *Budget) alloc(size int) []byte {
	if b == nil {
		return make([]byte, size)
	}
	used := b.used.Add(int64(size))
	b.live.Add(1)
	b.reserve.Add(-min(int64(size), Floor))
	for p := b.peak.Load(); used > p && !b.peak.CompareAndSwap(p, used); p = b.peak.Load() {
	}
	if c := classOf(size); c >= 0 {
		if p, ok := b.pools[c].Get().(*byte); ok {
			return unsafe.Slice(p, size)
		}
	}
	return make([]byte, size)
}

// classSize rounds n up to its size class (a power of two, at least 512
// bytes); above the largest class, n itself.
func classSize(n int) int {
	if n <= 1<<minClassShift {
		return 1 << minClassShift
	}
	if n > 1<<(minClassShift+numClasses-1) {
		return n
	}
	return 1 << bits.Len(uint(n-1))
}

// classOf is the pool of a class size, or -1.
func classOf(size int) int {
	if size < 1<<minClassShift || size&(size-1) != 0 {
		return -1
	}
	c := bits.Len(uint(size)) - 1 - minClassShift
	if c >= numClasses {
		return -1
	}
	return c
}

// noteWindowClamp, noteSendClamp and noteAutotuneHeld count decisions the
// budget forced.
func (b *Budget) noteWindowClamp() { b.windowClamps.Add(1) }
func (b *Budget) noteSendClamp()   { b.sendClamps.Add(1) }
func (b *Budget) noteAutotuneHeld() {
	if b != nil {
		b.autotuneHeld.Add(1)
	}
}
