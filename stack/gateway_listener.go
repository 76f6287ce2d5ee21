package stack

import (
	"fmt"
	"net"
	"net/netip"
)

// A gateway takes the TCP connections routed into the link for addresses
// that are not the stack's, whatever their port, as slirp4netns or a
// tun2socks does for a namespace whose default route is the device. Its
// listener is one more listener: a connection to the stack's own
// addresses still goes to the listener of its port, a connection to any
// other unicast address to the gateway's. Martian sources are dropped as
// they are for the stack's own addresses (martian.go); a multicast or
// broadcast destination is never taken.

// ErrGatewayListening: the stack has a gateway listener already.
var ErrGatewayListening = fmt.Errorf("stack: a gateway listener exists already")

// ListenGateway makes the listener of TCP connections to any unicast
// address that is not the stack's, on any port. Its connections' local
// address (Conn.LocalAddr, its ID's Local) is the destination the client
// addressed. opts.Admit lets the gateway answer each SYN only once it
// knows what the destination says. One per stack; Close ends it.
func (s *Stack) ListenGateway(opts ListenOptions) (*Listener, error) {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	select {
	case <-s.shutdown:
		return nil, &net.OpError{Op: "listen", Net: "tcp", Err: ErrStopped}
	case <-s.stopped:
		return nil, &net.OpError{Op: "listen", Net: "tcp", Err: ErrStopped}
	default:
	}
	if s.gateway != nil {
		return nil, ErrGatewayListening
	}
	ln := &Listener{s: s, backlog: s.backlog, synBacklog: s.synBacklog, admit: opts.Admit, gone: opts.Abandoned, changed: make(chan struct{})}
	ln.addr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.IPv6Unspecified(), 0))
	s.gateway = ln
	return ln, nil
}

// hasGateway reports whether a gateway listener takes TCP to addresses
// not the stack's.
func (s *Stack) hasGateway() bool {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	return s.gateway != nil
}
