package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// Dialer connects to the real server with the host kernel's sockets, in
// the daemon's namespace.
type Dialer func(ctx context.Context, network, address string) (net.Conn, error)

// Limits of a forward.
const (
	// DialTimeout is how long a connect to the server may take. A client
	// whose SYN is held that long gets no answer: its next SYN
	// retransmission starts another connect.
	DialTimeout = 10 * time.Second
	// maxDialing bounds the connects in progress of one forward; the
	// listener's half-open queue bounds the SYNs held, this the kernel
	// sockets and threads they cost.
	maxDialing = 256
	// claimTimeout is how long a connection to the server waits for its
	// client's handshake to end, if the engine does not say it failed
	// (Listen's abandoned); the SYN-ACK's retransmissions give up well
	// before.
	claimTimeout = 2 * time.Minute
)

// Reasons of the stack's answers to a client's SYN, in the trace, the
// capture and the counters.
const (
	ReasonRefused     = "forward:backend-refused"     // the server refused: RST
	ReasonUnreachable = "forward:backend-unreachable" // no answer or no route: silence
	ReasonBusy        = "forward:busy"                // too many connects in progress: silence
)

// Forward relays one port of the stack to a real server.
type Forward struct {
	spec     Spec
	upstream func(tcp.ID) string // where a client's connection is relayed to
	ln       net.Listener
	dial     Dialer
	log      *slog.Logger
	counters counters // counters.go

	dialing chan struct{} // a slot per connect in progress
	ctx     context.Context
	cancel  context.CancelFunc
	serving chan struct{} // closed when the accept loop ends

	mu      sync.Mutex
	claims  map[tcp.ID]*claim // server connections waiting for their client's handshake
	relays  map[*relay]struct{}
	relayed int // connections relayed so far
	wg      sync.WaitGroup
}

// claim is a connection to the server whose client has been sent the
// SYN-ACK.
type claim struct {
	backend net.Conn
	expiry  *time.Timer
}

// Start listens on spec's port of st and relays every connection it
// accepts to spec.Upstream, dialled with dial.
func Start(st *stack.Stack, spec Spec, dial Dialer, log *slog.Logger) (*Forward, error) {
	listen := NativeListen(func(opts stack.ListenOptions) (*stack.Listener, error) {
		return st.ListenWith("tcp", spec.ListenAddress(), opts)
	})
	upstream := func(tcp.ID) string { return spec.Upstream }
	f, err := StartWith(listen, upstream, dial, log.With("forward", spec.String()))
	if err != nil {
		return nil, fmt.Errorf("forward %s: %w", spec, err)
	}
	f.spec = spec
	return f, nil
}

// SYN is a client's SYN held until the relay decides it: the native
// stack's *stack.SYNRequest and gVisor's *gvisor.SYNRequest.
type SYN interface {
	ID() tcp.ID
	Accept()
	Refuse(reason string)
	Drop(reason string)
}

// unreachableAnswer is a SYN that can be answered with an ICMP destination
// unreachable (the native stack's *stack.SYNRequest); gVisor's cannot.
type unreachableAnswer interface {
	Unreachable(reason string, err error)
}

// Conn is a client connection a relay copies: the native stack's
// *stack.Conn and the gVisor gateway's connections. CloseWrite passes a
// FIN on, Abort a reset.
type Conn interface {
	net.Conn
	ID() tcp.ID
	CloseWrite() error
	Abort() error
}

// Listen makes the listener a relay serves, whose connections are Conns,
// with admit as its hook for every SYN, and abandoned told of each
// connection admit accepted whose handshake then failed (both run on the
// stack's loop and do not block).
type Listen func(admit func(SYN), abandoned func(tcp.ID)) (net.Listener, error)

// NativeListen is listen with a native Admit hook made of admit.
func NativeListen(listen func(stack.ListenOptions) (*stack.Listener, error)) Listen {
	return func(admit func(SYN), abandoned func(tcp.ID)) (net.Listener, error) {
		ln, err := listen(stack.ListenOptions{Admit: func(r *stack.SYNRequest) { admit(r) }, Abandoned: abandoned})
		if err != nil {
			return nil, err
		}
		return ln, nil
	}
}

