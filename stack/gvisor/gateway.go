package gvisor

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	gtcp "gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// A gateway takes the TCP connections routed into the link for addresses
// that are not the stack's, whatever their port, as the native stack's
// ListenGateway does, the way Tailscale's userspace networking uses
// gVisor: a NIC that takes packets to any address (foreign.go) and a
// gVisor TCP forwarder that gets every SYN no endpoint takes. A SYN to
// one of the stack's own addresses never reaches the gateway: a closed
// port there is answered with a RST as before, and a service listening
// on all of the stack's addresses (":80") takes no connection to another
// address on its port.
//
// The forwarder holds the SYN, unanswered, until the gateway decides it
// (SYNRequest): Accept completes the handshake, Refuse answers with a
// RST, Drop forgets it, so the client retransmits and its next SYN is
// decided afresh. Retransmissions of a SYN that waits are dropped by the
// forwarder, and at most Options.SynBacklog SYNs wait at once (the
// forwarder's maxInFlight; beyond it gVisor drops them, as
// ForwardMaxInFlightDrop).

// SYNRequest is a client's SYN to an address not the stack's, held for
// the gateway's Admit hook to decide, as stack.SYNRequest is for the
// native stack; the first decision counts.
type SYNRequest struct {
	ln      *gatewayListener
	req     *gtcp.ForwarderRequest
	id      tcp.ID
	decided atomic.Bool
}

// ID is the connection the SYN asks for, from the stack's side: Local is
// the destination the client addressed.
func (r *SYNRequest) ID() tcp.ID { return r.id }

// Accept answers the SYN with a SYN-ACK; the connection reaches the
// listener's Accept once the handshake is done. It does not block.
func (r *SYNRequest) Accept() {
	if !r.decided.CompareAndSwap(false, true) {
		return
	}
	if r.ln.isClosed() {
		r.ln.s.reasons.drop(reasonAdmissionStale)
		r.req.Complete(false)
		return
	}
	// CreateEndpoint blocks until the handshake ends; the forwarder's
	// maxInFlight bounds these goroutines.
	go r.ln.handshake(r)
}

// Refuse answers the SYN with a RST, as a closed port does (RFC 9293
// §3.10.7.1); reason is counted among the drops and the RSTs.
func (r *SYNRequest) Refuse(reason string) {
	if !r.decided.CompareAndSwap(false, true) {
		return
	}
	r.ln.s.reasons.refuse(reason)
	r.req.Complete(true)
}

// Drop forgets the SYN and sends nothing: the client retransmits it and
// the Admit hook is asked again. reason is counted among the drops.
func (r *SYNRequest) Drop(reason string) {
	if !r.decided.CompareAndSwap(false, true) {
		return
	}
	r.ln.s.reasons.drop(reason)
	r.req.Complete(false)
}

// Drop reasons of the gateway, named as the native stack's.
const (
	reasonNotOurAddress  = "not-our-address"   // nothing takes this destination
	reasonUDPNotTaken    = "udp-not-forwarded" // Options.UDPForward did not take the flow
	reasonAdmissionStale = "admission-stale"   // the listener closed before the decision
)

// ListenGateway makes the listener of TCP connections to any unicast
// address that is not the stack's, on any port, as
// stack.Stack.ListenGateway does. Its connections' local address is the
// destination the client addressed; they have ID, CloseWrite and Abort
// as *stack.Conn has. admit decides each SYN (it must not block); nil
// accepts every one. abandoned, if not nil, is told of each accepted SYN
// whose handshake then failed. One per stack; Close ends it.
func (s *Stack) ListenGateway(admit func(*SYNRequest), abandoned func(tcp.ID)) (net.Listener, error) {
	if s.shuttingDown.Load() {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Err: stack.ErrStopped}
	}
	ln := &gatewayListener{s: s, admit: admit, abandoned: abandoned, queue: make(chan net.Conn, s.backlog), done: make(chan struct{})}
	if !s.gateway.CompareAndSwap(nil, ln) {
		return nil, stack.ErrGatewayListening
	}
	if err := s.takeForeign(); err != nil {
		s.gateway.Store(nil)
		return nil, &net.OpError{Op: "listen", Net: "tcp", Err: err}
	}
	return ln, nil
}

