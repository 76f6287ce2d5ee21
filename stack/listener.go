package stack

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/tunstack/tunstack/stack/internal/sockaddr"
	"github.com/tunstack/tunstack/stack/tcp"
)

// Listener accepts connections for one port on one or all of the stack's
// addresses. It implements net.Listener.
type Listener struct {
	s       *Stack
	keys    []netip.AddrPort // in Stack.listeners; an unspecified address means all of that family
	addr    *net.TCPAddr
	backlog int // bounds the accept queue (listen_queue.go)
	admit   func(*SYNRequest)
	gone    func(tcp.ID) // ListenOptions.Abandoned

	// Owned by the loop.
	halfOpen     int       // connections in SYN-RECEIVED
	synBacklog   int       // bounds halfOpen
	cookieSentAt time.Time // when the last SYN cookie was sent; zero if none

	mu      sync.Mutex
	queue   []*Conn // established, waiting for Accept
	closed  bool
	changed chan struct{}
}

var _ net.Listener = (*Listener)(nil)

const (
	ephemeralFirst = 49152
	ephemeralCount = 65536 - ephemeralFirst
)

// Listen listens on address, "host:port" or ":port", where host must be
// one of the stack's addresses and an empty host means all of them.
// network is "tcp" (both families), "tcp4" or "tcp6". Port 0 picks a free
// port from 49152–65535.
func (s *Stack) Listen(network, address string) (net.Listener, error) {
	ln, err := s.ListenWith(network, address, ListenOptions{})
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// ListenWith is Listen with the listener's own options (admission.go).
func (s *Stack) ListenWith(network, address string, opts ListenOptions) (*Listener, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "listen", Net: network, Err: err}
	}
	la, err := sockaddr.Listen(network, address)
	if err != nil {
		return nil, opErr(err)
	}
	port := la.Port
	addrs, err := s.bindAddrs(la)
	if err != nil {
		return nil, opErr(err)
	}

	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	select {
	case <-s.shutdown:
		return nil, opErr(ErrStopped)
	case <-s.stopped:
		return nil, opErr(ErrStopped)
	default:
	}
	if port == 0 {
		p, ok := s.freeListenPortLocked(addrs)
		if !ok {
			return nil, opErr(syscall.EADDRINUSE)
		}
		port = p
	}
	ln := &Listener{s: s, backlog: s.backlog, synBacklog: s.synBacklog, admit: opts.Admit, gone: opts.Abandoned, changed: make(chan struct{})}
	for _, a := range addrs {
		key := netip.AddrPortFrom(a, port)
		if s.listenConflictLocked(key) {
			return nil, opErr(syscall.EADDRINUSE)
		}
		ln.keys = append(ln.keys, key)
	}
	for _, key := range ln.keys {
		s.listeners[key] = ln
	}
	shown := ln.keys[0]
	if len(ln.keys) > 1 {
		shown = netip.AddrPortFrom(netip.IPv6Unspecified(), port) // as Go shows ":80"
	}
	ln.addr = net.TCPAddrFromAddrPort(shown)
	return ln, nil
}

func containsAddr(addrs []netip.Addr, a netip.Addr) bool {
	for _, x := range addrs {
		if x == a {
			return true
		}
	}
	return false
}

// listenConflictLocked reports whether key overlaps a listener: the same
// address and port, or a specific and an all-addresses listener of the
// same family on the same port.
func (s *Stack) listenConflictLocked(key netip.AddrPort) bool {
	if _, ok := s.listeners[key]; ok {
		return true
	}
	if key.Addr().IsUnspecified() {
		for k := range s.listeners {
			if k.Port() == key.Port() && k.Addr().Is4() == key.Addr().Is4() {
				return true
			}
		}
		return false
	}
	_, ok := s.listeners[netip.AddrPortFrom(unspecified(key.Addr()), key.Port())]
	return ok
}

func (s *Stack) freeListenPortLocked(addrs []netip.Addr) (uint16, bool) {
	start := rand.IntN(ephemeralCount)
	for i := range ephemeralCount {
		port := uint16(ephemeralFirst + (start+i)%ephemeralCount)
		free := true
		for _, a := range addrs {
			if s.listenConflictLocked(netip.AddrPortFrom(a, port)) {
				free = false
				break
			}
		}
		if free {
			return port, true
		}
	}
	return 0, false
}

