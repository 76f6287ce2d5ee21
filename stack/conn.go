package stack

import (
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// Conn is one TCP connection as applications see it: a net.Conn, with
// CloseWrite and CloseRead for half-close like *net.TCPConn. Its methods
// are safe for concurrent use. They never touch the engine: Write queues
// bytes for the loop, Read takes what the loop queued, and both wake the
// loop when the queues change.
type Conn struct {
	s *Stack

	readDeadline, writeDeadline deadline

	// Owned by the loop goroutine. engine is set once, before the
	// connection is shared: its ID, which never changes, is the
	// connection's.
	engine     *tcp.Conn
	listener   *Listener // set for a passive open
	loopStates []tcp.State
	stateSince time.Time // when the engine entered its current state
	timerAt    time.Time
	timerIndex int // position in its timer slot or heap
	timerSlot  int // wheel slot, onHeap or notScheduled

	// Shared between the loop and applications, guarded by mu.
	mu      sync.Mutex
	changed chan struct{} // closed at the next change below; made when someone waits
	recv    byteQueue
	send    byteQueue
	states  []tcp.State
	// leftover is what the engine still held for the application when
	// the connection was deleted (drainUnread): read after recv.
	leftover []byte
	err      error // why the connection ended, if not normally
	sendErr  error // the engine refused data

	// The flags last, together: one word for all of them.
	handedOff    bool // loop: no longer half-open, queued for Accept, or gone
	engineClosed bool // loop: Close called on the engine, orphaned
	sendClosed   bool // loop: CloseSend or Close called on the engine
	removed      bool // loop: out of the demultiplexing table
	inBatch      bool // loop: in Stack.batched
	acceptHeld   bool // loop: a fault keeps it from Accept for now (accept_hold)
	dirty        bool // in Stack.dirty; guarded by Stack.dirtyMu

	state       tcp.State // mu: as last published, to notice changes
	recvBlocked bool      // mu: the engine holds data recv had no room for
	established bool      // mu: reached a synchronized state
	peerClosed  bool      // mu: the peer's FIN arrived and all data before it is in recv
	finished    bool      // mu: the engine is CLOSED, or the loop ended
	closed      bool      // mu: Close was called
	writeClosed bool      // mu: CloseWrite was called
	readClosed  bool      // mu: CloseRead was called
	abort       bool      // mu: reset: Dial cancelled, Close with unread data, never accepted
}

var _ net.Conn = (*Conn)(nil)

// newConn makes a connection and its engine; the loop registers it.
func (s *Stack) newConn(id tcp.ID) *Conn {
	c := &Conn{
		s:         s,
		timerSlot: notScheduled,
		recv:      newByteQueue(connQueueSize),
		send:      newByteQueue(connQueueSize),
	}
	c.engine = tcp.New(id, s.configFor(id), s.env)
	s.mem.Join(2) // the two queues; releaseConn leaves
	c.engine.SetUserData(c)
	return c
}

// ID is the connection's 4-tuple from the stack's side.
func (c *Conn) ID() tcp.ID { return c.engine.ID() }

// States returns every state the connection has passed through so far.
func (c *Conn) States() []tcp.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.states)
}

// LocalAddr is the stack's end. Addresses are made when asked for: an
// idle connection does not keep two.
func (c *Conn) LocalAddr() net.Addr { return net.TCPAddrFromAddrPort(c.ID().Local) }

// RemoteAddr is the peer's end.
func (c *Conn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.ID().Remote) }

// Read reads data the peer sent. It returns io.EOF after the peer's FIN,
// and a *net.OpError wrapping the engine's error (tcp.ErrConnectionReset,
// tcp.ErrTimedOut, ...) if the connection failed.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		if c.readDeadline.passed() {
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return 0, c.opError("read", net.ErrClosed)
		}
		if c.recv.Len() > 0 {
			n := c.recv.Read(p)
			// The loop refills the queue from the engine once half of it
			// is free (half of what the budget lets it hold): a wakeup,
			// a move and a window update per half queue, not per Read,
			// however small the reads.
			free := c.recv.Free(c.s.mem)
			wake := c.recvBlocked && (free >= recvRefill || c.recv.Len() <= free)
			if c.recv.Len() == 0 && (c.peerClosed || c.finished) {
				c.recv.Release(c.s.mem) // nothing more will come
			} else {
				c.recv.ReleaseIfIdle(c.s.mem)
			}
			c.mu.Unlock()
			if wake {
				c.s.wakeConn(c) // room again for what the engine holds
			}
			return n, nil
		}
		if len(p) == 0 {
			c.mu.Unlock()
			return 0, nil
		}
		if len(c.leftover) > 0 {
			n := copy(p, c.leftover)
			if c.leftover = c.leftover[n:]; len(c.leftover) == 0 {
				c.leftover = nil
			}
			c.mu.Unlock()
			return n, nil
		}
		switch {
		case c.readClosed:
			c.mu.Unlock()
			return 0, io.EOF
		case c.err != nil: // a reset after the peer's FIN is still an error
			err := c.err
			c.mu.Unlock()
			return 0, c.opError("read", err)
		case c.peerClosed, c.finished:
			c.mu.Unlock()
			return 0, io.EOF
		}
		changed := c.waitLocked()
		c.mu.Unlock()
		select {
		case <-changed:
		case <-c.readDeadline.expired():
		}
	}
}

