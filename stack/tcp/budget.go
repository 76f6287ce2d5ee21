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
// only when a buffer takes or gives back storage (a doubling, a release,
// an out-of-order block), under a mutex that makes each check and its
// charge one step, and read (a few atomic loads, no lock) when a window
// is advertised or send space asked for; so a connection's hot path takes
// no lock for it.
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
// always progresses. The floors come out of the limit: a quarter of it is
// held for them, taken or not, and for the buffers of connections not
// made yet; the floors that the buffers which joined (when their
// connection was made) have not taken are reserved in it, and the levels
// see InUse plus what the quarter holds. So a connection made once the
// budget is full still finds its floors inside the limit. Past the
// quarter (95,000 idle connections reserve 1.5 GB) the floors of buffers
// that wake up late go over the limit, which Options.MaxConns bounds; so
// does the part of an engine buffer's floor above Floor (two segments of
// a large MSS, rounded up to their class), which is not reserved.
//
// Storage that grows is charged whole before the buffer copies into it
// and releases what it held, so it must fit beside that storage: the
// limit bounds the moment of the copy too. The one other way over the
// limit is a move (GrantMove): out-of-order data that the in-order data
// reaches is already held and acknowledged by SACK, so it is never
// refused; on a full budget the in-order buffer takes just what the move
// needs (rounded up to its class), and the block it came from is
// released right after: over the limit by at most that rounding once the
// copy is done, until the application reads.
type Budget struct {
	limit int64 // 0: no bound; the pools and the accounting still work

	// mu orders the changes to what is held and reserved (Take's check
	// and charge as one step, Release, Join, Leave), so that each check
	// sees every charge made before it: the loop and the applications'
	// goroutines take storage at the same time, and without it two
	// takers could each pass the check against what the other had not
	// charged yet. Only storage changes take it; the levels, read per
	// window and per write, load the counters without it.
	mu sync.Mutex

	used atomic.Int64 // bytes of storage held
	peak atomic.Int64
	live atomic.Int64 // storage allocations held: the fair share divides by it
	// reserve is the floors not taken yet: a Floor for each buffer that
	// joined, less what each allocation of a buffer covers of one. One
	// counter, so that the levels cost two loads. Storage that no buffer
	// joined for (out-of-order blocks, datagrams: taken with no floor,
	// given back with ReleaseExtra) covers none: had it covered some, the
	// floors it took from the reserve would have been granted later on
	// top of a full budget.
	reserve atomic.Int64
	// floors is the storage that covers floors: what each allocation of
	// a buffer covers of one. The quarter of the limit that the floors
	// may have is held for them, taken or not, so that the floors of
	// connections that join once the budget is full fit in it too.
	floors atomic.Int64

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
		b.mu.Lock()
		b.reserve.Add(int64(n) * Floor)
		b.mu.Unlock()
	}
}

// Leave is the end of Join's buffers.
func (b *Budget) Leave(n int) {
	if b != nil {
		b.mu.Lock()
		b.reserve.Add(-int64(n) * Floor)
		b.mu.Unlock()
	}
}

// committed is what the levels count: the storage held, and the floors
// the buffers that joined have not taken yet, up to a quarter of the
// limit.
func (b *Budget) committed() int64 {
	return b.used.Load() + b.floorRoom(b.reserve.Load(), b.floors.Load())
}

// floorRoom is what the levels hold for floors not taken yet: those of
// the buffers that joined, up to a quarter of the limit, and at least
// what the floors taken leave of that quarter, for buffers yet to join.
func (b *Budget) floorRoom(reserve, floors int64) int64 {
	quarter := b.limit / 4
	return max(min(max(reserve, 0), quarter), quarter-floors)
}

