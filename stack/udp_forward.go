package stack

import (
	"errors"
	"net/netip"

	"github.com/tunstack/tunstack/stack/wire"
)

// A gateway (Options.UDPForward) takes the UDP datagrams routed into the
// link for addresses that are not the stack's: the first datagram of each
// flow (a source and destination address and port) is offered to it, and
// if it accepts, the flow gets a socket of its own, bound to the
// datagram's destination and connected to its source. The flow's next
// datagrams go to that socket, and what the gateway writes on it leaves
// from the destination the client addressed, as NAT would answer. The
// stack keeps no time-out of its own for flows: the gateway closes the
// socket when the flow has been idle long enough (RFC 4787 §4.3).

// UDPForwardRequest is the first datagram of a flow to an address that is
// not the stack's, offered to Options.UDPForward on the loop.
type UDPForwardRequest struct {
	s *Stack
	// Local is where the datagram was sent to, Remote where it came from.
	Local, Remote netip.AddrPort
	// Payload is the datagram's data; valid only during the call.
	Payload  []byte
	accepted *UDPConn
}

// ErrForwardAccepted: Accept was called twice for one request.
var ErrForwardAccepted = errors.New("stack: UDP flow accepted already")

// Accept makes the flow's socket: bound to r.Local and connected to
// r.Remote; the datagram offered is the first in its receive queue. Call
// it only during the call to Options.UDPForward, which must not block:
// hand the socket to a goroutine of the gateway.
func (r *UDPForwardRequest) Accept() (*UDPConn, error) {
	if r.accepted != nil {
		return nil, ErrForwardAccepted
	}
	c := newUDPConn(r.s, udpNetwork(r.Local.Addr()), r.Remote)
	c.local, c.flow = r.Local, true
	t := &r.s.udp
	t.mu.Lock()
	if t.flows == nil {
		t.flows = make(map[udpFlow]*UDPConn)
	}
	if t.all == nil {
		t.all = make(map[*UDPConn]struct{})
	}
	t.flows[udpFlow{r.Local, r.Remote}] = c
	t.all[c] = struct{}{}
	t.mu.Unlock()
	r.accepted = c
	return c, nil
}

func udpNetwork(a netip.Addr) string {
	if a.Is4() {
		return "udp4"
	}
	return "udp6"
}

// forwardUDP offers a datagram that no socket takes, to an address not
// the stack's, to the gateway; it returns the socket the gateway made
// for its flow, or nil. Runs on the loop.
func (s *Stack) forwardUDP(dst, src netip.AddrPort, payload []byte) *UDPConn {
	if s.udpForward == nil || dst.Port() == 0 || src.Port() == 0 || !dst.Addr().IsGlobalUnicast() {
		return nil
	}
	r := UDPForwardRequest{s: s, Local: dst, Remote: src, Payload: payload}
	s.udpForward(&r)
	return r.accepted
}

// takesDestination reports whether the stack takes a packet of protocol
// to dst, an address not its own: a UDP datagram to a unicast address
// when a gateway forwards UDP, a TCP segment to one when a gateway
// listener takes TCP (gateway_listener.go).
func (s *Stack) takesDestination(dst netip.Addr, protocol uint8) bool {
	if !dst.IsGlobalUnicast() {
		return false
	}
	switch protocol {
	case wire.ProtoUDP:
		return s.udpForward != nil
	case wire.ProtoTCP:
		return s.hasGateway()
	}
	return false
}
