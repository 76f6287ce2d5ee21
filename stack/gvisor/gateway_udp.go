package gvisor

import (
	"errors"
	"net"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// A gateway (Options.UDPForward) takes the UDP datagrams routed into the
// link for addresses that are not the stack's, as the native stack's
// Options.UDPForward does: the first datagram of each flow (a source and
// destination address and port) that no socket takes is offered to it
// through gVisor's UDP forwarder, and if it accepts, the flow gets a
// socket of its own, bound to the datagram's destination and connected
// to its source, so that its next datagrams go there and what the
// gateway writes leaves from the destination the client addressed. The
// stack keeps no time-out of its own for flows: the gateway closes the
// socket when the flow has been idle long enough (RFC 4787 §4.3).

// UDPForwardRequest is the first datagram of a flow to an address that
// is not the stack's, offered to Options.UDPForward, as
// stack.UDPForwardRequest is for the native stack.
type UDPForwardRequest struct {
	// Local is where the datagram was sent to, Remote where it came from.
	Local, Remote netip.AddrPort
	req           *udp.ForwarderRequest
	accepted      bool
}

// ErrForwardAccepted: Accept was called twice for one request.
var ErrForwardAccepted = errors.New("gvisor: UDP flow accepted already")

// Accept makes the flow's socket: bound to r.Local and connected to
// r.Remote; the datagram offered is the first in its receive queue. Call
// it only during the call to Options.UDPForward, which must not block:
// hand the socket to a goroutine of the gateway.
func (r *UDPForwardRequest) Accept() (net.Conn, error) {
	if r.accepted {
		return nil, ErrForwardAccepted
	}
	var wq waiter.Queue
	ep, err := r.req.CreateEndpoint(&wq)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(r.Local), Err: errnoOf(err)}
	}
	r.accepted = true
	return gonet.NewUDPConn(&wq, ep), nil
}

// handleUDP is gVisor's handler of UDP datagrams that no socket takes.
// Those to the stack's own addresses go on to gVisor's usual answer (a
// port unreachable); those to other unicast addresses are offered to
// Options.UDPForward; the rest is dropped, as the native stack drops
// datagrams not for it.
func (s *Stack) handleUDP(id gstack.TransportEndpointID, pkt *gstack.PacketBuffer) bool {
	dst := netipAddr(id.LocalAddress)
	if s.isLocal(dst) {
		return false
	}
	if s.udpForward == nil || s.shuttingDown.Load() || !dst.IsGlobalUnicast() {
		s.reasons.drop(reasonNotOurAddress)
		return true
	}
	if id.LocalPort == 0 || id.RemotePort == 0 {
		s.reasons.drop(reasonUDPNotTaken)
		return true
	}
	return s.udpForwarder.HandlePacket(id, pkt) // offerUDP
}

// offerUDP offers a new flow to Options.UDPForward; a flow it does not
// take is dropped, without a port unreachable, as the native stack does.
func (s *Stack) offerUDP(req *udp.ForwarderRequest) bool {
	id := req.ID()
	r := UDPForwardRequest{
		Local:  netip.AddrPortFrom(netipAddr(id.LocalAddress), id.LocalPort),
		Remote: netip.AddrPortFrom(netipAddr(id.RemoteAddress), id.RemotePort),
		req:    req,
	}
	s.udpForward(&r)
	if !r.accepted {
		s.reasons.drop(reasonUDPNotTaken)
	}
	return true
}