// Roomy reports whether a buffer may grow by n bytes, whatever it holds,
// before the budget reaches any of its levels: then no window or send
// space needs clamping, and Allowance need not be asked. Two loads, no
// call, for the hot paths.
func (b *Budget) Roomy(n int) bool {
	return b.limit == 0 || 2*(b.used.Load()+max(b.reserve.Load(), b.limit/4-b.floors.Load())+int64(n)) <= b.limit
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
// up to its class). The larger storage must fit beside the held one,
// which it replaces only once the buffer has copied its bytes over (see
// Take): what the buffer holds now is not counted as free.
func (b *Budget) Allowance(held, floor int) int {
	if b == nil || b.limit == 0 {
		return maxInt
	}
	used := b.committed()
	// Plenty: grow while the budget stays at most half used.
	allow := b.limit/2 - used
	if 2*used >= b.limit {
		// Pressure: the fair share, if the budget has it.
		share := b.limit / max(b.live.Load(), 1)
		allow = max(allow, min(share, b.limit-used))
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

// allows reports whether a buffer holding held bytes may take storage of
// size bytes. Every caller copies its bytes from the held storage into
// the new one before it releases the held one, so for that moment the
// buffer holds both: the new storage must fit whole, not only what it
// adds (a buffer doubling from 1 MiB holds 3 MiB while it copies). Only
// a floor and a move may go over; Take holds mu around the check and
// the charge.
func (b *Budget) allows(held, size, floor int, how Grant) bool {
	if b == nil || b.limit == 0 || size <= floorClass(floor) || how == GrantMove {
		return true
	}
	if how == GrantPromise && size > b.Allowance(held, floor) {
		return false
	}
	return b.committedWith(size, floor > 0) <= b.limit
}

// committedWith is what committed would be with size more bytes of
// storage held, which cover a floor of the reserve if they are a
// buffer's.
func (b *Budget) committedWith(size int, buffer bool) int64 {
	reserve, floors := b.reserve.Load(), b.floors.Load()
	if buffer {
		reserve -= min(int64(size), Floor)
		floors += min(int64(size), Floor)
	}
	return b.used.Load() + int64(size) + b.floorRoom(reserve, floors)
}

// Take returns storage of at least size bytes (a size class; len is
// cap) for a buffer that holds held bytes now, if the budget allows the
// buffer that much (floor is its guaranteed minimum); the caller copies
// what it keeps and gives the old storage back with Release. Storage
// taken with no floor is extra: it belongs to no buffer that joined,
// covers no floor, and goes back with ReleaseExtra (or becomes a
// buffer's with Adopt). A nil Budget allocates without bound or pool.
func (b *Budget) Take(held, size, floor int, how Grant) ([]byte, bool) {
	size = classSize(size)
	if b == nil {
		return make([]byte, size), true
	}
	b.mu.Lock()
	ok := b.allows(held, size, floor, how)
	if ok {
		b.charge(size, floor > 0)
	}
	b.mu.Unlock()
	if !ok {
		b.denied.Add(1)
		return nil, false
	}
	return b.get(size), true
}

// Release gives storage from Take back to the pool. buf may be any
// slice of it that starts where it starts.
func (b *Budget) Release(buf []byte) { b.release(buf, true) }

// ReleaseExtra gives extra storage (taken with no floor) back.
func (b *Budget) ReleaseExtra(buf []byte) { b.release(buf, false) }

// Adopt makes extra storage a buffer's (an out-of-order block that
// becomes the in-order data): it covers its floor from now on, and goes
// back with Release.
func (b *Budget) Adopt(buf []byte) {
	if b != nil && cap(buf) > 0 {
		b.mu.Lock()
		b.reserve.Add(-min(int64(cap(buf)), Floor))
		b.floors.Add(min(int64(cap(buf)), Floor))
		b.mu.Unlock()
	}
}

func (b *Budget) release(buf []byte, buffer bool) {
	if cap(buf) == 0 || b == nil {
		return
	}
	n := int64(cap(buf))
	b.mu.Lock()
	b.used.Add(-n)
	b.live.Add(-1)
	if buffer {
		b.reserve.Add(min(n, Floor))
		b.floors.Add(-min(n, Floor))
	}
	b.mu.Unlock()
	if c := classOf(cap(buf)); c >= 0 && 1<<(c+minClassShift) == cap(buf) {
		// The pool keeps a pointer to the array: an interface holding a
		// pointer needs no allocation of its own.
		b.pools[c].Put(unsafe.SliceData(buf[:cap(buf)]))
	}
}

// charge counts size more bytes held, a buffer's or extra, under mu.
func (b *Budget) charge(size int, buffer bool) {
	used := b.used.Add(int64(size))
	b.live.Add(1)
	if buffer {
		b.reserve.Add(-min(int64(size), Floor))
		b.floors.Add(min(int64(size), Floor))
	}
	if used > b.peak.Load() {
		b.peak.Store(used) // under mu: no other writer
	}
}

// get takes size bytes (a class size, charged) from the pool or the heap.
func (b *Budget) get(size int) []byte {
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
