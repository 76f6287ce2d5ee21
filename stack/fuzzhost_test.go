package stack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
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

type appKind uint8

const (
	appEcho appKind = iota
	appSink
	appRequest
)

type fuzzListener struct {
	ln     *Listener
	kind   appKind
	accept bool
}

// fuzzApp is one application's connection.
type fuzzApp struct {
	c       *Conn
	kind    appKind
	pending []byte // read, not yet written back
	paused  bool   // stopped reading
	answer  bool   // appRequest: the response is queued
	eof     bool   // Read said EOF: close once pending is out
	done    bool   // closed by the application
}

// fuzzFlow is a peer's side of one 4-tuple.
type fuzzFlow struct {
	id       tcp.ID  // from the stack's side
	peerSeq  tcp.Seq // the peer's next sequence number
	stackNxt tcp.Seq // the end of the highest segment the stack sent
	known    bool    // stackNxt is known: the stack sent a SYN
	tsOn     bool    // the peer's SYN carried timestamps
	tsVal    uint32  // the peer's next TSval
	tsEcr    uint32  // the stack's last TSval
}

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
func (l *captureLink) BatchSize() int    { return 16 }
func (l *captureLink) MTU() (int, error) { return 1500, nil }
func (l *captureLink) Close() error      { return nil }

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

func (h *fuzzHost) addFlow(id tcp.ID) *fuzzFlow {
	f := &fuzzFlow{id: id, peerSeq: tcp.Seq(1_000_000 * (len(h.flows) + 1)), tsVal: 1000}
	h.flows = append(h.flows, f)
	h.flowByID[id] = f
	return f
}

// flow picks a flow by a byte of the input.
func (h *fuzzHost) flow(b byte) *fuzzFlow { return h.flows[int(b)%len(h.flows)] }

func synOptions(f *fuzzFlow) tcp.Options {
	f.tsOn = true
	f.tsVal++
	return tcp.Options{MSS: 1460, HasWindowScale: true, WindowScale: 7, SACKPermitted: true,
		HasTimestamps: true, TSVal: f.tsVal}
}

// tsOptions are the options of a segment after the handshake.
func (h *fuzzHost) tsOptions(f *fuzzFlow) tcp.Options {
	if !f.tsOn {
		return tcp.Options{}
	}
	f.tsVal++
	return tcp.Options{HasTimestamps: true, TSVal: f.tsVal, TSEcr: f.tsEcr}
}

// sendSegment sends a segment of the flow's peer as one step; the peer's
// sequence number moves on if seq was its next one.
func (h *fuzzHost) sendSegment(f *fuzzFlow, flags tcp.Flags, seq, ack tcp.Seq, window uint16, opts tcp.Options, payload []byte) {
	h.packet(h.buildSegment(f, flags, seq, ack, window, opts, payload))
	h.flushBatch()
}

