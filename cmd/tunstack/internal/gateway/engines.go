package gateway

import (
	"net"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/forward"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/gvisor"
	"github.com/tunstack/tunstack/stack/tcp"
)

// The gateway runs on either engine (--engine): each has a gateway
// listener whose SYNs wait for the relay's connect, and a UDP hook that
// offers each new flow. These adapt them to the relays, which know
// neither engine.

// NativeTCP is the native stack's gateway listener, for StartTCP.
func NativeTCP(st *stack.Stack) forward.Listen {
	return forward.NativeListen(st.ListenGateway)
}

// GVisorTCP is gVisor's gateway listener (its TCP forwarder), for
// StartTCP.
func GVisorTCP(gv *gvisor.Stack) forward.Listen {
	return func(admit func(forward.SYN), abandoned func(tcp.ID)) (net.Listener, error) {
		return gv.ListenGateway(func(r *gvisor.SYNRequest) { admit(r) }, abandoned)
	}
}

// OfferNative offers a native stack's new flow (stack.Options.UDPForward).
func (u *UDP) OfferNative(r *stack.UDPForwardRequest) {
	u.Offer(r.Local, func() (net.Conn, error) {
		c, err := r.Accept()
		if err != nil {
			return nil, err // not a nil *UDPConn in a non-nil net.Conn
		}
		return c, nil
	})
}

// OfferGVisor offers gVisor's new flow (gvisor.Options.UDPForward).
func (u *UDP) OfferGVisor(r *gvisor.UDPForwardRequest) {
	u.Offer(r.Local, r.Accept)
}
