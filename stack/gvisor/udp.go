package gvisor

import (
	"net"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/internal/sockaddr"
)

// ListenPacket opens a UDP socket on address, as stack.Stack.ListenPacket
// does: host must be one of the stack's addresses, and an empty host means
// all of them. network is "udp" (both families: one dual-stack gVisor
// endpoint), "udp4" or "udp6". So the daemon serves its UDP services
// (udp-echo) on either engine.
func (s *Stack) ListenPacket(network, address string) (net.PacketConn, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "listen", Net: network, Err: err}
	}
	if s.shuttingDown.Load() {
		return nil, opErr(stack.ErrStopped)
	}
	la, err := sockaddr.ListenUDP(network, address)
	if err != nil {
		return nil, opErr(err)
	}
	var wq waiter.Queue
	ep, bind, err := s.newEndpoint(udp.ProtocolNumber, la, &wq) // net.go
	if err != nil {
		return nil, opErr(err)
	}
	if udpErr := ep.Bind(bind); udpErr != nil {
		ep.Close()
		return nil, opErr(errnoOf(udpErr))
	}
	return &packetConn{UDPConn: gonet.NewUDPConn(&wq, ep), network: network}, nil
}

// packetConn is a gonet UDP socket whose calls fail with net.ErrClosed
// once it is closed, as the services expect of a closed socket.
type packetConn struct {
	*gonet.UDPConn
	network string
	closed  atomic.Bool
}

func (c *packetConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.UDPConn.ReadFrom(b)
	if err != nil && c.closed.Load() {
		return 0, nil, &net.OpError{Op: "read", Net: c.network, Addr: c.LocalAddr(), Err: net.ErrClosed}
	}
	return n, from, err
}

func (c *packetConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	n, err := c.UDPConn.WriteTo(b, addr)
	if err != nil && c.closed.Load() {
		return 0, &net.OpError{Op: "write", Net: c.network, Addr: addr, Err: net.ErrClosed}
	}
	return n, err
}

func (c *packetConn) Close() error {
	c.closed.Store(true)
	return c.UDPConn.Close()
}