// buildSegment makes the IP packet of a segment from the flow's peer; a
// segment at the peer's next sequence number moves it on.
func (h *fuzzHost) buildSegment(f *fuzzFlow, flags tcp.Flags, seq, ack tcp.Seq, window uint16, opts tcp.Options, payload []byte) []byte {
	seg := tcp.Segment{SrcPort: f.id.Remote.Port(), DstPort: f.id.Local.Port(), Seq: seq, Ack: ack,
		Flags: flags, Window: window, Options: opts, Payload: payload}
	buf := make([]byte, 60+60+len(payload))
	n, err := wire.BuildTCP(buf, f.id.Remote.Addr(), f.id.Local.Addr(), &seg, 64)
	if err != nil {
		h.t.Fatalf("BuildTCP: %v", err)
	}
	if seq == f.peerSeq {
		f.peerSeq = seg.End()
		if flags.Has(tcp.FlagSYN) {
			f.tsOn = opts.HasTimestamps
		}
	}
	return buf[:n]
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

// runApps accepts what the listeners have and lets every application
// read and write as far as it can without blocking. It reports whether
// any of them did something.
func (h *fuzzHost) runApps() bool {
	acted := false
	for _, l := range h.listeners {
		for l.accept && l.ln.acceptQueueLen() > 0 {
			c, err := l.ln.Accept()
			if err != nil {
				break
			}
			h.apps = append(h.apps, &fuzzApp{c: c.(*Conn), kind: l.kind})
			acted = true
		}
	}
	for _, a := range h.apps {
		if a.step() {
			acted = true
		}
	}
	h.apps = slices.DeleteFunc(h.apps, func(a *fuzzApp) bool { return a.done })
	return acted
}

// step is what the application does with its connection now, never
// blocking; it reports whether it did anything.
func (a *fuzzApp) step() bool {
	if a.done {
		return false
	}
	acted := false
	if len(a.pending) > 0 {
		if free, ok := a.c.writable(); ok {
			n, err := a.c.Write(a.pending[:min(free, len(a.pending))])
			a.pending = a.pending[n:]
			acted = true
			if err != nil {
				a.close()
				return true
			}
		}
	}
	if len(a.pending) == 0 && a.eof {
		a.close()
		return true
	}
	if a.kind == appSink || a.paused || len(a.pending) > 0 || a.eof {
		return acted
	}
	n, ok := a.c.readable()
	if !ok {
		return acted
	}
	buf := make([]byte, max(n, 1))
	n, err := a.c.Read(buf)
	switch {
	case err == io.EOF:
		a.eof = true
	case err != nil:
		a.close()
	case a.kind == appEcho:
		a.pending = buf[:n]
	case a.kind == appRequest && !a.answer:
		a.answer, a.eof = true, true // answer, then close first
		a.pending = bytes.Repeat([]byte("response "), 300)
	}
	return true
}

func (a *fuzzApp) close() {
	a.done = true
	a.c.Close()
}

// readable says how much Read returns at once, and whether it returns
// at all without blocking.
func (c *Conn) readable() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.recv.Len()
	return n, n > 0 || c.closed || c.readClosed || c.err != nil || c.peerClosed || c.finished
}

// writable says how much Write takes at once, and whether it returns at
// all without blocking.
func (c *Conn) writable() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	free := c.send.Free()
	return free, free > 0 || c.writeErrLocked() != nil
}

// appFor is the application of a flow's connection, if it has one.
func (h *fuzzHost) appFor(f *fuzzFlow) *fuzzApp {
	for _, a := range h.apps {
		if a.c.ID() == f.id {
			return a
		}
	}
	return nil
}

// dial opens a connection from the stack to a peer's port, as Dial does.
func (h *fuzzHost) dial(remote netip.AddrPort) {
	var c *Conn
	h.turn(func() { c, _ = h.s.openActive(remote) })
	if c != nil {
		h.apps = append(h.apps, &fuzzApp{c: c, kind: appEcho})
	}
	h.afterStep("a dial")
}

// readOutput checks every packet the stack wrote and lets the peer model
// learn the stack's sequence numbers and timestamps from them.
func (h *fuzzHost) readOutput() {
	for _, pkt := range h.link.out {
		if mtu, _ := h.link.MTU(); len(pkt) > mtu {
			h.fail("the stack sent a packet of %d bytes, over the link's MTU of %d", len(pkt), mtu)
		}
		p, err := wire.ParseIP(pkt)
		if errors.Is(err, wire.ErrFragment) {
			// Fragments of a large echo reply (RFC 1122 §3.2.2.6).
			f, err := wire.ParseFragment(pkt)
			if err != nil || !h.s.isLocal(f.Src) || martianDestination(f.Dst) != "" {
				h.fail("the stack sent a bad fragment (%v) from %v to %v: % x", err, f.Src, f.Dst, pkt)
			}
			continue
		}
		if err != nil {
			h.fail("the stack sent a malformed packet (%v): % x", err, pkt)
		}
		if !h.s.isLocal(p.Src) {
			h.fail("the stack sent a packet from %v, not its own address", p.Src)
		}
		if why := martianDestination(p.Dst); why != "" {
			h.fail("the stack sent a packet to %v, a %s address", p.Dst, why)
		}
		switch p.Protocol {
		case wire.ProtoTCP:
			var seg tcp.Segment
			if err := wire.ParseTCP(&p, &seg); err != nil {
				h.fail("the stack sent a bad TCP segment (%v): % x", err, pkt)
			}
			h.learn(tcp.ID{Local: netip.AddrPortFrom(p.Src, seg.SrcPort), Remote: netip.AddrPortFrom(p.Dst, seg.DstPort)}, &seg)
		case wire.ProtoICMPv4, wire.ProtoICMPv6:
			var m wire.ICMP
			if err := wire.ParseICMP(&p, &m); err != nil {
				h.fail("the stack sent a bad ICMP message (%v): % x", err, pkt)
			}
		default:
			h.fail("the stack sent protocol %d", p.Protocol)
		}
	}
	clear(h.link.out)
	h.link.out = h.link.out[:0]
}

