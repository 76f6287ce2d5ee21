package stack

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// UDPConn is a UDP socket of the stack: a net.PacketConn, and a net.Conn
// for a socket made by DialUDP (or accepted by a gateway), which sends to
// and takes datagrams from one remote address, as *net.UDPConn is. Its
// methods are safe for concurrent use. Datagrams wait in a receive queue
// bounded by SetReadBuffer (DefaultUDPReadBuffer), whose storage comes out
// of the stack's buffer budget (Options.BufferBudget); one that finds the
// queue full, or the budget spent, is dropped and counted
// (Counters.UDP.RcvbufErrors).
type UDPConn struct {
	s       *Stack
	network string
	keys    []netip.AddrPort // in udpTable.bound; none for a gateway's flow
	local   netip.AddrPort   // as LocalAddr shows it
	remote  netip.AddrPort   // valid: connected
	flow    bool             // in udpTable.flows (udp_forward.go)

	readDeadline, writeDeadline deadline

	mu      sync.Mutex
	changed chan struct{} // closed at the next change below; made when someone waits
	queue   []udpDatagram // received, not read yet; queue[0] is next
	held    int           // bytes of storage the queue holds
	limit   int           // bounds held
	// err is an ICMP error for a connected socket (ECONNREFUSED, ...):
	// the next Read or Write returns it, once, as Linux's sk_err.
	err     error
	drops   uint64 // datagrams the queue had no room for
	closed  bool
	stopped bool // the stack's loop has ended
}

var (
	_ net.PacketConn = (*UDPConn)(nil)
	_ net.Conn       = (*UDPConn)(nil)
)

// udpDatagram is a datagram in a receive queue or the send queue: data
// is buf[:n], buf storage from the buffer budget.
type udpDatagram struct {
	from, to netip.AddrPort
	buf      []byte
	n        int
	// unreachable: in the send queue, not a datagram but a port
	// unreachable for to, from from (UDPConn.PortUnreachable).
	unreachable bool
}

func newUDPConn(s *Stack, network string, remote netip.AddrPort) *UDPConn {
	return &UDPConn{s: s, network: network, remote: remote, limit: DefaultUDPReadBuffer}
}

// LocalAddr is the address the socket is bound to (":port" for every
// address of both families).
func (c *UDPConn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.local) }

// RemoteAddr is the address a connected socket sends to; nil for one that
// is not connected.
func (c *UDPConn) RemoteAddr() net.Addr {
	if !c.remote.IsValid() {
		return nil
	}
	return net.UDPAddrFromAddrPort(c.remote)
}

