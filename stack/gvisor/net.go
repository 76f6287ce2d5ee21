package gvisor

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	gtcp "gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/internal/sockaddr"
)

// Listen listens on address, "host:port" or ":port", as stack.Stack.Listen
// does: host must be one of the stack's addresses, and an empty host means
// all of them. network is "tcp" (both families: one dual-stack gVisor
// endpoint), "tcp4" or "tcp6". Port 0 lets gVisor pick a free port.
func (s *Stack) Listen(network, address string) (net.Listener, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "listen", Net: network, Err: err}
	}
	if s.shuttingDown.Load() {
		return nil, opErr(stack.ErrStopped)
	}
	la, err := sockaddr.Listen(network, address)
	if err != nil {
		return nil, opErr(err)
	}
	var wq waiter.Queue
	ep, bind, err := s.newEndpoint(gtcp.ProtocolNumber, la, &wq)
	if err != nil {
		return nil, opErr(err)
	}
	// As Go's net.Listen does (SO_REUSEADDR): connections of an earlier
	// listener on the port, closing or in TIME-WAIT, must not keep a new
	// one from binding it.
	ep.SocketOptions().SetReuseAddress(true)
	if tcpErr := ep.Bind(bind); tcpErr != nil {
		ep.Close()
		return nil, opErr(errnoOf(tcpErr))
	}
	if tcpErr := ep.Listen(s.backlog); tcpErr != nil {
		ep.Close()
		return nil, opErr(errnoOf(tcpErr))
	}
	return &listener{TCPListener: gonet.NewTCPListener(s.gv, &wq, ep), s: s}, nil
}

// listener is a gonet listener whose Accept fails with net.ErrClosed once
// it or the stack is closed, as the services expect of a closed listener.
type listener struct {
	*gonet.TCPListener
	s      *Stack
	closed atomic.Bool
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.Accept()
	if err != nil && (l.closed.Load() || l.s.shuttingDown.Load()) {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: net.ErrClosed}
	}
	return c, err
}

func (l *listener) Close() error {
	l.closed.Store(true)
	return l.TCPListener.Close()
}

// DialContext opens a connection to address ("ip:port", no name lookup)
// and returns once it is established. Failures are *net.OpError values
// wrapping the errno connect(2) would give (ECONNREFUSED, ETIMEDOUT, ...)
// or ctx's error.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	remote, err := sockaddr.Dial(network, address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	fail := func(err error) error {
		return &net.OpError{Op: "dial", Net: network, Addr: net.TCPAddrFromAddrPort(remote), Err: err}
	}
	if s.shuttingDown.Load() {
		return nil, fail(stack.ErrStopped)
	}
	if !s.hasFamily(remote.Addr().Is4()) {
		return nil, fail(stack.ErrNoAddress)
	}
	proto := tcpip.NetworkProtocolNumber(ipv4.ProtocolNumber)
	if remote.Addr().Is6() {
		proto = ipv6.ProtocolNumber
	}
	var wq waiter.Queue
	ep, tcpErr := s.gv.NewEndpoint(gtcp.ProtocolNumber, proto, &wq)
	if tcpErr != nil {
		return nil, fail(errnoOf(tcpErr))
	}
	entry, notify := waiter.NewChannelEntry(waiter.WritableEvents)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)
	tcpErr = ep.Connect(tcpip.FullAddress{Addr: tcpipAddr(remote.Addr()), Port: remote.Port()})
	if _, started := tcpErr.(*tcpip.ErrConnectStarted); started {
		select {
		case <-notify:
			tcpErr = ep.LastError()
		case <-ctx.Done():
			ep.Abort()
			return nil, fail(ctx.Err())
		}
	}
	if tcpErr != nil {
		ep.Close()
		return nil, fail(errnoOf(tcpErr))
	}
	return gonet.NewTCPConn(&wq, ep), nil
}

