package stack

import (
	"slices"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// This file is the loop's side of a connection: after every engine call on
// it (a segment, a tick, a user request), service moves bytes between the
// application's queues and the engine, issues the CLOSE or ABORT the
// application asked for, hands new connections to their listener, tells
// waiting applications what changed, and reschedules the timer.

// service brings c up to date after an engine call or an application's
// wakeup.
func (s *Stack) service(c *Conn) {
	if c.removed {
		return
	}
	e := c.engine
	c.mu.Lock()
	abort := c.abort
	closed, writeClosed := c.closed, c.writeClosed
	discard := c.closed || c.readClosed
	c.mu.Unlock()

	if abort && e.State() != tcp.Closed {
		e.Abort(s.now)
	}
	// Data queued right before a close leaves with the FIN, in one
	// segment: the engine holds it back (SendMore) until both are in.
	closing := (closed && !c.engineClosed || writeClosed && !c.sendClosed) && e.State() != tcp.Closed
	s.pushSend(c, closing)
	if closing && s.sendQueueEmpty(c) {
		// The FIN goes after every byte the application queued.
		var err error
		if closed {
			c.engineClosed, c.sendClosed = true, true
			err = e.Close(s.now)
		} else {
			c.sendClosed = true
			err = e.CloseSend(s.now)
		}
		if err != nil {
			s.log.Debug("close", "conn", c.ID(), "err", err)
		}
	}
	if closing {
		e.Flush(s.now) // what no FIN took with it
	}
	s.pullRecv(c, discard)

	st := e.State()
	if c.listener != nil && !c.handedOff && st.Synchronized() && !c.acceptHeld && !s.holdAccept(c) {
		c.handedOff = true
		c.listener.halfOpen--
		// Published before Accept can return it: an accepted connection
		// shows its states (and its data) from the start.
		s.publish(c, st)
		if !c.listener.enqueue(c) {
			e.Abort(s.now) // the listener closed during the handshake
			st = e.State()
		}
	}
	if st == tcp.Closed && !discard {
		s.drainUnread(c)
	}
	s.publish(c, st)
	if st == tcp.Closed || (c.listener != nil && st == tcp.Listen) {
		s.unregister(c)
		return
	}
	if st == tcp.TimeWait && s.shrinkTimeWait(c) {
		return
	}
	if !c.inBatch { // endBatch schedules it, after its Flush
		s.timers.schedule(c, e.Deadline())
	}
}

// pushSend moves queued application data into the engine as far as its
// send buffer allows. It waits until the engine has room for a good chunk
// (sendLowWater) or for everything queued: a few large Sends cost less
// than one per acknowledged segment. With more, a CLOSE follows: the
// engine holds the data back for the FIN (tcp.Conn.SendMore).
func (s *Stack) pushSend(c *Conn, more bool) {
	e := c.engine
	for {
		if st := e.State(); st != tcp.Established && st != tcp.CloseWait {
			return
		}
		space := min(e.SendSpace(), len(s.scratch))
		c.mu.Lock()
		queued := c.send.Len()
		// Under the budget's pressure the engine's buffer may never
		// have sendLowWater free: then half of what it can hold does.
		if space <= 0 || queued == 0 || space < min(queued, s.sendLowWater, (e.SendQueue()+space)/2) {
			c.mu.Unlock()
			return
		}
		n := c.send.Peek(s.scratch[:space])
		c.mu.Unlock()
		var taken int
		var err error
		if more {
			taken, err = e.SendMore(s.now, s.scratch[:n])
		} else {
			taken, err = e.Send(s.now, s.scratch[:n])
		}
		c.mu.Lock()
		c.send.Discard(taken)
		if err != nil {
			c.sendErr = err
			c.send.Release(s.mem)
		}
		c.send.ReleaseIfIdle(s.mem)
		c.notifyLocked() // room for writers
		c.mu.Unlock()
		if err != nil || taken < n {
			return
		}
	}
}

func (s *Stack) sendQueueEmpty(c *Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.send.Len() == 0
}

// pullRecv moves received data from the engine into the application's
// queue while it has room; what stays in the engine narrows the window it
// advertises. Data nobody will read is received and dropped.
func (s *Stack) pullRecv(c *Conn, discard bool) {
	e := c.engine
	for e.Readable() > 0 {
		if discard {
			if n, err := e.Receive(s.now, s.scratch); err != nil || n == 0 {
				return
			}
			continue
		}
		c.mu.Lock()
		n, err := s.receiveInto(c, min(e.Readable(), c.recv.Free(s.mem)))
		if n > 0 {
			c.notifyLocked()
		}
		c.mu.Unlock()
		if err != nil || n == 0 {
			return
		}
	}
}

// drainUnread keeps readable what the engine still holds for the
// application once the connection is deleted (TIME-WAIT ended before the
// application read everything): received and acknowledged data is the
// application's, and the engine's buffers go with the connection. Linux
// too keeps a closed socket's receive queue readable. The bytes leave the
// budget with the engine's buffers; they are the application's to read.
func (s *Stack) drainUnread(c *Conn) {
	e := c.engine
	if e.Readable() == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for want := e.Readable(); want > 0; want = e.Readable() {
		held := len(c.leftover)
		c.leftover = slices.Grow(c.leftover, want)[:held+want]
		n, err := e.Receive(s.now, c.leftover[held:])
		c.leftover = c.leftover[:held+n]
		if err != nil || n == 0 {
			break
		}
	}
	c.notifyLocked()
}

// receiveInto moves up to want bytes from c's engine into its receive
// queue, with c.mu held. The engine copies straight into the queue's
// storage when the room there is in one piece; when it wraps around the
// ring, the bytes go through scratch instead, so that it stays one
// Receive, and one window update at most.
func (s *Stack) receiveInto(c *Conn, want int) (int, error) {
	if want == 0 {
		return 0, nil
	}
	if space := c.recv.WriteSpace(s.mem, want); len(space) == want {
		n, err := c.engine.Receive(s.now, space)
		c.recv.Commit(n)
		return n, err
	}
	n, err := c.engine.Receive(s.now, s.scratch[:want])
	c.recv.Write(s.mem, s.scratch[:n])
	return n, err
}

// publish copies what applications see of the engine's state into c's
// shared fields and wakes whoever waits on it.
func (s *Stack) publish(c *Conn, st tcp.State) {
	e := c.engine
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := st != c.state
	c.state = st
	if len(c.loopStates) > len(c.states) {
		c.states = append(c.states, c.loopStates[len(c.states):]...)
	}
	if st.Synchronized() && !c.established {
		c.established = true
	}
	c.recvBlocked = e.Readable() > 0
	if e.PeerClosed() && !c.recvBlocked && !c.peerClosed {
		c.peerClosed = true
		changed = true
	}
	if st == tcp.Closed && !c.finished {
		c.finished = true
		if c.err == nil {
			c.err = e.Err()
		}
		changed = true
	}
	if changed {
		c.notifyLocked()
	}
}

// register enters c into the demultiplexing table.
func (s *Stack) register(c *Conn) {
	s.conns[c.ID()] = c
	s.localPorts[c.ID().Local]++
	s.connLimits.add(c.ID())
}

// unregister removes c from the table and the timers: the engine is done
// with it.
func (s *Stack) unregister(c *Conn) {
	if c.removed {
		return
	}
	c.removed = true
	delete(s.conns, c.ID())
	if s.localPorts[c.ID().Local]--; s.localPorts[c.ID().Local] <= 0 {
		delete(s.localPorts, c.ID().Local)
	}
	s.connLimits.remove(c.ID())
	if s.faultTrack.Tracked() > 0 {
		s.faultTrack.Forget(c.ID())
	}
	s.timers.schedule(c, time.Time{})
	s.releaseConn(c)
	if c.listener != nil && !c.handedOff {
		c.handedOff = true // no longer counted against the backlog
		c.listener.halfOpen--
		if c.listener.gone != nil {
			c.listener.gone(c.ID())
		}
	}
}
