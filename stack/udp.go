package stack

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/tunstack/tunstack/stack/internal/sockaddr"
)

// UDP (RFC 768) beside TCP: sockets are UDPConn values, found by the loop
// in a table keyed by local address and port. The loop queues each
// datagram it receives on its socket (udp_input.go); applications queue
// the datagrams they send on the stack's send queue, which the loop
// empties into its output batch (udp_send.go). Neither side waits for the
// other: the queues are bounded, and a datagram that finds its socket's
// receive queue full is dropped and counted, as UDP may (RFC 768 promises
// no delivery).
//
// A datagram that no socket takes draws an ICMP port unreachable (RFC
// 1122 §4.1.3.1). One to an address that is not the stack's goes to
// Options.UDPForward if set (a gateway, udp_forward.go).

// DefaultUDPReadBuffer bounds each UDP socket's receive queue, in bytes of
// storage (each datagram takes at least 512): about Linux's rmem_default.
// SetReadBuffer changes it per socket.
const DefaultUDPReadBuffer = 256 << 10

// udpSendQueueLimit bounds the bytes of datagrams written by applications
// that the loop has not sent yet, for all sockets together: writers wait
// beyond it.
const udpSendQueueLimit = 1 << 20

// udpFlow is a connected socket's key: its local and remote ends.
type udpFlow struct{ local, remote netip.AddrPort }

// udpTable is the stack's UDP sockets. Applications change it (bind,
// close) and the loop reads it for every datagram, under mu.
type udpTable struct {
	mu sync.Mutex
	// bound holds the sockets of ListenPacket and Dial by local address
	// and port; an unspecified address means every address of the
	// family. A Dial'd socket takes only datagrams from its remote.
	bound map[netip.AddrPort]*UDPConn
	// flows holds the sockets a gateway accepted (udp_forward.go), which
	// share a local address and port among many remotes.
	flows map[udpFlow]*UDPConn
	// all is every open socket, for Stack's end and snapshots.
	all map[*UDPConn]struct{}
}

// lookup finds the socket for a datagram from src to dst: a gateway's
// flow, then a socket bound to dst, then one bound to dst's port on every
// address. A connected socket takes datagrams from its remote only (as
// Linux's: another source finds no socket and draws a port unreachable).
func (t *udpTable) lookup(dst, src netip.AddrPort) *UDPConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.flows[udpFlow{dst, src}]; ok {
		return c
	}
	for _, key := range [...]netip.AddrPort{dst, netip.AddrPortFrom(unspecifiedOf(dst.Addr()), dst.Port())} {
		if c, ok := t.bound[key]; ok && (!c.remote.IsValid() || c.remote == src) {
			return c
		}
	}
	return nil
}

// conflictLocked reports whether binding key would overlap a bound socket:
// the same address and port, or a specific and an every-address socket
// of one family on one port.
func (t *udpTable) conflictLocked(key netip.AddrPort) bool {
	if _, ok := t.bound[key]; ok {
		return true
	}
	any := unspecifiedOf(key.Addr())
	if key.Addr() != any {
		_, ok := t.bound[netip.AddrPortFrom(any, key.Port())]
		return ok
	}
	for other := range t.bound {
		if other.Port() == key.Port() && other.Addr().Is4() == key.Addr().Is4() {
			return true
		}
	}
	return false
}

// freePortLocked picks a port from 49152–65535 free on every address of
// addrs, starting at a random place so that ports are not predictable
// (RFC 6056).
func (t *udpTable) freePortLocked(addrs []netip.Addr) (uint16, bool) {
	start := rand.IntN(ephemeralCount)
next:
	for i := range ephemeralCount {
		port := uint16(ephemeralFirst + (start+i)%ephemeralCount)
		for _, a := range addrs {
			if t.conflictLocked(netip.AddrPortFrom(a, port)) {
				continue next
			}
		}
		return port, true
	}
	return 0, false
}

func unspecifiedOf(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// ListenPacket opens a UDP socket on address, "host:port" or ":port",
// where host must be one of the stack's addresses and an empty host means
// all of them. network is "udp" (both families), "udp4" or "udp6". Port 0
// picks a free port from 49152–65535. The socket is a *UDPConn.
func (s *Stack) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := s.ListenUDP(network, address)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ListenUDP is ListenPacket returning the *UDPConn.
func (s *Stack) ListenUDP(network, address string) (*UDPConn, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "listen", Net: network, Err: err}
	}
	la, err := sockaddr.ListenUDP(network, address)
	if err != nil {
		return nil, opErr(err)
	}
	addrs, err := s.bindAddrs(la) // listener.go
	if err != nil {
		return nil, opErr(err)
	}
	c, err := s.bindUDP(network, addrs, la.Port, netip.AddrPort{})
	if err != nil {
		return nil, opErr(err)
	}
	return c, nil
}

// DialUDP opens a UDP socket connected to address ("ip:port", no name
// lookup), from the stack's address of the same family and a free port:
// it sends to and takes datagrams from that address only, and an ICMP
// port unreachable for what it sent makes its next Read or Write fail
// with ECONNREFUSED, as a connected socket of Linux does. network is
// "udp", "udp4" or "udp6". DialContext does the same for those networks.
func (s *Stack) DialUDP(network, address string) (*UDPConn, error) {
	remote, err := sockaddr.DialUDP(network, address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	local, ok := s.localAddrFor(remote.Addr())
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: net.UDPAddrFromAddrPort(remote), Err: ErrNoAddress}
	}
	c, err := s.bindUDP(network, []netip.Addr{local}, 0, remote)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: net.UDPAddrFromAddrPort(remote), Err: err}
	}
	return c, nil
}

// bindUDP makes a socket bound to port (0: a free one) on every address
// of addrs, connected to remote if it is valid.
func (s *Stack) bindUDP(network string, addrs []netip.Addr, port uint16, remote netip.AddrPort) (*UDPConn, error) {
	t := &s.udp
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-s.shutdown:
		return nil, ErrStopped
	case <-s.stopped:
		return nil, ErrStopped
	default:
	}
	if port == 0 {
		p, ok := t.freePortLocked(addrs)
		if !ok {
			return nil, syscall.EADDRINUSE
		}
		port = p
	}
	c := newUDPConn(s, network, remote)
	for _, a := range addrs {
		key := netip.AddrPortFrom(a, port)
		if t.conflictLocked(key) {
			return nil, syscall.EADDRINUSE
		}
		c.keys = append(c.keys, key)
	}
	c.local = c.keys[0]
	if len(c.keys) > 1 {
		c.local = netip.AddrPortFrom(netip.IPv6Unspecified(), port) // as Go shows ":7"
	}
	if t.bound == nil {
		t.bound = make(map[netip.AddrPort]*UDPConn)
		t.all = make(map[*UDPConn]struct{})
	}
	for _, key := range c.keys {
		t.bound[key] = c
	}
	t.all[c] = struct{}{}
	return c, nil
}

// unbind takes c out of the table; the loop finds it no more.
func (t *udpTable) unbind(c *UDPConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, key := range c.keys {
		if t.bound[key] == c {
			delete(t.bound, key)
		}
	}
	if c.flow && t.flows[udpFlow{c.local, c.remote}] == c {
		delete(t.flows, udpFlow{c.local, c.remote})
	}
	delete(t.all, c)
}

// count is how many sockets are open.
func (t *udpTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.all)
}

// sockets returns every open socket.
func (t *udpTable) sockets() []*UDPConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*UDPConn, 0, len(t.all))
	for c := range t.all {
		out = append(out, c)
	}
	return out
}