// Write queues p for sending and returns when all of it is queued, the
// write deadline passes, or the connection fails.
func (c *Conn) Write(p []byte) (int, error) {
	written := 0
	counted := false
	for {
		if c.writeDeadline.passed() {
			return written, c.opError("write", os.ErrDeadlineExceeded)
		}
		c.mu.Lock()
		if err := c.writeErrLocked(); err != nil {
			c.mu.Unlock()
			return written, c.opError("write", err)
		}
		n := c.send.Write(c.s.mem, p[written:])
		written += n
		if written == len(p) {
			c.mu.Unlock()
			if n > 0 {
				c.s.wakeConn(c)
			}
			return written, nil
		}
		if !counted && c.send.Clamped(c.s.mem) {
			// The queue is full at what the budget grants, short of
			// its size: the writer waits instead of memory growing.
			counted = true
			c.s.memory.writersBlocked.Add(1)
		}
		changed := c.waitLocked()
		c.mu.Unlock()
		if n > 0 {
			c.s.wakeConn(c)
		}
		select {
		case <-changed:
		case <-c.writeDeadline.expired():
		}
	}
}

// writeErrLocked says why no more data can be queued, or nil.
func (c *Conn) writeErrLocked() error {
	switch {
	case c.closed:
		return net.ErrClosed
	case c.err != nil:
		return c.err
	case c.sendErr != nil:
		return c.sendErr
	case c.writeClosed, c.finished:
		return syscall.EPIPE
	}
	return nil
}

// Close closes the connection: data queued is still sent, then a FIN
// (RFC 9293 CLOSE). It does not wait for either. If received data was
// left unread, the connection is reset instead, as Linux does and RFC 2525
// §2.17 recommends, so the peer learns that data was lost.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	c.closed = true
	if c.recv.Len() > 0 {
		c.abort = true
	}
	c.recv.Release(c.s.mem)
	c.notifyLocked()
	c.mu.Unlock()
	c.readDeadline.stop()
	c.writeDeadline.stop()
	c.s.wakeConn(c)
	return nil
}

// CloseWrite sends a FIN after the data queued and keeps receiving
// (half-close).
func (c *Conn) CloseWrite() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.opError("close", net.ErrClosed)
	}
	if !c.writeClosed {
		c.writeClosed = true
		c.notifyLocked()
		c.s.wakeConn(c)
	}
	return nil
}

// CloseRead discards received data from now on; Read returns io.EOF.
func (c *Conn) CloseRead() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.opError("close", net.ErrClosed)
	}
	if !c.readClosed {
		c.readClosed = true
		c.recv.Release(c.s.mem)
		c.notifyLocked()
		c.s.wakeConn(c)
	}
	return nil
}

// Abort resets the connection (RFC 9293 ABORT): queued data is
// discarded and a RST goes to the peer, as closing a socket with SO_LINGER
// 0 does. A relay passes on with it a reset from the other side.
func (c *Conn) Abort() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opError("abort", net.ErrClosed)
	}
	c.mu.Unlock()
	c.abortFromStack()
	c.readDeadline.stop()
	c.writeDeadline.stop()
	return nil
}

// SetDeadline sets the read and write deadlines; see net.Conn.
func (c *Conn) SetDeadline(t time.Time) error {
	c.readDeadline.set(t)
	c.writeDeadline.set(t)
	c.wakeWaiters()
	return nil
}

// SetReadDeadline sets the deadline of Read calls, present and future.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.readDeadline.set(t)
	c.wakeWaiters()
	return nil
}

// SetWriteDeadline sets the deadline of Write calls, present and future.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline.set(t)
	c.wakeWaiters()
	return nil
}

// wakeWaiters makes blocked calls look again: one blocked before the
// deadline was first set waits on no deadline channel at all.
func (c *Conn) wakeWaiters() {
	c.mu.Lock()
	c.notifyLocked()
	c.mu.Unlock()
}

// waitLocked returns the channel that closes at the next change.
func (c *Conn) waitLocked() <-chan struct{} {
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return c.changed
}

// notifyLocked wakes everyone blocked on the connection.
func (c *Conn) notifyLocked() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// closeFromStack closes the connection on the application's behalf
// (Shutdown): its FIN goes out after the data queued.
func (c *Conn) closeFromStack() {
	c.mu.Lock()
	c.closed = true
	c.recv.Release(c.s.mem)
	c.notifyLocked()
	c.mu.Unlock()
}

// abortFromStack asks the loop to reset the connection (a cancelled Dial,
// a connection a closed listener never accepted).
func (c *Conn) abortFromStack() {
	c.mu.Lock()
	c.abort = true
	c.closed = true
	c.notifyLocked()
	c.mu.Unlock()
	c.s.wakeConn(c)
}

// stackStopped tells the application that the loop has ended.
func (c *Conn) stackStopped() {
	c.mu.Lock()
	if !c.finished {
		c.finished = true
		if c.err == nil && !c.peerClosed {
			c.err = ErrStopped
		}
	}
	c.notifyLocked()
	c.mu.Unlock()
}
