package stack

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// fuzzHost runs a Stack the way Run does, but on the calling goroutine
// and a virtual clock, so that a fuzz input replays exactly: packets go
// in through inputBatch, the reader's entry point; timers fire through
// fireTimers at the deadlines nextDeadline names, as the loop's timer
// does; applications (services like the daemon's: echo, a sink that never
// reads, a request/response server that closes first, and connections the
// stack dials) use the net.Conn API, and their wakeups are serviced as the
// loop's goroutine services them. Run itself only adds goroutines around
// these calls. What the stack writes is captured, parsed and fed to a
// model of the peers, so that structured inputs can answer with the right
// sequence numbers.
//
// After every step (a batch of packets, a timer, an application's action)
// check verifies what must hold however hostile the input: every packet
// out is well formed and goes to an address that may have one; every
// state change is an edge of RFC 9293's Figure 5 (tcp.CheckTransition),
// continuing from the connection's state before; every engine keeps its
// invariants (tcp.Conn.CheckInvariants: SND.UNA =< SND.NXT =< highest
// sent, buffers within bounds); the application queues stay within their
// bound; every deadline is on the timer wheel and nothing else is; ports
// and half-open counts match the connections that hold them. drain then
// closes everything and lets virtual hours pass: every connection, record
// and timer must be gone.
type fuzzHost struct {
	t      testing.TB
	s      *Stack
	link   *captureLink
	now    time.Time
	events <-chan Event

	listeners []*fuzzListener
	apps      []*fuzzApp
	flows     []*fuzzFlow
	flowByID  map[tcp.ID]*fuzzFlow // by the stack's ID of the 4-tuple
	states    map[tcp.ID]tcp.State // each connection's state, as events tell it

	batch   [][]byte // packets waiting to go in as one read (batchMode)
	batched bool
	steps   int
	// panicOnFail makes fail panic with a hostFailure instead of failing
	// the test, for the tests that prove the checks can fail.
	panicOnFail bool
}

type hostFailure string

// The virtual clock's start, and the ports of the host's services.
var fuzzEpoch = time.Unix(1_700_000_000, 0)

const (
	fuzzEchoPort     = 7    // echo: every byte comes back, then Close on EOF
	fuzzSinkPort     = 9    // accepts and never reads
	fuzzRequestPort  = 80   // answers the first bytes with a response, then closes first
	fuzzBacklogPort  = 21   // never accepts: its backlog fills
	fuzzClosedPort   = 1234 // nobody listens
	fuzzDialPort     = 9000 // the peer's port the stack dials (and 9001)
	fuzzMaxTimerRuns = 20000
)

// captureLink keeps what the stack writes. Nothing reads from it: the
// host feeds packets to inputBatch itself.
type captureLink struct{ out [][]byte }

func (l *captureLink) Read([][]byte, []int, int) (int, error) { return 0, net.ErrClosed }

func (l *captureLink) Write(bufs [][]byte, offset int) (int, error) {
	for _, b := range bufs {
		l.out = append(l.out, bytes.Clone(b[offset:]))
	}
	return len(bufs), nil
}

func (l *captureLink) BatchSize() int { return 16 }

func (l *captureLink) MTU() (int, error) { return 1500, nil }

func (l *captureLink) Close() error { return nil }

// fuzzOptions are the stack's options under fuzzing: the daemon's, with
// small buffers and listen queues so that short inputs reach full
// windows, full queues and SYN cookies, and keep-alives on so that their
// timers run too.
func fuzzOptions() Options {
	return Options{
		Addrs:      []netip.Addr{stackAddr4, stackAddr6},
		Backlog:    4,
		SynBacklog: 4,
		TCP: tcp.Config{
			ISNKey:        [16]byte{1},
			SendBuffer:    16 << 10,
			ReceiveBuffer: 16 << 10,
			KeepAliveIdle: 30 * time.Second,
		},
	}
}

