package gateway

import (
	"container/list"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/forward"
)

const (
	// MaxUDPFlows bounds the flows relayed at once: each holds a host
	// socket (a file descriptor) and two goroutines; buffers only while a
	// datagram passes. A flow beyond it takes the place of one that has
	// been idle for evictIdle (udp_table.go); with none, its first
	// datagram is not taken (the stack drops it as udp-not-forwarded).
	MaxUDPFlows = 4096
	// datagramBuffer holds the largest UDP payload (IPv4: 65,507 bytes).
	datagramBuffer = 64 << 10
)

// datagramBuffers lend a flow a buffer for as long as one datagram
// passes, so that 4,096 idle flows hold none.
var datagramBuffers = sync.Pool{New: func() any { b := make([]byte, datagramBuffer); return &b }}

// UDP relays the UDP flows the stack offers (stack.Options.UDPForward,
// gvisor.Options.UDPForward: engines.go).
type UDP struct {
	cfg  Config
	dial forward.Dialer
	log  *slog.Logger

	maxFlows int // MaxUDPFlows; tests lower it

	mu     sync.Mutex
	flows  flowTable // udp_table.go
	closed bool
	wg     sync.WaitGroup

	total                atomic.Uint64 // flows relayed since the start
	refused              atomic.Uint64 // flows not taken: MaxUDPFlows reached, none idle
	evicted              atomic.Uint64 // idle flows ended for a new one
	toUpstream, toClient atomic.Uint64 // bytes
	datagramsUp          atomic.Uint64
	datagramsDown        atomic.Uint64
	dialFailures         atomic.Uint64
	bufferBytes          atomic.Int64 // what the flows' buffers hold now
}

// UDPCounters are the UDP relay's flows, datagrams and bytes.
type UDPCounters struct {
	Active                         int
	Flows, FlowsRefused            uint64
	FlowsEvicted                   uint64
	DatagramsUp, DatagramsDown     uint64 // client to server, server to client
	BytesToUpstream, BytesToClient uint64
	DialFailures                   uint64
}

// NewUDP is a UDP relay; give its OfferNative to stack.Options.UDPForward
// or its OfferGVisor to gvisor.Options.UDPForward.
func NewUDP(cfg Config, dial forward.Dialer, log *slog.Logger) *UDP {
	if cfg.UDPTimeout <= 0 {
		cfg.UDPTimeout = DefaultUDPTimeout
	}
	return &UDP{cfg: cfg, dial: dial, log: log.With("gateway", "udp"), maxFlows: MaxUDPFlows}
}

// flow is one relayed UDP flow: the stack's socket for the client and
// the host's socket to the server.
type flow struct {
	client net.Conn // the stack's socket: a *stack.UDPConn, a gonet.UDPConn
	host   net.Conn
	last   atomic.Int64 // when a datagram last passed, in Unix nanoseconds
	once   sync.Once
	place  *list.Element // in the flow table; nil once out of it
}

// Offer takes a new flow to dst, whose client socket accept makes (the
// engine's request's Accept); not calling accept leaves the flow's first
// datagram dropped. It runs on the stack's loop and must not block, so
// the host socket is opened by the flow's goroutine.
func (u *UDP) Offer(dst netip.AddrPort, accept func() (net.Conn, error)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return
	}
	if u.flows.len() >= u.maxFlows {
		idle := u.flows.idlest(time.Now())
		if idle == nil {
			u.refused.Add(1)
			return
		}
		u.flows.remove(idle)
		idle.close() // its goroutines end on their own
		u.evicted.Add(1)
	}
	client, err := accept()
	if err != nil {
		return
	}
	u.startLocked(client, u.cfg.Upstream(dst))
}

// startLocked relays a new flow of client to upstream.
func (u *UDP) startLocked(client net.Conn, upstream string) {
	f := &flow{client: client}
	f.last.Store(time.Now().UnixNano())
	u.flows.add(f)
	u.total.Add(1)
	u.wg.Add(1)
	go u.run(f, upstream)
}