// learn updates the peer model with a segment the stack sent.
func (h *fuzzHost) learn(id tcp.ID, seg *tcp.Segment) {
	f := h.flowByID[id]
	if f == nil {
		if !seg.Flags.Has(tcp.FlagSYN) || seg.Flags.Has(tcp.FlagACK) {
			return // a RST or challenge ACK to a source the input made up
		}
		f = h.addFlow(id) // the stack dialed
	}
	switch {
	case seg.Flags.Has(tcp.FlagSYN):
		f.stackNxt, f.known = seg.End(), true
	case f.known && seg.End().GreaterThan(f.stackNxt):
		f.stackNxt = seg.End()
	}
	if seg.Options.HasTimestamps {
		f.tsEcr = seg.Options.TSVal
	}
}

// martianDestination says why no packet may go to a, or "".
func martianDestination(a netip.Addr) string {
	switch {
	case !a.IsValid(), a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsMulticast():
		return "multicast"
	case a == limitedBroadcast:
		return "broadcast"
	case a.Is4() && a.As4()[0] >= 240:
		return "class E"
	case a.Is4In6():
		return "IPv4-mapped"
	}
	return ""
}

// check verifies the invariants after a step.
func (h *fuzzHost) check(what string) {
	s := h.s
	s.loopMu.Lock()
	defer s.loopMu.Unlock()
	h.checkEvents(what)
	ports := make(map[netip.AddrPort]int)
	halfOpen := make(map[*Listener]int)
	scheduled := 0
	for id, c := range s.conns {
		e := c.engine
		if c.ID() != id || c.removed {
			h.fail("after %s: the table holds %v under %v (removed %v)", what, c.ID(), id, c.removed)
		}
		if st := e.State(); st == tcp.Closed || (st == tcp.Listen && c.listener != nil) {
			h.fail("after %s: %v stays in the table in %s", what, id, st)
		}
		if err := e.CheckInvariants(); err != nil {
			h.fail("after %s: %v: %v", what, id, err)
		}
		c.mu.Lock()
		for _, q := range []*byteQueue{&c.recv, &c.send} {
			if q.Len() > q.limit || len(q.buf) > q.limit {
				h.fail("after %s: %v: an application queue holds %d in %d of storage, limit %d", what, id, q.Len(), len(q.buf), q.limit)
			}
		}
		c.mu.Unlock()
		if dl := e.Deadline(); !dl.IsZero() && (c.timerSlot == notScheduled || c.timerAt.After(dl)) {
			h.fail("after %s: %v in %s has a deadline in %v that the wheel does not hold (slot %d at %v)",
				what, id, e.State(), dl.Sub(h.now), c.timerSlot, c.timerAt.Sub(h.now))
		}
		if c.timerSlot != notScheduled {
			scheduled++
		}
		ports[id.Local]++
		if c.listener != nil && !c.handedOff {
			halfOpen[c.listener]++
		}
	}
	if s.timers.count != scheduled {
		h.fail("after %s: the timer wheel holds %d connections, the table %d scheduled ones", what, s.timers.count, scheduled)
	}
	s.timeWait.each(func(id tcp.ID, _ *timeWaitEntry) {
		if _, ok := s.conns[id]; ok {
			h.fail("after %s: %v is both a connection and a TIME-WAIT record", what, id)
		}
		ports[id.Local]++
	})
	if !maps.Equal(ports, s.localPorts) {
		h.fail("after %s: ports in use %v, counted %v", what, s.localPorts, ports)
	}
	for _, l := range h.listeners {
		ln := l.ln
		if ln.halfOpen != halfOpen[ln] {
			h.fail("after %s: listener %v counts %d half-open connections, the table holds %d", what, ln.Addr(), ln.halfOpen, halfOpen[ln])
		}
		if q := ln.acceptQueueLen(); q > acceptQueueBound(ln) {
			h.fail("after %s: listener %v has %d connections waiting for Accept, bound %d", what, ln.Addr(), q, acceptQueueBound(ln))
		}
	}
}