// newEndpoint makes a listening socket's endpoint of the transport for
// la, dual-stack or not as la's network says, and the address to bind it
// to: what Listen and ListenPacket share.
func (s *Stack) newEndpoint(transport tcpip.TransportProtocolNumber, la sockaddr.ListenAddr, wq *waiter.Queue) (tcpip.Endpoint, tcpip.FullAddress, error) {
	bind, proto, v6only, err := s.bindAddress(la)
	if err != nil {
		return nil, bind, err
	}
	ep, tErr := s.gv.NewEndpoint(transport, proto, wq)
	if tErr != nil {
		return nil, bind, errnoOf(tErr)
	}
	if proto == ipv6.ProtocolNumber {
		ep.SocketOptions().SetV6Only(v6only)
	}
	// The stack's own NIC only: bound to the unspecified address, the
	// endpoint would take the gateway's packets to its port too
	// (foreign.go).
	if tErr := ep.SocketOptions().SetBindToDevice(int32(nicID)); tErr != nil {
		ep.Close()
		return nil, bind, errnoOf(tErr)
	}
	return ep, bind, nil
}

// bindAddress is where an endpoint listening on la binds, of which
// network protocol, and whether an IPv6 one takes IPv6 only: "tcp" or
// "udp" on every address is one dual-stack IPv6 endpoint when the stack
// has both families.
func (s *Stack) bindAddress(la sockaddr.ListenAddr) (bind tcpip.FullAddress, proto tcpip.NetworkProtocolNumber, v6only bool, err error) {
	bind = tcpip.FullAddress{Port: la.Port}
	a := la.Addr
	if !a.IsValid() {
		has4, has6 := s.hasFamily(true), s.hasFamily(false)
		switch {
		case la.Want6 && has6:
			return bind, ipv6.ProtocolNumber, !(la.Want4 && has4), nil
		case la.Want4 && has4:
			return bind, ipv4.ProtocolNumber, false, nil
		}
		return bind, 0, false, stack.ErrNoAddress
	}
	if !a.IsUnspecified() && !s.isLocal(a) {
		return bind, 0, false, syscall.EADDRNOTAVAIL
	}
	proto, v6only = ipv4.ProtocolNumber, a.Is6()
	if a.Is6() {
		proto = ipv6.ProtocolNumber
	}
	if !a.IsUnspecified() {
		bind.Addr = tcpipAddr(a)
	}
	return bind, proto, v6only, nil
}

func (s *Stack) hasFamily(v4 bool) bool {
	for _, a := range s.addrs {
		if a.Is4() == v4 {
			return true
		}
	}
	return false
}

func (s *Stack) isLocal(a netip.Addr) bool {
	for _, l := range s.addrs {
		if l == a {
			return true
		}
	}
	return false
}

// errnoOf turns a gVisor error into the errno a socket call would give, so
// that errors.Is(err, syscall.ECONNREFUSED) works as with the native stack.
func errnoOf(err tcpip.Error) error {
	switch err.(type) {
	case *tcpip.ErrConnectionRefused:
		return syscall.ECONNREFUSED
	case *tcpip.ErrTimeout:
		return syscall.ETIMEDOUT
	case *tcpip.ErrConnectionReset:
		return syscall.ECONNRESET
	case *tcpip.ErrConnectionAborted, *tcpip.ErrAborted:
		return syscall.ECONNABORTED
	case *tcpip.ErrNetworkUnreachable, *tcpip.ErrNoNet:
		return syscall.ENETUNREACH
	case *tcpip.ErrHostUnreachable, *tcpip.ErrHostDown:
		return syscall.EHOSTUNREACH
	case *tcpip.ErrPortInUse, *tcpip.ErrAlreadyBound:
		return syscall.EADDRINUSE
	case *tcpip.ErrNoPortAvailable, *tcpip.ErrBadLocalAddress:
		return syscall.EADDRNOTAVAIL
	}
	return errors.New(err.String())
}