// handleTCP is gVisor's handler of TCP segments that no endpoint takes.
// Those to the stack's own addresses go on to gVisor's usual answer (a
// RST); the SYNs to other unicast addresses go to the gateway's
// forwarder; the rest is dropped, as the native stack drops segments not
// for it.
func (s *Stack) handleTCP(id gstack.TransportEndpointID, pkt *gstack.PacketBuffer) bool {
	dst := netipAddr(id.LocalAddress)
	if s.isLocal(dst) {
		return false
	}
	ln := s.gateway.Load()
	if ln == nil || ln.isClosed() || s.shuttingDown.Load() || !dst.IsGlobalUnicast() {
		s.reasons.drop(reasonNotOurAddress)
		return true
	}
	// false: not a SYN, so not a new connection; gVisor answers it
	// with a RST as any segment of no connection (RFC 9293 §3.10.7.1).
	return s.forwarder.HandlePacket(id, pkt)
}

// forward is the forwarder's handler of a SYN to an address not the
// stack's, on a goroutine of its own; the request must be completed.
func (s *Stack) forward(req *gtcp.ForwarderRequest) {
	ln := s.gateway.Load()
	if ln == nil || ln.isClosed() {
		s.reasons.drop(reasonAdmissionStale)
		req.Complete(false)
		return
	}
	r := &SYNRequest{ln: ln, req: req, id: forwardedID(req.ID())}
	if ln.admit == nil {
		r.Accept()
		return
	}
	ln.admit(r)
}

// forwardedID is a forwarded connection's ID from the stack's side.
func forwardedID(id gstack.TransportEndpointID) tcp.ID {
	return tcp.ID{
		Local:  netip.AddrPortFrom(netipAddr(id.LocalAddress), id.LocalPort),
		Remote: netip.AddrPortFrom(netipAddr(id.RemoteAddress), id.RemotePort),
	}
}

// gatewayListener queues the gateway's connections for Accept.
type gatewayListener struct {
	s         *Stack
	admit     func(*SYNRequest)
	abandoned func(tcp.ID) // told of an accepted SYN whose handshake failed
	queue     chan net.Conn
	done      chan struct{}
	once      sync.Once
}

// handshake completes an accepted SYN's handshake and queues the
// connection; a full queue holds the handshake's goroutine until Accept
// takes one, so that the forwarder's maxInFlight bounds them too.
func (l *gatewayListener) handshake(r *SYNRequest) {
	var wq waiter.Queue
	ep, err := r.req.CreateEndpoint(&wq)
	r.req.Complete(false)
	if err != nil { // the client gave up or reset: gVisor counted the failed attempt
		if l.abandoned != nil {
			l.abandoned(r.id)
		}
		return
	}
	c := &gatewayConn{TCPConn: gonet.NewTCPConn(&wq, ep), ep: ep.(tcpEndpoint), id: r.id}
	select {
	case l.queue <- c:
	case <-l.done:
		c.Abort()
	case <-l.s.stopped:
		c.Abort()
	}
}

func (l *gatewayListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.queue:
		return c, nil
	case <-l.done:
	case <-l.s.stopped:
	}
	return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: net.ErrClosed}
}

// Close stops taking SYNs and resets the connections not yet accepted.
func (l *gatewayListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		for {
			select {
			case c := <-l.queue:
				c.(*gatewayConn).Abort()
			default:
				return
			}
		}
	})
	return nil
}

func (l *gatewayListener) isClosed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// Addr is [::]:0, as the native gateway listener's: it listens on every
// address and port.
func (l *gatewayListener) Addr() net.Addr {
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.IPv6Unspecified(), 0))
}

// gatewayConn is a relayed connection: a gonet connection with the
// 4-tuple and the reset of *stack.Conn.
type gatewayConn struct {
	*gonet.TCPConn
	ep tcpEndpoint
	id tcp.ID
}

// ID is the connection's 4-tuple; Local is the destination the client
// addressed.
func (c *gatewayConn) ID() tcp.ID { return c.id }

// Abort resets the connection (RFC 9293 §3.10.5 ABORT): a RST to the
// client, and reads and writes fail.
func (c *gatewayConn) Abort() error {
	c.ep.Abort()
	return nil
}
