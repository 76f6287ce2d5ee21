package stack

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tunstack/tunstack/stack/fault"
	"github.com/tunstack/tunstack/stack/tcp"
)

// Errors of the Stack.
var (
	// ErrStopped: the event loop is not running any more. It wraps
	// net.ErrClosed, as a closed socket's errors do.
	ErrStopped = fmt.Errorf("stack stopped: %w", net.ErrClosed)
	// ErrRunning: Run was called while the loop runs or after it stopped.
	ErrRunning = errors.New("stack: Run called twice")
	// ErrNoAddress: the stack has no address of the family asked for.
	ErrNoAddress = errors.New("stack: no local address of that family")
)

const (
	// connQueueSize bounds each direction's queue between an application
	// and the loop; the engine buffers the rest and its window shows it.
	connQueueSize = 64 << 10
	// recvRefill is how much room a Read must leave in the receive
	// queue before it wakes the loop to move more from the engine.
	recvRefill = connQueueSize / 2
	// maxPacket is the largest IP packet a length field allows; read
	// buffers hold one each.
	maxPacket = 65535
)

// Stack is a userspace TCP/IP host on one Link. Create it with New, start
// it with Run, stop it with Shutdown or by cancelling Run's context.
type Stack struct {
	link  Link
	log   *slog.Logger
	addrs []netip.Addr
	cfg4  tcp.Config // MSS for IPv4
	cfg6  tcp.Config // MSS for IPv6
	// Each listener's queue bounds and when it sends SYN cookies
	// (listen_queue.go).
	backlog, synBacklog int
	synCookies          SynCookieMode
	// sendLowWater is the least room in the engine's send buffer worth
	// a Send while more than that is queued.
	sendLowWater int

	counters   counters
	mem        *tcp.Budget    // bounds every connection's buffers (memory.go)
	memory     memoryCounters // what the budget does not count itself
	connLimits connLimits     // Options.MaxConns, MaxConnsPerPeer (connlimits.go)
	events     fanout
	capture    capture    // Options.Capture's loop side
	frags      fragments  // IP reassembly; loop-owned
	admissions admissions // SYNs held for an Admit hook (admission.go)
	faults     *fault.Set // faults in force (faults.go); read with one atomic load per segment

	// UDP: the sockets (udp.go), the datagrams written and not sent yet
	// (udp_send.go), Options.UDPForward (udp_forward.go).
	udp        udpTable
	udpOut     udpSendQueue
	udpForward func(*UDPForwardRequest)

	// requests carries calls into the loop (Dial, Connections).
	requests chan func()
	// wake tells the loop that applications touched connections in dirty.
	wake    chan struct{}
	dirtyMu sync.Mutex
	dirty   []*Conn

	started    atomic.Bool
	stopped    chan struct{} // closed when the loop has ended
	shutdown   chan struct{} // closed by Shutdown: close everything, then stop
	forceStop  chan struct{} // closed when Shutdown's context ends first
	shutdownMu sync.Once
	forceMu    sync.Once

	// listeners is read by the loop on every segment no connection
	// claims and changed by Listen and Listener.Close, which must work
	// before Run starts.
	listenMu  sync.Mutex
	listeners map[netip.AddrPort]*Listener
	gateway   *Listener // takes TCP to addresses not the stack's (gateway_listener.go)

	// loopMu is held by whichever of the loop's two goroutines works
	// (see Run); everything below it belongs to the loop.
	loopMu       sync.Mutex
	loopTimer    *time.Timer      // fires at the earliest deadline (armTimer)
	clock        func() time.Time // time.Now; a test's virtual clock
	due          []*Conn          // fireTimers' connections, kept for reuse
	ended        bool             // the loop has ended: the reader stops
	now          time.Time
	conns        map[tcp.ID]*Conn
	localPorts   map[netip.AddrPort]int // connections per local address and port
	timers       timerWheel
	timeWait     timeWaitTable // connections in TIME-WAIT, shrunk to records
	inSeg        tcp.Segment   // the segment being demultiplexed
	twReply      tcp.Segment   // a TIME-WAIT record's answer
	isnCache     isnCache      // events.go
	checksummed  bool          // the link computed the current batch's TCP checksums
	burstRead    bool          // the current batch is more than one packet
	batched      []*Conn       // connections that had segments in this read
	armed        time.Time     // when the loop's timer fires; zero if stopped
	out          *outBatch     // the batch being filled
	writer       *linkWriter   // writes filled batches while the loop runs
	scratch      []byte
	hooks        engineHooks
	env          *tcp.Env     // the engine's connections share it: the loop runs them one at a time
	limits       answerLimits // ratelimit.go
	shuttingDown bool
	faultTrack   *fault.Tracker // what the faults remember of connections
	faultDue     []fault.Action // runFaultActions' actions, kept for reuse
	held         heldQueue      // segments faults hold
}