func unspecified(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// listenerFor finds the listener for a local address and port: one bound
// to that address, else one bound to all addresses of its family.
func (s *Stack) listenerFor(local netip.AddrPort) *Listener {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	if ln, ok := s.listeners[local]; ok {
		return ln
	}
	if s.gateway != nil && !s.isLocal(local.Addr()) {
		return s.gateway
	}
	return s.listeners[netip.AddrPortFrom(unspecified(local.Addr()), local.Port())]
}

// closeListeners closes every listener (Shutdown, end of the loop).
func (s *Stack) closeListeners() {
	s.listenMu.Lock()
	var all []*Listener
	for _, ln := range s.listeners {
		if !containsListener(all, ln) {
			all = append(all, ln)
		}
	}
	if s.gateway != nil {
		all = append(all, s.gateway)
	}
	s.listenMu.Unlock()
	for _, ln := range all {
		ln.Close()
	}
}

func containsListener(all []*Listener, ln *Listener) bool {
	for _, x := range all {
		if x == ln {
			return true
		}
	}
	return false
}

// Accept waits for the next established connection; it returns a
// *net.OpError wrapping net.ErrClosed once the listener is closed.
func (ln *Listener) Accept() (net.Conn, error) {
	ln.mu.Lock()
	for {
		if ln.closed {
			ln.mu.Unlock()
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: ln.addr, Err: net.ErrClosed}
		}
		if len(ln.queue) > 0 {
			c := ln.queue[0]
			ln.queue[0] = nil
			ln.queue = ln.queue[1:]
			ln.mu.Unlock()
			return c, nil
		}
		changed := ln.changed
		ln.mu.Unlock()
		<-changed
		ln.mu.Lock()
	}
}

// Close stops listening. Connections already accepted stay open;
// connections still waiting for Accept are reset.
func (ln *Listener) Close() error {
	ln.mu.Lock()
	if ln.closed {
		ln.mu.Unlock()
		return &net.OpError{Op: "close", Net: "tcp", Addr: ln.addr, Err: net.ErrClosed}
	}
	ln.closed = true
	pending := ln.queue
	ln.queue = nil
	ln.notifyLocked()
	ln.mu.Unlock()

	ln.s.listenMu.Lock()
	for _, key := range ln.keys {
		if ln.s.listeners[key] == ln {
			delete(ln.s.listeners, key)
		}
	}
	if ln.s.gateway == ln {
		ln.s.gateway = nil
	}
	ln.s.listenMu.Unlock()
	for _, c := range pending {
		c.abortFromStack()
	}
	return nil
}

// Addr is the address listened on; 0.0.0.0 or :: stand for all of the
// stack's addresses.
func (ln *Listener) Addr() net.Addr { return ln.addr }

// Port is the port listened on; 0 for the gateway's listener, which
// takes every port.
func (ln *Listener) Port() uint16 {
	if len(ln.keys) == 0 {
		return 0
	}
	return ln.keys[0].Port()
}

// enqueue hands an established connection to Accept; false if the
// listener is closed. Called by the loop.
func (ln *Listener) enqueue(c *Conn) bool {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ln.closed {
		return false
	}
	ln.queue = append(ln.queue, c)
	ln.notifyLocked()
	return true
}

// acceptQueueFull reports whether the accept queue holds backlog
// connections. A connection already half-open when it filled still joins
// it once established, so the queue holds at most backlog plus the
// half-open bound.
func (ln *Listener) acceptQueueFull() bool {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	return len(ln.queue) >= ln.backlog
}

// isClosed reports whether Close was called.
func (ln *Listener) isClosed() bool {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	return ln.closed
}

// acceptQueueLen is how many connections wait for Accept.
func (ln *Listener) acceptQueueLen() int {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	return len(ln.queue)
}

func (ln *Listener) notifyLocked() {
	close(ln.changed)
	ln.changed = make(chan struct{})
}

// bindAddrs is what a listening socket (TCP or UDP) binds to: the address
// asked for, which must be one of the stack's or unspecified, or with no
// host, the unspecified address of each family the network wants and the
// stack has an address in.
func (s *Stack) bindAddrs(la sockaddr.ListenAddr) ([]netip.Addr, error) {
	if la.Addr.IsValid() {
		if !la.Addr.IsUnspecified() && !s.isLocal(la.Addr) {
			return nil, syscall.EADDRNOTAVAIL
		}
		return []netip.Addr{la.Addr}, nil
	}
	var addrs []netip.Addr
	for _, a := range s.addrs {
		if a.Is4() && la.Want4 && !containsAddr(addrs, netip.IPv4Unspecified()) {
			addrs = append(addrs, netip.IPv4Unspecified())
		}
		if a.Is6() && la.Want6 && !containsAddr(addrs, netip.IPv6Unspecified()) {
			addrs = append(addrs, netip.IPv6Unspecified())
		}
	}
	if len(addrs) == 0 {
		return nil, ErrNoAddress
	}
	return addrs, nil
}