// StartWith relays every connection of the listener that listen makes to
// the address upstream gives for it: one server for a forward, the
// destination the client addressed for a gateway.
func StartWith(listen Listen, upstream func(tcp.ID) string, dial Dialer, log *slog.Logger) (*Forward, error) {
	f := &Forward{
		upstream: upstream,
		dial:     dial,
		log:      log,
		dialing:  make(chan struct{}, maxDialing),
		serving:  make(chan struct{}),
		claims:   make(map[tcp.ID]*claim),
		relays:   make(map[*relay]struct{}),
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	ln, err := listen(f.admit, f.abandoned)
	if err != nil {
		f.cancel()
		return nil, err
	}
	f.ln = ln
	go func() {
		defer close(f.serving)
		// The one serve loop of every service: a relay takes each
		// connection on the accepting goroutine and starts its own.
		if err := stack.AcceptEach(ln, f.take); err != nil {
			f.log.Error("relay stopped", "err", err)
		}
	}()
	return f, nil
}

// Spec is what the forward relays.
func (f *Forward) Spec() Spec { return f.spec }

// Stats are a forward's connections: relaying now, and relayed since it
// started.
func (f *Forward) Stats() (active, total int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.relays), f.relayed
}

// Close stops accepting and abandons the connects in progress;
// connections being relayed go on until they end, as a closed listener's
// accepted connections do. Wait waits for them.
func (f *Forward) Close() {
	f.ln.Close()
	f.cancel()
	<-f.serving
	f.mu.Lock()
	for id, c := range f.claims {
		c.expiry.Stop()
		c.backend.Close()
		delete(f.claims, id)
	}
	f.mu.Unlock()
}

// Wait waits for the relays to end, after Close.
func (f *Forward) Wait() { f.wg.Wait() }

// admit runs on the stack's loop for every SYN: it must not block, so
// the connect to the server runs on a goroutine of its own, which decides
// the SYN when the server has answered.
func (f *Forward) admit(r SYN) {
	select {
	case f.dialing <- struct{}{}:
	default:
		r.Drop(ReasonBusy)
		return
	}
	go func() {
		defer func() { <-f.dialing }()
		ctx, cancel := context.WithTimeout(f.ctx, DialTimeout)
		defer cancel()
		backend, err := f.dial(ctx, "tcp", f.upstream(r.ID()))
		if err != nil {
			f.counters.dialFailed(err)
		}
		switch {
		case err == nil:
			f.claim(r.ID(), backend)
			r.Accept()
		case errors.Is(err, syscall.ECONNREFUSED):
			f.log.Debug("server refused", "client", r.ID().Remote, "err", err)
			r.Refuse(ReasonRefused)
		case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
			// An answer too, from the network: passed on as a router
			// would, where the engine can.
			f.log.Debug("server unreachable", "client", r.ID().Remote, "err", err)
			if u, ok := r.(unreachableAnswer); ok {
				u.Unreachable(ReasonUnreachable, err)
			} else {
				r.Drop(ReasonUnreachable)
			}
		default:
			f.log.Debug("server unreachable", "client", r.ID().Remote, "err", err)
			r.Drop(ReasonUnreachable)
		}
	}()
}

// claim keeps backend for the client of id until its handshake ends.
func (f *Forward) claim(id tcp.ID, backend net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if old := f.claims[id]; old != nil { // a client that gave up and came back
		old.expiry.Stop()
		old.backend.Close()
	}
	c := &claim{backend: backend}
	c.expiry = time.AfterFunc(claimTimeout, func() {
		f.mu.Lock()
		if f.claims[id] == c {
			delete(f.claims, id)
			backend.Close()
		}
		f.mu.Unlock()
	})
	f.claims[id] = c
}

// abandoned lets go at once of the server connection held for a client
// whose handshake failed (it reset, or never answered the SYN-ACK), rather
// than at claimTimeout: a flood of SYNs from clients that never complete
// their handshake holds no more server connections than the stack holds
// half-open ones. It runs on the stack's loop: closing a socket does not
// block.
func (f *Forward) abandoned(id tcp.ID) {
	f.mu.Lock()
	c := f.claims[id]
	delete(f.claims, id)
	f.mu.Unlock()
	if c != nil {
		c.expiry.Stop()
		c.backend.Close()
	}
}

// take starts relaying a connection the stack accepted.
func (f *Forward) take(conn net.Conn) {
	client, ok := conn.(Conn)
	if !ok { // not a listener of ours: nothing to relay with
		f.log.Error("relay: not a stack connection", "type", fmt.Sprintf("%T", conn))
		conn.Close()
		return
	}
	f.mu.Lock()
	c := f.claims[client.ID()]
	delete(f.claims, client.ID())
	if c == nil {
		f.mu.Unlock()
		client.Abort() // its server connection expired or the forward closes
		return
	}
	c.expiry.Stop()
	r := &relay{client: client, backend: c.backend, counters: &f.counters}
	f.relays[r] = struct{}{}
	f.relayed++
	f.wg.Add(1)
	f.mu.Unlock()
	go func() {
		defer f.wg.Done()
		r.run()
		f.mu.Lock()
		delete(f.relays, r)
		f.mu.Unlock()
	}()
}