// New returns a stack for link. It does not start the loop; Run does.
func New(link Link, opts Options) (*Stack, error) {
	if link == nil {
		return nil, errors.New("stack: nil link")
	}
	if len(opts.Addrs) == 0 {
		return nil, errors.New("stack: no addresses")
	}
	s := &Stack{
		link:       link,
		log:        opts.Logger,
		requests:   make(chan func()),
		wake:       make(chan struct{}, 1),
		stopped:    make(chan struct{}),
		shutdown:   make(chan struct{}),
		forceStop:  make(chan struct{}),
		listeners:  make(map[netip.AddrPort]*Listener),
		conns:      make(map[tcp.ID]*Conn),
		localPorts: make(map[netip.AddrPort]int),
		scratch:    make([]byte, connQueueSize),
		clock:      time.Now,
		loopTimer:  time.NewTimer(time.Hour),
		mem:        newBudget(opts.BufferBudget),
		connLimits: connLimits{max: opts.MaxConns, perPeer: opts.MaxConnsPerPeer},
	}
	s.loopTimer.Stop()
	s.faults = &fault.Set{}
	s.hooks = engineHooks{s}
	s.env = tcp.NewEnv(s.hooks, s.hooks, s.mem)
	s.limits = newAnswerLimits(&opts)
	s.capture.to = opts.Capture
	s.udpForward = opts.UDPForward
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.listenOptions(&opts); err != nil {
		return nil, err
	}
	for _, a := range opts.Addrs {
		a = a.Unmap()
		if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() {
			return nil, fmt.Errorf("stack: %v is not a unicast address", a)
		}
		s.addrs = append(s.addrs, a)
	}
	mtu, err := link.MTU()
	if err != nil || mtu < 1280 {
		s.log.Warn("link MTU unusable, assuming 1500", "mtu", mtu, "err", err)
		mtu = 1500
	}
	s.frags = newFragments(opts, mtu)
	cfg := opts.TCP
	if cfg.ISNKey == ([16]byte{}) {
		rand.Read(cfg.ISNKey[:])
	}
	s.faultTrack = fault.NewTracker(binary.LittleEndian.Uint64(cfg.ISNKey[:8]))
	s.cfg4, s.cfg6 = cfg, cfg
	if cfg.MSS == 0 {
		s.cfg4.MSS = uint16(min(mtu-40, 65535-40)) // IPv4 and TCP headers
		s.cfg6.MSS = uint16(min(mtu-60, 65535-60)) // IPv6 and TCP headers
	}
	// Every connection shares one of these two.
	s.cfg4, s.cfg6 = s.cfg4.WithDefaults(), s.cfg6.WithDefaults()
	sendBuffer := cfg.SendBuffer
	if sendBuffer <= 0 {
		sendBuffer = tcp.DefaultBuffer
	}
	s.sendLowWater = max(1, min(16<<10, sendBuffer/4))
	// Each output buffer can grow to a whole 64 KiB packet: the TUN's
	// offload (wireguard-go's GRO) coalesces a flow's segments into the
	// first one's buffer, so a burst crosses to the kernel in one write.
	s.out = &outBatch{size: Headroom + maxPacket}
	return s, nil
}

