package stack

import (
	"net/netip"
	"os"
	"sync"
	"syscall"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// udpSendQueue holds the datagrams applications wrote until the loop
// sends them: a write copies its datagram in and wakes the loop, which
// takes them all at its next turn (sendQueuedUDP). It is bounded in bytes
// for all sockets together; writers wait for room, up to their write
// deadline.
type udpSendQueue struct {
	mu      sync.Mutex
	items   []udpDatagram
	spare   []udpDatagram // the loop's last batch, reused
	bytes   int
	room    chan struct{} // closed when the loop takes the queue; made by a waiting writer
	stopped bool
}

// put copies p into the queue as a datagram from from to to, waiting for
// room while the queue is full.
func (q *udpSendQueue) put(c *UDPConn, from, to netip.AddrPort, p []byte) error {
	buf, ok := c.s.mem.Take(0, len(p), 0, tcp.GrantStore)
	if !ok {
		return syscall.ENOBUFS
	}
	n := copy(buf, p)
	for {
		if c.writeDeadline.passed() {
			c.s.mem.ReleaseExtra(buf)
			return os.ErrDeadlineExceeded
		}
		q.mu.Lock()
		c.mu.Lock()
		err := c.stateErrLocked()
		c.mu.Unlock()
		if err == nil && q.stopped {
			err = ErrStopped
		}
		if err != nil {
			q.mu.Unlock()
			c.s.mem.ReleaseExtra(buf)
			return err
		}
		if q.bytes == 0 || q.bytes+cap(buf) <= udpSendQueueLimit {
			q.items = append(q.items, udpDatagram{from: from, to: to, buf: buf, n: n})
			q.bytes += cap(buf)
			q.mu.Unlock()
			return nil
		}
		if q.room == nil {
			q.room = make(chan struct{})
		}
		room := q.room
		q.mu.Unlock()
		c.s.nudge()
		select {
		case <-room:
		case <-c.writeDeadline.expired():
		}
	}
}

// putUnreachable queues a port unreachable from from to to; it takes no
// room, so it does not wait.
func (q *udpSendQueue) putUnreachable(from, to netip.AddrPort) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return ErrStopped
	}
	q.items = append(q.items, udpDatagram{from: from, to: to, unreachable: true})
	return nil
}

// take returns every queued datagram and wakes the writers waiting for
// room; the loop gives the slice back with done.
func (q *udpSendQueue) take() []udpDatagram {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items, q.spare = q.spare[:0], nil
	q.bytes = 0
	q.wakeLocked()
	return items
}

func (q *udpSendQueue) done(items []udpDatagram) {
	clear(items)
	q.mu.Lock()
	q.spare = items[:0]
	q.mu.Unlock()
}

// wakeWriters makes waiting writers look again (a socket closed, a
// deadline moved).
func (q *udpSendQueue) wakeWriters() {
	q.mu.Lock()
	q.wakeLocked()
	q.mu.Unlock()
}

func (q *udpSendQueue) wakeLocked() {
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
}

// sendQueuedUDP sends the datagrams applications wrote. Runs on the loop.
func (s *Stack) sendQueuedUDP() {
	items := s.udpOut.take()
	if len(items) == 0 {
		s.udpOut.done(items)
		return
	}
	for _, d := range items {
		if d.unreachable {
			s.relayPortUnreachable(d.from, d.to)
			continue
		}
		s.sendUDP(d.from, d.to, d.buf[:d.n])
		s.mem.ReleaseExtra(d.buf)
	}
	s.udpOut.done(items)
}

// sendUDP puts a datagram into the output batch, in fragments if it is
// larger than the link's MTU (RFC 791 §2.3, RFC 8200 §4.5: a host may
// fragment what it sends).
func (s *Stack) sendUDP(from, to netip.AddrPort, payload []byte) {
	if s.out.n >= outBatchLimit {
		s.flush()
	}
	size := wire.UDPPacketLen(from.Addr(), len(payload))
	if size <= s.frags.mtu {
		buf := s.out.next(size)
		n, err := wire.BuildUDP(buf[Headroom:], from, to, payload)
		if err != nil {
			s.counters.drop("build:" + wire.DropReason(err))
			return
		}
		s.out.commit(n)
		s.counters.udp.outDatagrams.Add(1)
		return
	}
	scratch := s.fragScratch()
	n, err := wire.BuildUDP(scratch, from, to, payload)
	if err == nil {
		err = s.sendFragments(scratch[:n])
	}
	if err != nil {
		s.counters.drop("build:" + wire.DropReason(err))
		return
	}
	s.counters.udp.outDatagrams.Add(1)
}

// stopUDP tells every socket and writer that the loop has ended and
// gives the datagrams not sent back to the budget.
func (s *Stack) stopUDP() {
	for _, c := range s.udp.sockets() {
		c.stop()
	}
	q := &s.udpOut
	q.mu.Lock()
	q.stopped = true
	for _, d := range q.items {
		s.mem.ReleaseExtra(d.buf)
	}
	q.items, q.bytes = nil, 0
	q.wakeLocked()
	q.mu.Unlock()
}
