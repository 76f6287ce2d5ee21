package stack

import (
	"context"
	"github.com/tunstack/tunstack/stack/internal/sockaddr"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"

	"github.com/tunstack/tunstack/stack/tcp"
)

// DialContext opens a connection to address ("ip:port", no name lookup)
// from the stack's address of the same family and a free port from
// 49152–65535, and returns once it is established. Failures are
// *net.OpError values wrapping tcp.ErrConnectionRefused, tcp.ErrTimedOut
// or ctx's error, so errors.Is(err, syscall.ECONNREFUSED) works. Called
// before Run, it waits for the loop to start (or for ctx). For "udp",
// "udp4" and "udp6" it returns DialUDP's connected *UDPConn at once.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if sockaddr.IsUDP(network) { // "udp", "udp4", "udp6": a connected UDP socket (udp.go)
		c, err := s.DialUDP(network, address)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	remote, err := sockaddr.Dial(network, address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	var c *Conn
	var openErr error
	if err := s.call(ctx, func() { c, openErr = s.openActive(remote) }); err != nil {
		openErr = err
	}
	if openErr != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: net.TCPAddrFromAddrPort(remote), Err: openErr}
	}
	fail := func(err error) error {
		return &net.OpError{Op: "dial", Net: network, Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	for {
		c.mu.Lock()
		if c.established {
			c.mu.Unlock()
			return c, nil
		}
		if c.finished {
			err := c.err
			c.mu.Unlock()
			if err == nil {
				err = tcp.ErrNotConnected
			}
			return nil, fail(err)
		}
		changed := c.waitLocked()
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			c.abortFromStack()
			return nil, fail(ctx.Err())
		}
	}
}

// openActive creates and registers a connection and sends its SYN. Runs
// on the loop.
func (s *Stack) openActive(remote netip.AddrPort) (*Conn, error) {
	if s.shuttingDown {
		return nil, ErrStopped
	}
	local, ok := s.localAddrFor(remote.Addr())
	if !ok {
		return nil, ErrNoAddress
	}
	port, ok := s.ephemeralPort(local)
	if !ok {
		return nil, syscall.EADDRNOTAVAIL
	}
	c := s.newConn(tcp.ID{Local: netip.AddrPortFrom(local, port), Remote: remote})
	s.register(c)
	if err := c.engine.OpenActive(s.now); err != nil {
		s.unregister(c)
		return nil, err
	}
	s.service(c)
	return c, nil
}

// ephemeralPort picks a local port no connection or listener on local
// uses, starting at a random place so that ports are not predictable.
func (s *Stack) ephemeralPort(local netip.Addr) (uint16, bool) {
	start := rand.IntN(ephemeralCount)
	for i := range ephemeralCount {
		port := uint16(ephemeralFirst + (start+i)%ephemeralCount)
		ap := netip.AddrPortFrom(local, port)
		if s.localPorts[ap] == 0 && s.listenerFor(ap) == nil {
			return port, true
		}
	}
	return 0, false
}
