package gvisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	gtcp "gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// nicID is the one NIC of the gVisor stack.
const nicID tcpip.NICID = 1

// defaultBacklog is the native stack's default accept queue.
const defaultBacklog = stack.DefaultBacklog

// quietPoll is how often Shutdown looks whether every connection has
// closed: gVisor has no event for "all endpoints are done".
const quietPoll = 5 * time.Millisecond

// Options configure a Stack.
type Options struct {
	// Addrs are the stack's own addresses, at most one per family.
	Addrs []netip.Addr
	// MSL is the maximum segment lifetime: TIME-WAIT lasts 2*MSL, as in
	// tunstack's engine (stack/tcp). Zero means tcp.DefaultMSL.
	MSL time.Duration
	// Backlog bounds each listener's queue of connections waiting for
	// Accept. Default stack.DefaultBacklog, as the native stack's.
	Backlog int
	// SynBacklog bounds the gateway's SYNs waiting for a decision or
	// for their handshake (the TCP forwarder's maxInFlight, gateway.go).
	// Default stack.DefaultSynBacklog, as the native stack's.
	SynBacklog int
	// UDPForward, if set, is offered the first datagram of each UDP flow
	// to an address not the stack's (a gateway, gateway_udp.go). It runs
	// on the packet's delivery and must not block.
	UDPForward func(*UDPForwardRequest)
	// Logger receives the link's errors. Nil discards them.
	Logger *slog.Logger
}

// Stack is gVisor's netstack on one stack.Link, with the methods of
// *stack.Stack the daemon uses. Create it with New, start it with Run,
// stop it with Shutdown or by cancelling Run's context.
type Stack struct {
	gv      *gstack.Stack
	link    *linkEndpoint
	log     *slog.Logger
	addrs   []netip.Addr
	backlog int

	// The gateway (gateway.go, gateway_udp.go): the forwarders get what
	// no endpoint takes.
	forwarder    *gtcp.Forwarder
	udpForwarder *udp.Forwarder
	gateway      atomic.Pointer[gatewayListener]
	udpForward   func(*UDPForwardRequest)
	reasons      reasons // reasons.go

	started      atomic.Bool
	stopped      chan struct{} // closed when Run has returned
	quiet        chan struct{} // closed by Shutdown once every connection is done
	shutdownOnce sync.Once
	shuttingDown atomic.Bool
}

// New returns a gVisor stack for link. It does not read from the link
// until Run.
func New(link stack.Link, opts Options) (*Stack, error) {
	if link == nil {
		return nil, errors.New("gvisor: nil link")
	}
	if len(opts.Addrs) == 0 {
		return nil, errors.New("gvisor: no addresses")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mtu, err := link.MTU()
	if err != nil || mtu < 1280 {
		log.Warn("link MTU unusable, assuming 1500", "mtu", mtu, "err", err)
		mtu = 1500
	}
	s := &Stack{
		log:        log,
		backlog:    opts.Backlog,
		stopped:    make(chan struct{}),
		quiet:      make(chan struct{}),
		link:       newLinkEndpoint(link, mtu, log),
		udpForward: opts.UDPForward,
	}
	if s.backlog <= 0 {
		s.backlog = defaultBacklog
	}
	// The zero ipv6.Options turn off duplicate address detection, router
	// solicitation and MLD: nothing else is on a TUN link.
	s.gv = gstack.New(gstack.Options{
		NetworkProtocols:   []gstack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol},
		TransportProtocols: []gstack.TransportProtocolFactory{gtcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
	})
	if err := s.configure(opts); err != nil {
		s.gv.Destroy()
		return nil, err
	}
	return s, nil
}

// configure applies the options, creates the NIC and gives it the
// addresses and default routes, and then the gateway's NIC.
func (s *Stack) configure(opts Options) error {
	msl := opts.MSL
	if msl <= 0 {
		msl = tcp.DefaultMSL
	}
	sack := tcpip.TCPSACKEnabled(true)
	timeWait := tcpip.TCPTimeWaitTimeoutOption(2 * msl)
	for _, opt := range []tcpip.SettableTransportProtocolOption{&sack, &timeWait} {
		if err := s.gv.SetTransportProtocolOption(gtcp.ProtocolNumber, opt); err != nil {
			return fmt.Errorf("gvisor: setting %T: %s", opt, err)
		}
	}
	if err := s.gv.CreateNIC(nicID, s.link); err != nil {
		return fmt.Errorf("gvisor: creating the NIC: %s", err)
	}
	var routes []tcpip.Route
	for _, a := range opts.Addrs {
		a = a.Unmap()
		if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() {
			return fmt.Errorf("gvisor: %v is not a unicast address", a)
		}
		proto, subnet := tcpip.NetworkProtocolNumber(ipv4.ProtocolNumber), header.IPv4EmptySubnet
		if a.Is6() {
			proto, subnet = ipv6.ProtocolNumber, header.IPv6EmptySubnet
		}
		addr := tcpip.ProtocolAddress{Protocol: proto, AddressWithPrefix: tcpipAddr(a).WithPrefix()}
		if err := s.gv.AddProtocolAddress(nicID, addr, gstack.AddressProperties{}); err != nil {
			return fmt.Errorf("gvisor: adding address %v: %s", a, err)
		}
		// Everything goes out on the one link, as with the native
		// stack: the kernel on the other side routes it.
		routes = append(routes, tcpip.Route{Destination: subnet, NIC: nicID})
		s.addrs = append(s.addrs, a)
	}
	return s.configureGateway(opts, routes) // foreign.go
}

// Addrs returns the stack's own addresses.
func (s *Stack) Addrs() []netip.Addr { return append([]netip.Addr(nil), s.addrs...) }

// Run reads the link and feeds gVisor until ctx ends, Shutdown completes,
// or the link fails; only the last returns an error. On return every
// endpoint left is aborted and gVisor's goroutines are stopped. Run does
// not close the link; its reader ends when the link's Read fails, so close
// the link after Run returns.
func (s *Stack) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return stack.ErrRunning
	}
	defer func() {
		s.gv.Destroy()
		close(s.stopped)
	}()
	readErr := make(chan error, 1)
	go func() { readErr <- s.link.readLoop() }()
	select {
	case <-ctx.Done():
		return nil
	case <-s.quiet:
		return nil
	case err := <-readErr:
		return fmt.Errorf("gvisor: %w: %w", errLinkFailed, err)
	}
}