// acceptQueueBound is how many connections may wait for Accept: the
// backlog, and the connections that were half-open when it filled
// (listen_queue.go).
func acceptQueueBound(ln *Listener) int { return ln.backlog + ln.synBacklog }

// checkEvents checks the state changes the events report: each is an
// edge of Figure 5 and starts where the connection was.
func (h *fuzzHost) checkEvents(what string) {
	for {
		var ev Event
		select {
		case ev = <-h.events:
		default:
			if lost := h.s.events.lost.Load(); lost > 0 {
				h.fail("%d events lost", lost)
			}
			return
		}
		if ev.Kind != EventStateChange {
			continue
		}
		if err := tcp.CheckTransition(ev.From, ev.To, ev.Reason); err != nil {
			h.fail("after %s: %v: %v", what, ev.Conn, err)
		}
		prev, known := h.states[ev.Conn]
		if ev.From == tcp.Closed && (ev.To == tcp.Listen || ev.To == tcp.SynSent) {
			// A new TCB; a connection discarded in LISTEN made way.
			if known && prev != tcp.Closed && prev != tcp.Listen {
				h.fail("after %s: a new connection for %v, whose connection is in %s", what, ev.Conn, prev)
			}
		} else if !known || prev != ev.From {
			h.fail("after %s: %v changes %s -> %s (%s), but it was in %s (known %v)", what, ev.Conn, ev.From, ev.To, ev.Reason, prev, known)
		}
		h.states[ev.Conn] = ev.To
	}
}

// drain closes every application and listener and lets three virtual
// hours pass with the peers silent: every connection must end, and the
// stack must hold nothing for any of them.
func (h *fuzzHost) drain() {
	h.flushBatch()
	for _, a := range h.apps {
		a.close()
	}
	for _, l := range h.listeners {
		l.ln.Close()
	}
	h.turn(h.s.serviceDirty)
	h.afterStep("closing everything")
	h.advance(3 * time.Hour)
	s := h.s
	s.loopMu.Lock()
	defer s.loopMu.Unlock()
	if len(s.conns) > 0 || s.timeWait.len() > 0 || len(s.localPorts) > 0 || s.timers.count > 0 {
		h.fail("three hours after closing everything the stack still holds %d connections, %d TIME-WAIT records, ports %v, %d timers: %s",
			len(s.conns), s.timeWait.len(), s.localPorts, s.timers.count, h.describeLocked())
	}
}

// describe lists the connections, for failure messages.
func (h *fuzzHost) describe() string {
	h.s.loopMu.Lock()
	defer h.s.loopMu.Unlock()
	return h.describeLocked()
}

func (h *fuzzHost) describeLocked() string {
	var b bytes.Buffer
	for id, c := range h.s.conns {
		st := c.engine.Status()
		fmt.Fprintf(&b, "\n  %v %s snd.una=%d snd.nxt=%d snd.wnd=%d rcv.nxt=%d sendq=%d recvq=%d deadline=%v",
			id, st.State, st.SndUna, st.SndNxt, st.SndWnd, st.RcvNxt, st.SendQueue, st.RecvQueue, c.engine.Deadline().Sub(h.now))
	}
	return b.String()
}

func (h *fuzzHost) fail(format string, args ...any) {
	h.t.Helper()
	msg := fmt.Sprintf("step %d, at %v: %s", h.steps, h.now.Sub(fuzzEpoch), fmt.Sprintf(format, args...))
	if h.panicOnFail {
		panic(hostFailure(msg))
	}
	h.t.Fatal(msg)
}
