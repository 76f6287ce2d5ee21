package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// Run runs the event loop until ctx ends, Shutdown completes, or the link
// fails; only the last returns an error. A Read error fails the link when
// it matches os.ErrClosed, net.ErrClosed or io.EOF, or after 100 in a row;
// others are logged and counted ("link-read").
//
// The loop is two goroutines that take turns under loopMu: the reader
// blocks in the link's Read and runs each batch it reads through the
// engine itself, so a packet reaches the engine without a hand-off
// between goroutines; the other waits for applications, calls, timers and
// shutdown. Neither touches the loop's state without loopMu. A third
// goroutine writes their output batches to the link, in order, while they
// go on (writer.go); Run returns once it has written them all.
//
// Run does not close the link. Its reader goroutine ends when the link's
// Read fails, so close the link after Run returns.
func (s *Stack) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer s.loopTimer.Stop()
	s.startWriter()
	readErr := make(chan error, 1)
	go s.read(readErr)

	s.loopMu.Lock()
	defer s.loopMu.Unlock()
	defer s.finish()
	shutdown := s.shutdown
	for {
		s.loopMu.Unlock()
		select {
		case <-ctx.Done():
			s.loopMu.Lock()
			return nil
		case err := <-readErr:
			s.loopMu.Lock()
			return fmt.Errorf("stack: link read: %w", err)
		case <-s.wake:
			s.loopMu.Lock()
			s.now = s.clock()
			s.serviceDirty()
		case fn := <-s.requests:
			s.loopMu.Lock()
			s.now = s.clock()
			fn()
		case <-s.loopTimer.C:
			s.loopMu.Lock()
			s.armed = time.Time{}
			s.now = s.clock()
			s.fireTimers()
		case <-shutdown:
			s.loopMu.Lock()
			shutdown = nil
			s.now = s.clock()
			s.beginShutdown()
		case <-s.forceStop:
			s.loopMu.Lock()
			s.now = s.clock()
			s.abortAll()
			s.flush()
			return nil
		}
		if s.endTurn() {
			return nil
		}
	}
}

// endTurn ends one turn of the loop's goroutine: it writes what the turn
// produced and points the timer at the next deadline. It reports true
// once a shutdown has finished, when the loop ends.
func (s *Stack) endTurn() (done bool) {
	s.runFaultActions()
	s.flush()
	if s.shuttingDown && s.quiet() {
		return true
	}
	s.armTimer()
	return false
}

// fireTimers runs every timer due at s.now: TIME-WAIT records that
// expire, fragments that time out, and the engine's deadlines.
func (s *Stack) fireTimers() {
	s.timeWait.expire(s.now, func(id tcp.ID) { s.timeWaitGone(id, tcp.ReasonTimeWaitExpired) })
	s.expireFragments()
	s.releaseHeld() // faults.go
	s.runFaultActions()
	s.due = s.timers.popDue(s.now, s.due[:0])
	for _, c := range s.due {
		c.engine.Tick(s.now)
		s.service(c)
	}
	clear(s.due)
}

// read is the reader goroutine: it reads batches from the link and runs
// each through the engine under loopMu, until the link fails or the loop
// ends.
func (s *Stack) read(readErr chan<- error) {
	batch := max(s.link.BatchSize(), 1)
	bufs, sizes := make([][]byte, batch), make([]int, batch)
	for i := range bufs {
		bufs[i] = make([]byte, Headroom+maxPacket)
	}
	read := func(bufs [][]byte, sizes []int, offset int) (int, bool, error) {
		n, err := s.link.Read(bufs, sizes, offset)
		return n, false, err
	}
	if cr, ok := s.link.(ChecksummedReader); ok {
		read = cr.ReadChecksummed
	}
	failures := 0
	for {
		n, checksummed, err := read(bufs, sizes, Headroom)
		if n > 0 && !s.inputBatch(bufs[:n], sizes[:n], checksummed) {
			return
		}
		switch {
		case err == nil:
			failures = 0
		case linkClosed(err) || failures >= maxReadFailures:
			readErr <- err
			return
		default:
			// A bad super-packet (wireguard's ErrTooManySegments, for
			// one) costs those packets, not the link.
			failures++
			s.counters.drop(dropLinkRead)
			s.log.Warn("link read", "err", err)
		}
	}
}

// inputBatch runs one batch of packets through the engine and writes
// what it answers; checksummed says the link computed their TCP checksums
// itself (ChecksummedReader). It reports false once the loop has ended.
func (s *Stack) inputBatch(bufs [][]byte, sizes []int, checksummed bool) bool {
	s.loopMu.Lock()
	defer s.loopMu.Unlock()
	if s.ended {
		return false
	}
	s.now = s.clock()
	s.checksummed, s.burstRead = checksummed, len(bufs) > 1
	for i, b := range bufs {
		s.inputPacket(b[Headroom : Headroom+sizes[i]])
	}
	s.checksummed = false
	s.runFaultActions()
	s.endBatch()
	if !s.holdFloodAnswers() {
		s.flush()
	}
	s.burstRead = false
	if s.shuttingDown && s.quiet() {
		s.nudge() // the other goroutine ends the loop
	}
	s.armTimer()
	return true
}

