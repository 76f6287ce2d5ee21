package stack

import (
	"sync/atomic"

	"github.com/tunstack/tunstack/stack/tcp"
)

// The memory of a stack's connections is bounded by one tcp.Budget: the
// engine's send and receive buffers and out-of-order data draw on it from
// the loop, and the queues between applications and the loop (Conn.send,
// Conn.recv) draw on it from the applications' goroutines as well as the
// loop. The budget is a few atomics, touched when a buffer takes or gives
// back storage and once per advertised window, so neither side takes a
// lock for it: the loop owns the engines, each Conn's queues stay under
// their own mutex, and the budget needs neither.

// DefaultBufferBudget is the budget of a stack whose Options leave
// BufferBudget zero: 512 MiB, what 2,000 connections need at 256 KiB each
// way, or a thousand at full speed.
const DefaultBufferBudget = 512 << 20

// MemoryCounters is what the buffer budget and the connection limits did.
type MemoryCounters struct {
	BudgetLimit int64 // bytes; 0 when there is no bound
	BudgetInUse int64 // bytes of buffer storage held now
	BudgetPeak  int64 // the most BudgetInUse has been
	// WindowClamps counts runs of segments that advertised a smaller
	// receive window than the buffer had room for because the budget
	// was tight (one per connection and run).
	WindowClamps uint64
	// SendClamps counts runs during which a connection's send buffer
	// took less than its size because the budget was tight.
	SendClamps uint64
	// AutotuneHeld counts receive-window auto-tuning steps not taken
	// because the budget was under pressure.
	AutotuneHeld uint64
	// WritersBlocked counts Write calls that waited because the budget
	// held their connection's queue below its size.
	WritersBlocked uint64
	// RecvBudgetDrops counts segments whose data the budget had no room
	// for, although they were in the window ("engine:rcv-budget").
	RecvBudgetDrops uint64
	// OOODrops counts out-of-order segments dropped because they would
	// have made a connection hold more blocks of out-of-order data than
	// its bound ("engine:ooo-limit").
	OOODrops uint64
	// ConnLimitDrops and PeerConnLimitDrops count SYNs dropped because
	// Options.MaxConns connections were open, or MaxConnsPerPeer of
	// their peer's ("conn-limit", "peer-conn-limit").
	ConnLimitDrops, PeerConnLimitDrops uint64
}

// memoryCounters are the counts the budget does not keep itself.
type memoryCounters struct {
	writersBlocked atomic.Uint64
}

// newBudget is the budget Options.BufferBudget asks for.
func newBudget(limit int64) *tcp.Budget {
	switch {
	case limit == 0:
		return tcp.NewBudget(DefaultBufferBudget)
	case limit < 0:
		return tcp.NewBudget(0) // no bound; storage still pooled and counted
	}
	return tcp.NewBudget(limit)
}

// memoryCounters reads the budget and the counts of the limits.
func (s *Stack) memoryCounters() MemoryCounters {
	b := s.mem.Stats()
	return MemoryCounters{
		BudgetLimit: b.Limit, BudgetInUse: b.InUse, BudgetPeak: b.Peak,
		WindowClamps: b.WindowClamps, SendClamps: b.SendClamps, AutotuneHeld: b.AutotuneHeld,
		WritersBlocked:     s.memory.writersBlocked.Load(),
		RecvBudgetDrops:    s.counters.engineDrops.load(tcp.ReasonRecvBudget),
		OOODrops:           s.counters.engineDrops.load(tcp.ReasonOOOLimit),
		ConnLimitDrops:     s.counters.drops[knownDropSlot[dropConnLimit]].Load(),
		PeerConnLimitDrops: s.counters.drops[knownDropSlot[dropPeerConnLimit]].Load(),
	}
}

// releaseConn gives back the storage of a connection the loop lets go
// (CLOSED, back to LISTEN, or shrunk to a TIME-WAIT record): the engine's
// buffers and the send queue, which nobody will send from; the receive
// queue too if the application will not read it, else Read gives it back
// once it has read it all.
func (s *Stack) releaseConn(c *Conn) {
	c.engine.ReleaseBuffers()
	s.mem.Leave(2)
	c.mu.Lock()
	c.send.Release(s.mem)
	if c.closed || c.readClosed || c.recv.Len() == 0 {
		c.recv.Release(s.mem)
	}
	c.mu.Unlock()
}

// BufferInUse is how many bytes of buffer storage the connections hold
// now: cheap enough to poll (one atomic load), unlike Counters.
func (s *Stack) BufferInUse() int64 { return s.mem.InUse() }
