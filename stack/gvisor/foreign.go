package gvisor

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	gtcp "gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/tunstack/tunstack/stack"
)

// The gateway's packets, those to addresses that are not the stack's,
// reach gVisor through a NIC of their own: the same link seen as a second
// NIC (foreignNICID), promiscuous (it takes packets to any address) and
// spoofing (it answers from them), as Tailscale's userspace networking
// makes its one NIC. A second NIC rather than a promiscuous first one
// because gVisor hands a packet to any endpoint bound to the unspecified
// address and its port, whatever the packet's destination: the daemon's
// services listen so (":80"), and would answer a connection to
// 192.0.2.20:80 in the gateway's place. They are bound to the stack's
// own NIC (net.go), the forwarders' endpoints to this one.
//
// The stack's own NIC stays as it was: the packets to its addresses go
// there, and it takes no others.

// foreignNICID is the gateway's NIC; nicID is the stack's own.
const foreignNICID = nicID + 1

// foreignNIC is the link endpoint of the gateway's NIC: the stack's link
// endpoint, which writes for both, with a dispatcher of its own.
type foreignNIC struct {
	*linkEndpoint
	mu         sync.RWMutex
	dispatcher gstack.NetworkDispatcher
}

var _ gstack.LinkEndpoint = (*foreignNIC)(nil)

// Attach implements gstack.LinkEndpoint.
func (n *foreignNIC) Attach(d gstack.NetworkDispatcher) {
	n.mu.Lock()
	n.dispatcher = d
	n.mu.Unlock()
}

// IsAttached implements gstack.LinkEndpoint.
func (n *foreignNIC) IsAttached() bool { return n.getDispatcher() != nil }

func (n *foreignNIC) getDispatcher() gstack.NetworkDispatcher {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.dispatcher
}

// toOthers reports whether packet, an IPv4 or IPv6 packet, is addressed
// to an address not the stack's.
func (e *linkEndpoint) toOthers(packet []byte) bool {
	var dst netip.Addr
	switch header.IPVersion(packet) {
	case header.IPv4Version:
		if len(packet) < header.IPv4MinimumSize {
			return false // gVisor's own NIC drops it as malformed
		}
		dst = netip.AddrFrom4([4]byte(packet[16:20]))
	case header.IPv6Version:
		if len(packet) < header.IPv6MinimumSize {
			return false
		}
		dst = netip.AddrFrom16([16]byte(packet[24:40]))
	}
	return !slices.Contains(e.own, dst)
}

// relayable reports whether a packet to an address not the stack's is
// one the gateway relays: TCP or UDP (or an IPv6 fragment, which may be
// UDP). The rest is dropped as not-our-address, as the native stack
// drops it; gVisor would answer an echo request to any address.
func relayable(packet []byte) bool {
	var proto uint8
	if header.IPVersion(packet) == header.IPv4Version {
		proto = packet[9]
	} else {
		proto = packet[6]
	}
	switch proto {
	case uint8(header.TCPProtocolNumber), uint8(header.UDPProtocolNumber):
		return true
	case uint8(header.IPv6FragmentHeader):
		return header.IPVersion(packet) == header.IPv6Version
	}
	return false
}

// configureGateway creates the gateway's NIC, not yet taking anything,
// sets the route table, the stack's own routes first, and installs the
// handlers of what no endpoint takes: they leave the stack's own
// addresses to gVisor's usual answers (a RST, a port unreachable) and
// give the rest to the gateway, once there is one (gateway.go,
// gateway_udp.go).
func (s *Stack) configureGateway(opts Options, routes []tcpip.Route) error {
	s.link.own = s.addrs
	s.link.foreignNIC = &foreignNIC{linkEndpoint: s.link}
	if err := s.gv.CreateNIC(foreignNICID, s.link.foreignNIC); err != nil {
		return fmt.Errorf("gvisor: creating the gateway's NIC: %s", err)
	}
	// Replies to the clients of relayed connections, from the
	// addresses they addressed, leave by the gateway's NIC; the
	// stack's own connections find their routes first.
	routes = append(routes,
		tcpip.Route{Destination: header.IPv4EmptySubnet, NIC: foreignNICID},
		tcpip.Route{Destination: header.IPv6EmptySubnet, NIC: foreignNICID})
	s.gv.SetRouteTable(routes)

	synBacklog := opts.SynBacklog
	if synBacklog <= 0 {
		synBacklog = stack.DefaultSynBacklog
	}
	// A receive window of 0 is gVisor's default receive buffer, the
	// one its listeners' connections get too.
	s.forwarder = gtcp.NewForwarder(s.gv, 0, synBacklog, s.forward)
	s.gv.SetTransportProtocolHandler(gtcp.ProtocolNumber, s.handleTCP)
	s.udpForwarder = udp.NewForwarder(s.gv, s.offerUDP)
	s.gv.SetTransportProtocolHandler(udp.ProtocolNumber, s.handleUDP)
	if s.udpForward != nil {
		return s.takeForeign()
	}
	return nil
}

// takeForeign makes the gateway's NIC take the packets to addresses not
// the stack's and answer from them.
func (s *Stack) takeForeign() error {
	if err := s.gv.SetPromiscuousMode(foreignNICID, true); err != nil {
		return fmt.Errorf("gvisor: promiscuous mode: %s", err)
	}
	if err := s.gv.SetSpoofing(foreignNICID, true); err != nil {
		return fmt.Errorf("gvisor: spoofing: %s", err)
	}
	s.link.foreign.Store(true)
	return nil
}