// nudge makes the loop goroutine look at its state, as an application's
// wakeup does.
func (s *Stack) nudge() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// maxReadFailures is how many Read errors in a row end the loop.
const maxReadFailures = 100

// linkClosed reports whether a Read error means the link is gone.
func linkClosed(err error) bool {
	return errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF)
}

// nextDeadline is when the loop's timer must next fire: the earliest
// deadline of a connection, a TIME-WAIT record, a fragment's time-out or
// a batch of flood answers held back; zero if none.
func (s *Stack) nextDeadline() time.Time {
	next := s.timers.next()
	for _, at := range [...]time.Time{s.timeWait.next(), s.fragmentsDeadline(), s.faultDeadline()} {
		if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	if held := s.heldUntil(); !held.IsZero() && (next.IsZero() || held.Before(next)) {
		next = held
	}
	return next
}

// armTimer points the loop's one timer at the earliest deadline.
func (s *Stack) armTimer() {
	timer := s.loopTimer
	next := s.nextDeadline()
	if next.Equal(s.armed) {
		return
	}
	s.armed = next
	if next.IsZero() {
		timer.Stop()
		return
	}
	timer.Reset(time.Until(next))
}

// serviceDirty looks at every connection an application touched.
func (s *Stack) serviceDirty() {
	s.dirtyMu.Lock()
	dirty := s.dirty
	s.dirty = nil
	for _, c := range dirty {
		c.dirty = false
	}
	s.dirtyMu.Unlock()
	for _, c := range dirty {
		s.service(c)
	}
	s.sendQueuedUDP()
	s.applyAdmissions()
}

// flush sends every packet produced in this iteration to the link in one
// link.Write, its own or the writer's (writer.go).
func (s *Stack) flush() {
	pkts := s.out.packets()
	if len(pkts) == 0 {
		return
	}
	s.captureOutput(pkts)
	if s.handOff() {
		s.handOver()
		return
	}
	s.write(s.out)
}

// write writes batch b with one link.Write and empties it.
func (s *Stack) write(b *outBatch) {
	pkts := b.packets()
	// Counted before the write, as Linux counts what it sends before it
	// goes: whoever sees a packet on the link sees it counted. What the
	// link did not take is taken back.
	s.counters.packetsOut.Add(uint64(len(pkts)))
	s.counters.bytesOut.Add(uint64(packetBytes(pkts)))
	n, err := s.link.Write(pkts, Headroom)
	if unwritten := pkts[min(max(n, 0), len(pkts)):]; len(unwritten) > 0 {
		s.counters.packetsOut.Add(-uint64(len(unwritten)))
		s.counters.bytesOut.Add(-uint64(packetBytes(unwritten)))
	}
	if err != nil {
		s.counters.dropN(dropLinkWrite, uint64(len(pkts)-max(n, 0)))
		s.log.Error("link write", "packets", len(pkts), "written", n, "err", err)
	}
	b.reset()
}

// packetBytes is the size of packets without their headroom: the IP packets.
func packetBytes(pkts [][]byte) int {
	var n int
	for _, p := range pkts {
		n += len(p) - Headroom
	}
	return n
}

// beginShutdown closes every listener and connection; the loop ends when
// quiet says all have finished.
func (s *Stack) beginShutdown() {
	s.shuttingDown = true
	s.closeListeners()
	for _, c := range s.conns {
		if c.listener != nil && !c.handedOff {
			c.engine.Abort(s.now) // half-open: nobody will accept it
		} else {
			c.closeFromStack()
		}
		s.service(c)
	}
}

// quiet reports whether every connection is CLOSED or in TIME-WAIT.
func (s *Stack) quiet() bool {
	for _, c := range s.conns {
		if c.engine.State() != tcp.TimeWait {
			return false
		}
	}
	return true
}

// abortAll resets every connection that is not yet closed.
func (s *Stack) abortAll() {
	for _, c := range s.conns {
		c.engine.Abort(s.now)
		s.service(c)
	}
}

// finish runs when the loop ends: every connection, listener and waiting
// caller learns that the stack has stopped.
func (s *Stack) finish() {
	s.ended = true
	s.stopWriter()
	close(s.stopped)
	s.closeListeners()
	s.stopUDP()
	for _, c := range s.conns {
		c.stackStopped()
		c.readDeadline.stop()
		c.writeDeadline.stop()
		s.releaseConn(c)
	}
	clear(s.conns)
	s.timers = timerWheel{}
}