// newFuzzHost starts a host whose echo service has one established
// connection over IPv4 and one over IPv6, opened by the peer model.
func newFuzzHost(t testing.TB) *fuzzHost {
	link := &captureLink{}
	s, err := New(link, fuzzOptions())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := &fuzzHost{t: t, s: s, link: link, now: fuzzEpoch,
		flowByID: make(map[tcp.ID]*fuzzFlow), states: make(map[tcp.ID]tcp.State)}
	s.clock = func() time.Time { return h.now }
	var stop func()
	h.events, stop = s.Subscribe(2048)
	t.Cleanup(stop)
	for _, l := range []struct {
		port   int
		kind   appKind
		accept bool
	}{{fuzzEchoPort, appEcho, true}, {fuzzSinkPort, appSink, true}, {fuzzRequestPort, appRequest, true}, {fuzzBacklogPort, appEcho, false}} {
		ln, err := s.Listen("tcp", fmt.Sprintf(":%d", l.port))
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		h.listeners = append(h.listeners, &fuzzListener{ln: ln.(*Listener), kind: l.kind, accept: l.accept})
	}
	// The flows a structured input can address: both families, every
	// port, two peer ports each and four to port 80, enough SYNs for a
	// listener to answer the fifth with a SYN cookie.
	for _, ports := range [][2]uint16{{40000, fuzzEchoPort}, {40001, fuzzEchoPort}, {40002, fuzzSinkPort},
		{40003, fuzzRequestPort}, {40004, fuzzBacklogPort}, {40005, fuzzClosedPort}, {40006, fuzzRequestPort}, {40007, fuzzSinkPort},
		{40008, fuzzRequestPort}, {40009, fuzzRequestPort}} {
		for _, fam := range [][2]netip.Addr{{peerAddr4, stackAddr4}, {peerAddr6, stackAddr6}} {
			h.addFlow(tcp.ID{Local: netip.AddrPortFrom(fam[1], ports[1]), Remote: netip.AddrPortFrom(fam[0], ports[0])})
		}
	}
	// Flows 0 and 1 (echo over IPv4 and IPv6) are established.
	for _, f := range h.flows[:2] {
		h.sendSegment(f, tcp.FlagSYN, f.peerSeq, 0, 65535, synOptions(f), nil)
		h.sendSegment(f, tcp.FlagACK, f.peerSeq, f.stackNxt, 65535, h.tsOptions(f), nil)
		if st := h.states[f.id]; st != tcp.Established {
			t.Fatalf("setup: flow %v is %s, want ESTABLISHED", f.id, st)
		}
	}
	return h
}

// packet sends one packet from the peers: at once, or with the next ones
// as one read when batching.
func (h *fuzzHost) packet(p []byte) {
	buf := make([]byte, Headroom+len(p))
	copy(buf[Headroom:], p)
	h.batch = append(h.batch, buf)
	if !h.batched || len(h.batch) == h.link.BatchSize() {
		h.flushBatch()
	}
}

// flushBatch runs the packets waiting as one read, as the reader does.
func (h *fuzzHost) flushBatch() {
	if len(h.batch) == 0 {
		return
	}
	sizes := make([]int, len(h.batch))
	for i, b := range h.batch {
		sizes[i] = len(b) - Headroom
	}
	h.s.inputBatch(h.batch, sizes, false)
	h.batch = h.batch[:0]
	h.afterStep("a read of packets")
}

// turn runs fn as one turn of the loop's goroutine, under its lock.
func (h *fuzzHost) turn(fn func()) {
	s := h.s
	s.loopMu.Lock()
	defer s.loopMu.Unlock()
	s.now = s.clock()
	fn()
	s.endTurn()
}

// advance moves the virtual clock by d, firing every deadline on the way
// at its time.
func (h *fuzzHost) advance(d time.Duration) {
	h.flushBatch()
	end := h.now.Add(d)
	for i := 0; ; i++ {
		h.s.loopMu.Lock()
		next := h.s.nextDeadline()
		h.s.loopMu.Unlock()
		if next.IsZero() || next.After(end) {
			break
		}
		if i == fuzzMaxTimerRuns {
			h.fail("timers keep firing at %v: %s", next.Sub(fuzzEpoch), h.describe())
		}
		if next.After(h.now) {
			h.now = next
		}
		h.turn(func() {
			h.s.armed = time.Time{}
			h.s.fireTimers()
		})
		h.afterStep("a timer")
	}
	h.now = end
}

// afterStep lets the applications act on what the step changed, reads
// what the stack sent, and checks the invariants.
func (h *fuzzHost) afterStep(what string) {
	h.steps++
	for range 4 { // an application's write can free room for another's read
		if !h.runApps() {
			break
		}
		h.turn(h.s.serviceDirty)
	}
	h.readOutput()
	h.check(what)
}

// fail fails the test (or, for TestFuzzHostChecksCanFail, panics) with
// where the input was.
func (h *fuzzHost) fail(format string, args ...any) {
	h.t.Helper()
	msg := fmt.Sprintf("step %d, at %v: %s", h.steps, h.now.Sub(fuzzEpoch), fmt.Sprintf(format, args...))
	if h.panicOnFail {
		panic(hostFailure(msg))
	}
	h.t.Fatal(msg)
}

// fuzzHangLimit is how long one input may run before testkit.HangWatchdog
// calls it a livelock: virtual time never takes that long.
const fuzzHangLimit = 20 * time.Second