// Shutdown stops accepting connections and closes every connection, so
// that each sends its FIN after the data queued, and waits until all are
// closed or in TIME-WAIT; then Run returns. If ctx ends first, the
// remaining connections are aborted (RST) and Shutdown returns ctx's
// error.
func (s *Stack) Shutdown(ctx context.Context) error {
	s.shuttingDown.Store(true)
	for _, ep := range s.tcpEndpoints() {
		ep.Close()
	}
	if !s.started.Load() {
		return nil
	}
	err := s.waitAllDone(ctx)
	s.shutdownOnce.Do(func() { close(s.quiet) })
	<-s.stopped
	return err
}

// waitAllDone polls until every connection is closed or in TIME-WAIT, or
// the loop has stopped; if ctx ends first it aborts the rest.
func (s *Stack) waitAllDone(ctx context.Context) error {
	ticker := time.NewTicker(quietPoll)
	defer ticker.Stop()
	for !s.allDone() {
		select {
		case <-s.stopped:
			return nil
		case <-ctx.Done():
			for _, ep := range s.tcpEndpoints() {
				ep.Abort()
			}
			return ctx.Err()
		case <-ticker.C:
		}
	}
	return nil
}

// allDone reports whether every TCP endpoint is closed or in TIME-WAIT.
func (s *Stack) allDone() bool {
	for _, ep := range s.tcpEndpoints() {
		switch gtcp.EndpointState(ep.State()) {
		case gtcp.StateTimeWait, gtcp.StateClose, gtcp.StateError:
		default:
			return false
		}
	}
	return true
}

// tcpEndpoint is what the adapter uses of gVisor's *tcp.Endpoint.
type tcpEndpoint interface {
	tcpip.Endpoint
	Abort()
}

// tcpEndpoints returns gVisor's registered TCP endpoints: listeners,
// connections, and those in TIME-WAIT, each once (a dual-stack listener
// is registered for both families).
func (s *Stack) tcpEndpoints() []tcpEndpoint {
	registered := s.gv.RegisteredEndpoints()
	eps := make([]tcpEndpoint, 0, len(registered))
	seen := make(map[*gtcp.Endpoint]bool, len(registered))
	for _, ep := range registered {
		if t, ok := ep.(*gtcp.Endpoint); ok && !seen[t] {
			seen[t] = true
			eps = append(eps, t)
		}
	}
	return eps
}

// linkClosed reports whether a Read error means the link is gone.
func linkClosed(err error) bool {
	return errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF)
}

// tcpipAddr converts an address to gVisor's form.
func tcpipAddr(a netip.Addr) tcpip.Address {
	if a.Is4() {
		return tcpip.AddrFrom4(a.As4())
	}
	return tcpip.AddrFrom16(a.As16())
}

// netipAddr converts a gVisor address; the zero Address gives the zero Addr.
func netipAddr(a tcpip.Address) netip.Addr {
	switch a.Len() {
	case 4:
		return netip.AddrFrom4(a.As4())
	case 16:
		return netip.AddrFrom16(a.As16()).Unmap()
	}
	return netip.Addr{}
}