// ReadFrom reads the next datagram into p and returns its length and
// sender. A datagram longer than p is cut to fit; the rest is lost, as
// with a socket.
func (c *UDPConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromUDPAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// Read reads the next datagram into p, as ReadFrom without the sender.
func (c *UDPConn) Read(p []byte) (int, error) {
	n, _, err := c.ReadFromUDPAddrPort(p)
	return n, err
}

// ReadFromUDPAddrPort is ReadFrom returning the sender as a
// netip.AddrPort.
func (c *UDPConn) ReadFromUDPAddrPort(p []byte) (int, netip.AddrPort, error) {
	d, err := c.next()
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	n := copy(p, d.buf[:d.n])
	c.s.mem.ReleaseExtra(d.buf)
	return n, d.from, nil
}

// ReadDatagram waits for the next datagram as Read does and calls fn with
// its payload, which is valid only during the call. A relay that waits on
// many sockets needs no buffer of its own per socket for it.
func (c *UDPConn) ReadDatagram(fn func(payload []byte)) error {
	d, err := c.next()
	if err != nil {
		return err
	}
	fn(d.buf[:d.n])
	c.s.mem.ReleaseExtra(d.buf)
	return nil
}

// next takes the next datagram out of the receive queue, waiting for one
// until the read deadline; the caller releases its buffer.
func (c *UDPConn) next() (udpDatagram, error) {
	for {
		if c.readDeadline.passed() {
			return udpDatagram{}, c.opError("read", os.ErrDeadlineExceeded, netip.AddrPort{})
		}
		c.mu.Lock()
		if err := c.stateErrLocked(); err != nil {
			c.mu.Unlock()
			return udpDatagram{}, c.opError("read", err, netip.AddrPort{})
		}
		if len(c.queue) > 0 {
			d := c.queue[0]
			c.queue[0] = udpDatagram{}
			c.queue = c.queue[1:]
			if len(c.queue) == 0 {
				c.queue = nil // let the array go rather than creep along it
			}
			c.held -= cap(d.buf)
			c.mu.Unlock()
			return d, nil
		}
		if err := c.takeErrLocked(); err != nil {
			c.mu.Unlock()
			return udpDatagram{}, c.opError("read", err, netip.AddrPort{})
		}
		changed := c.waitLocked()
		c.mu.Unlock()
		select {
		case <-changed:
		case <-c.readDeadline.expired():
		}
	}
}

// WriteTo sends p as one datagram to addr, a *net.UDPAddr or an
// "ip:port" string's net.Addr. A connected socket refuses it (EISCONN):
// it writes with Write.
func (c *UDPConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	to, err := udpAddrPort(addr)
	if err != nil {
		return 0, c.opError("write", err, netip.AddrPort{})
	}
	if c.remote.IsValid() {
		return 0, c.opError("write", syscall.EISCONN, to)
	}
	return c.WriteToUDPAddrPort(p, to)
}

// Write sends p as one datagram to a connected socket's remote address.
func (c *UDPConn) Write(p []byte) (int, error) {
	if !c.remote.IsValid() {
		return 0, c.opError("write", syscall.ENOTCONN, netip.AddrPort{})
	}
	return c.write(p, c.remote)
}

// WriteToUDPAddrPort is WriteTo for a netip.AddrPort.
func (c *UDPConn) WriteToUDPAddrPort(p []byte, to netip.AddrPort) (int, error) {
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	if c.remote.IsValid() && to != c.remote {
		return 0, c.opError("write", syscall.EISCONN, to)
	}
	return c.write(p, to)
}

// write queues p for the loop to send from the socket's address to to;
// it waits while the stack's send queue is full.
func (c *UDPConn) write(p []byte, to netip.AddrPort) (int, error) {
	from, err := c.source(to)
	if err != nil {
		return 0, c.opError("write", err, to)
	}
	if len(p) > maxUDPPayload(to.Addr()) {
		return 0, c.opError("write", syscall.EMSGSIZE, to)
	}
	c.mu.Lock()
	err = c.stateErrLocked()
	if err == nil {
		err = c.takeErrLocked()
	}
	c.mu.Unlock()
	if err != nil {
		return 0, c.opError("write", err, to)
	}
	if err := c.s.udpOut.put(c, from, to, p); err != nil {
		return 0, c.opError("write", err, to)
	}
	c.s.nudge()
	return len(p), nil
}

// source is the address and port a datagram to to leaves from: the
// socket's own address, or for one bound to every address the stack's
// first of to's family.
func (c *UDPConn) source(to netip.AddrPort) (netip.AddrPort, error) {
	if !to.Addr().IsValid() || to.Port() == 0 || to.Addr().IsUnspecified() {
		return netip.AddrPort{}, syscall.EINVAL
	}
	if c.flow || !c.local.Addr().IsUnspecified() {
		if c.local.Addr().Is4() != to.Addr().Is4() {
			return netip.AddrPort{}, syscall.EAFNOSUPPORT
		}
		return c.local, nil
	}
	for _, key := range c.keys {
		if key.Addr().Is4() == to.Addr().Is4() {
			if a, ok := c.s.localAddrFor(to.Addr()); ok {
				return netip.AddrPortFrom(a, key.Port()), nil
			}
		}
	}
	return netip.AddrPort{}, syscall.EAFNOSUPPORT
}

// maxUDPPayload is the most data a datagram to to can carry.
func maxUDPPayload(to netip.Addr) int {
	if to.Is4() {
		return wire.MaxUDPPayload4
	}
	return wire.MaxUDPPayload6
}

// Close unbinds the socket: datagrams for it draw a port unreachable from
// now on, those queued are dropped, and blocked calls return
// net.ErrClosed. Datagrams it wrote before still go out.
func (c *UDPConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opError("close", net.ErrClosed, netip.AddrPort{})
	}
	c.closed = true
	c.releaseLocked()
	c.notifyLocked()
	c.mu.Unlock()
	c.s.udp.unbind(c)
	c.readDeadline.stop()
	c.writeDeadline.stop()
	c.s.udpOut.wakeWriters() // a writer of this socket waiting for room
	return nil
}