// Addrs returns the stack's own addresses.
func (s *Stack) Addrs() []netip.Addr { return append([]netip.Addr(nil), s.addrs...) }

// Counters returns a snapshot of the counters. While the loop runs, it
// also waits for the loop to count the connections per state.
func (s *Stack) Counters() Counters {
	c := s.counters.snapshot()
	c.EventsLost = s.events.lost.Load()
	c.Memory = s.memoryCounters()
	c.UDP.Sockets = uint64(s.udp.count())
	s.addCensus(&c)
	return c
}

// Subscribe returns a channel of events with room for buffer of them and a
// function that ends the subscription and closes the channel. Delivery
// never blocks the stack: when the channel is full the event is lost and
// Counters().EventsLost says how many were.
func (s *Stack) Subscribe(buffer int) (<-chan Event, func()) {
	return s.events.subscribe(buffer)
}

// SubscribeKinds is Subscribe for the given kinds of events only (none:
// every kind): the stack builds no event of a kind nobody takes.
func (s *Stack) SubscribeKinds(buffer int, kinds ...EventKind) (<-chan Event, func()) {
	return s.events.subscribe(buffer, kinds...)
}

// Connections returns a snapshot of every connection and listener, taken
// by the loop. It returns nil when the loop does not run.
func (s *Stack) Connections() []ConnInfo {
	if !s.started.Load() {
		return nil
	}
	var infos []ConnInfo
	if err := s.call(context.Background(), func() { infos = s.snapshot() }); err != nil {
		return nil
	}
	return infos
}

// Shutdown stops accepting connections and closes every connection, so
// that each sends its FIN after the data queued, and keeps the loop running
// until all are CLOSED or in TIME-WAIT; then the loop stops and Run
// returns. If ctx ends first, the remaining connections are aborted (RST)
// and Shutdown returns ctx's error.
func (s *Stack) Shutdown(ctx context.Context) error {
	s.shutdownMu.Do(func() { close(s.shutdown) })
	s.closeListeners()
	if !s.started.Load() {
		return nil
	}
	select {
	case <-s.stopped:
		return nil
	case <-ctx.Done():
		s.forceMu.Do(func() { close(s.forceStop) })
		<-s.stopped
		return ctx.Err()
	}
}

// call runs fn on the loop goroutine and waits until it has run.
func (s *Stack) call(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	select {
	case s.requests <- func() { fn(); close(done) }:
		<-done // the loop runs a request as soon as it takes it
		return nil
	case <-s.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wakeConn asks the loop to look at c's queues and flags.
func (s *Stack) wakeConn(c *Conn) {
	s.dirtyMu.Lock()
	if !c.dirty {
		c.dirty = true
		s.dirty = append(s.dirty, c)
	}
	s.dirtyMu.Unlock()
	s.nudge()
}

// IsLocal reports whether a is one of the stack's addresses.
func (s *Stack) IsLocal(a netip.Addr) bool { return s.isLocal(a) }

// isLocal reports whether a is one of the stack's addresses.
func (s *Stack) isLocal(a netip.Addr) bool {
	for _, l := range s.addrs {
		if l == a {
			return true
		}
	}
	return false
}

// localAddrFor returns the stack's first address of remote's family.
func (s *Stack) localAddrFor(remote netip.Addr) (netip.Addr, bool) {
	for _, l := range s.addrs {
		if l.Is4() == remote.Is4() {
			return l, true
		}
	}
	return netip.Addr{}, false
}

func (s *Stack) configFor(id tcp.ID) *tcp.Config {
	if id.Local.Addr().Is4() {
		return &s.cfg4
	}
	return &s.cfg6
}
