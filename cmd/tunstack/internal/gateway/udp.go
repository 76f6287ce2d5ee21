package gateway

import (
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
	// socket and two buffers. The first datagram of a flow beyond it is
	// not taken (the stack drops it as udp-not-forwarded).
	MaxUDPFlows = 1024
	// datagramBuffer holds the largest UDP payload (IPv4: 65,507 bytes).
	datagramBuffer = 64 << 10
)

// UDP relays the UDP flows the stack offers (stack.Options.UDPForward,
// gvisor.Options.UDPForward: engines.go).
type UDP struct {
	cfg  Config
	dial forward.Dialer
	log  *slog.Logger

	mu     sync.Mutex
	flows  map[*flow]struct{}
	closed bool
	wg     sync.WaitGroup

	total                atomic.Uint64 // flows relayed since the start
	refused              atomic.Uint64 // flows not taken: MaxUDPFlows reached
	toUpstream, toClient atomic.Uint64 // bytes
	datagramsUp          atomic.Uint64
	datagramsDown        atomic.Uint64
	dialFailures         atomic.Uint64
}

// UDPCounters are the UDP relay's flows, datagrams and bytes.
type UDPCounters struct {
	Active                         int
	Flows, FlowsRefused            uint64
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
	return &UDP{cfg: cfg, dial: dial, log: log.With("gateway", "udp"), flows: make(map[*flow]struct{})}
}

// flow is one relayed UDP flow: the stack's socket for the client and
// the host's socket to the server.
type flow struct {
	client net.Conn // the stack's socket: a *stack.UDPConn, a gonet.UDPConn
	host   net.Conn
	last   atomic.Int64 // when a datagram last passed, in Unix nanoseconds
	once   sync.Once
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
	if len(u.flows) >= MaxUDPFlows {
		u.refused.Add(1)
		return
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
	u.flows[f] = struct{}{}
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
		delete(u.flows, f)
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
	closed := u.closed
	u.mu.Unlock()
	if closed { // Close did not see the host socket
		host.Close()
		f.client.Close()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		u.copy(f, host, f.client, &u.toUpstream, &u.datagramsUp)
	}()
	u.copy(f, f.client, host, &u.toClient, &u.datagramsDown)
	<-done
}

// copy moves datagrams from src to dst until the flow is idle for the
// time-out (then it closes the flow) or src fails.
func (u *UDP) copy(f *flow, dst, src net.Conn, bytes, datagrams *atomic.Uint64) {
	buf := make([]byte, datagramBuffer)
	for {
		idleSince := time.Unix(0, f.last.Load())
		src.SetReadDeadline(idleSince.Add(u.cfg.UDPTimeout))
		n, err := src.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if time.Since(time.Unix(0, f.last.Load())) >= u.cfg.UDPTimeout {
					f.close() // idle both ways: RFC 4787 §4.3
					return
				}
				continue // the other direction was active
			}
			if isRefused(err) {
				continue // an ICMP error the host socket reported for an earlier datagram
			}
			f.close()
			return
		}
		f.last.Store(time.Now().UnixNano())
		if _, err := dst.Write(buf[:n]); err == nil {
			bytes.Add(uint64(n))
			datagrams.Add(1)
		}
	}
}

func isRefused(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && ne.Op == "read" && errors.Is(err, syscall.ECONNREFUSED)
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
	active := len(u.flows)
	u.mu.Unlock()
	return UDPCounters{
		Active: active, Flows: u.total.Load(), FlowsRefused: u.refused.Load(),
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
	var all []*flow
	for f := range u.flows {
		all = append(all, f)
	}
	u.mu.Unlock()
	for _, f := range all {
		u.mu.Lock() // f.host is set under mu
		f.close()
		u.mu.Unlock()
	}
}

// Wait waits for the flows' goroutines, after Close.
func (u *UDP) Wait() { u.wg.Wait() }