// SetReadBuffer bounds the receive queue to bytes of storage (each
// datagram takes at least 512).
func (c *UDPConn) SetReadBuffer(bytes int) error {
	if bytes <= 0 {
		return c.opError("set", syscall.EINVAL, netip.AddrPort{})
	}
	c.mu.Lock()
	c.limit = bytes
	c.mu.Unlock()
	return nil
}

// SetDeadline sets the read and write deadlines; see net.Conn.
func (c *UDPConn) SetDeadline(t time.Time) error {
	c.readDeadline.set(t)
	c.writeDeadline.set(t)
	c.wakeWaiters()
	return nil
}

// SetReadDeadline sets the deadline of reads, present and future.
func (c *UDPConn) SetReadDeadline(t time.Time) error {
	c.readDeadline.set(t)
	c.wakeWaiters()
	return nil
}

// SetWriteDeadline sets the deadline of writes, present and future: a
// write waits only while the stack's send queue is full.
func (c *UDPConn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline.set(t)
	c.s.udpOut.wakeWriters()
	return nil
}

// deliver queues a datagram the loop received; it returns the drop
// reason if the socket cannot take it, or "".
func (c *UDPConn) deliver(from, to netip.AddrPort, payload []byte) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.stopped {
		return dropUDPNoPort // closed between lookup and now
	}
	if c.held >= c.limit {
		c.drops++
		return dropUDPQueueFull
	}
	buf, ok := c.s.mem.Take(0, len(payload), 0, tcp.GrantStore)
	if !ok {
		c.drops++
		return dropUDPBudget
	}
	if c.held+cap(buf) > c.limit && c.held > 0 {
		c.s.mem.ReleaseExtra(buf)
		c.drops++
		return dropUDPQueueFull
	}
	n := copy(buf, payload)
	c.queue = append(c.queue, udpDatagram{from: from, to: to, buf: buf, n: n})
	c.held += cap(buf)
	c.notifyLocked()
	return ""
}

// icmpError records an ICMP error for a connected socket's next call.
func (c *UDPConn) icmpError(err error) {
	c.mu.Lock()
	c.err = err
	c.notifyLocked()
	c.mu.Unlock()
}

// stop tells the socket that the loop has ended.
func (c *UDPConn) stop() {
	c.mu.Lock()
	c.stopped = true
	c.releaseLocked()
	c.notifyLocked()
	c.mu.Unlock()
}

// stateErrLocked says why the socket can do nothing more, or nil.
func (c *UDPConn) stateErrLocked() error {
	switch {
	case c.closed:
		return net.ErrClosed
	case c.stopped:
		return ErrStopped
	}
	return nil
}

// takeErrLocked returns the pending ICMP error, once.
func (c *UDPConn) takeErrLocked() error {
	err := c.err
	c.err = nil
	return err
}

// releaseLocked gives the queue's storage back to the budget.
func (c *UDPConn) releaseLocked() {
	for _, d := range c.queue {
		c.s.mem.ReleaseExtra(d.buf)
	}
	c.queue, c.held = nil, 0
}

func (c *UDPConn) wakeWaiters() {
	c.mu.Lock()
	c.notifyLocked()
	c.mu.Unlock()
}

func (c *UDPConn) waitLocked() <-chan struct{} {
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return c.changed
}

func (c *UDPConn) notifyLocked() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

func (c *UDPConn) opError(op string, err error, to netip.AddrPort) error {
	e := &net.OpError{Op: op, Net: c.network, Source: c.LocalAddr(), Err: err}
	if to.IsValid() {
		e.Addr = net.UDPAddrFromAddrPort(to)
	} else if c.remote.IsValid() {
		e.Addr = c.RemoteAddr()
	}
	return e
}

// udpAddrPort is addr's address and port.
func udpAddrPort(addr net.Addr) (netip.AddrPort, error) {
	switch a := addr.(type) {
	case *net.UDPAddr:
		if a == nil {
			return netip.AddrPort{}, syscall.EINVAL
		}
		return a.AddrPort(), nil
	case nil:
		return netip.AddrPort{}, syscall.EINVAL
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.AddrPort{}, &net.AddrError{Err: "not ip:port", Addr: addr.String()}
	}
	return ap, nil
}