// run opens the flow's host socket and copies datagrams both ways until
// the flow has been idle for the time-out or the relay closes.
func (u *UDP) run(f *flow, upstream string) {
	defer u.wg.Done()
	defer func() {
		u.mu.Lock()
		u.flows.remove(f)
		u.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), forward.DialTimeout)
	host, err := u.dial(ctx, "udp", upstream)
	cancel()
	if err != nil {
		u.dialFailures.Add(1)
		u.log.Debug("flow not relayed", "upstream", upstream, "err", err)
		f.client.Close()
		return
	}
	u.mu.Lock()
	f.host = host
	gone := u.closed || f.place == nil // closed or evicted while it dialled
	u.mu.Unlock()
	if gone { // f.close did not see the host socket
		host.Close()
		f.client.Close()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		u.copy(f, host, datagramsOf(f.client, &u.bufferBytes), &u.toUpstream, &u.datagramsUp)
	}()
	u.copy(f, f.client, datagramsOf(host, &u.bufferBytes), &u.toClient, &u.datagramsDown)
	<-done
}

// copy moves datagrams from src to dst until the flow is idle for the
// time-out (then it closes the flow) or src fails.
func (u *UDP) copy(f *flow, dst net.Conn, src datagramReader, bytes, datagrams *atomic.Uint64) {
	defer src.release()
	forward := func(p []byte) {
		f.last.Store(time.Now().UnixNano())
		_, err := dst.Write(p)
		switch {
		case err == nil:
			bytes.Add(uint64(len(p)))
			datagrams.Add(1)
		case dst == f.host && errors.Is(err, syscall.ECONNREFUSED):
			f.refused() // the error came with this write, for an earlier datagram
		}
	}
	for {
		idleSince := time.Unix(0, f.last.Load())
		src.SetReadDeadline(idleSince.Add(u.cfg.UDPTimeout))
		err := src.ReadDatagram(forward)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if time.Since(time.Unix(0, f.last.Load())) >= u.cfg.UDPTimeout {
					f.close() // idle both ways: RFC 4787 §4.3
					return
				}
				continue // the other direction was active
			}
			if isRefused(err) { // an ICMP error for an earlier datagram
				if dst == f.client { // read from the host socket
					f.refused()
				}
				continue
			}
			f.close()
			return
		}
	}
}

func isRefused(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && ne.Op == "read" && errors.Is(err, syscall.ECONNREFUSED)
}

// refused passes on the destination's refusal of the flow (ECONNREFUSED
// on the host socket: the destination's port unreachable for an earlier
// datagram) to the client as the destination's own port unreachable, so
// that its connected socket fails with ECONNREFUSED as without the
// gateway. The native stack's socket can (stack.UDPConn.PortUnreachable,
// within the stack's ICMP rate limit); gVisor's cannot, and the refusal
// is only seen as silence there.
func (f *flow) refused() {
	if c, ok := f.client.(interface{ PortUnreachable() error }); ok {
		c.PortUnreachable()
	}
}

func (f *flow) close() {
	f.once.Do(func() {
		f.client.Close()
		if f.host != nil {
			f.host.Close()
		}
	})
}

// Counters are the relay's counters now.
func (u *UDP) Counters() UDPCounters {
	u.mu.Lock()
	active := u.flows.len()
	u.mu.Unlock()
	return UDPCounters{
		Active: active, Flows: u.total.Load(), FlowsRefused: u.refused.Load(), FlowsEvicted: u.evicted.Load(),
		DatagramsUp: u.datagramsUp.Load(), DatagramsDown: u.datagramsDown.Load(),
		BytesToUpstream: u.toUpstream.Load(), BytesToClient: u.toClient.Load(),
		DialFailures: u.dialFailures.Load(),
	}
}

// Close ends every flow and takes no new one; Wait waits for their
// goroutines.
func (u *UDP) Close() {
	u.mu.Lock()
	u.closed = true
	all := u.flows.all()
	u.mu.Unlock()
	for _, f := range all {
		u.mu.Lock() // f.host is set under mu
		f.close()
		u.mu.Unlock()
	}
}

// Wait waits for the flows' goroutines, after Close.
func (u *UDP) Wait() { u.wg.Wait() }
