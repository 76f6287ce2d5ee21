package ladder

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// sim plays two engines back to back on a virtual clock, one of them the
// stack whose events it records as stack.Stack would publish them, with a
// fixed one-way delay and whatever segments lose says the network loses.
// Applications act at scripted times and read everything at once.
type sim struct {
	t       *testing.T
	start   time.Time
	now     time.Time
	delay   time.Duration
	id      tcp.ID // the stack's side
	passive bool   // the stack's engine is made when the first segment arrives, as a listener does

	stack, peer *tcp.Conn
	stackCfg    tcp.Config
	stackStates []tcp.State
	events      []stack.Event
	// peerChanges are the peer's own state changes, as a tracepoint on
	// its side would report them; the listener's passive open is left
	// out, as the kernel's listener existed before its connection.
	peerChanges []PeerChange
	link        []LinkEvent // what the network lost of the stack's segments
	inflight    []flight    // by arrival; ties in sending order
	actions     []action
	lose        func(fromStack bool, seg *tcp.Segment) bool
	readScratch []byte
}

type flight struct {
	at      time.Time
	toStack bool
	seg     tcp.Segment
}

type action struct {
	at time.Time
	do func()
}

var simEpoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// newSim sets up the stack at local and the peer at remote with fixed
// ISNs; a passive stack listens for the peer's SYN, an active one is
// opened by the script.
func newSim(t *testing.T, local, remote string, passive bool, stackISN, peerISN tcp.Seq, cfg, peerCfg tcp.Config) *sim {
	t.Helper()
	s := &sim{
		t: t, start: simEpoch, now: simEpoch, delay: 10 * time.Millisecond, passive: passive,
		id:          tcp.ID{Local: netip.MustParseAddrPort(local), Remote: netip.MustParseAddrPort(remote)},
		readScratch: make([]byte, 1<<16),
	}
	s.stackCfg = cfg
	s.stackCfg.ISN = func(tcp.ID, time.Time) tcp.Seq { return stackISN }
	peerCfg.ISN = func(tcp.ID, time.Time) tcp.Seq { return peerISN }
	peerID := tcp.ID{Local: s.id.Remote, Remote: s.id.Local}
	s.peer = tcp.New(peerID, &peerCfg, tcp.NewEnv(peerEnd{s}, peerEnd{s}, nil))
	if passive {
		if err := s.peer.OpenActive(s.now); err != nil {
			t.Fatal(err)
		}
	} else {
		s.stack = tcp.New(s.id, &s.stackCfg, tcp.NewEnv(stackEnd{s}, stackEnd{s}, nil))
		if err := s.peer.OpenPassive(s.now); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// at schedules an application's action at d after the start.
func (s *sim) at(d time.Duration, do func()) {
	s.actions = append(s.actions, action{at: s.start.Add(d), do: do})
	slices.SortStableFunc(s.actions, func(a, b action) int { return a.at.Compare(b.at) })
}

// inject delivers a segment to the stack at d, as if the peer had sent it
// (or an attacker, spoofing it).
func (s *sim) inject(d time.Duration, seg func() tcp.Segment) {
	s.at(d, func() { s.deliver(flight{toStack: true, seg: seg()}) })
}

// run plays everything due up to d after the start.
func (s *sim) run(d time.Duration) {
	end := s.start.Add(d)
	for steps := 0; steps < 10000; steps++ {
		next, what := s.next()
		if next.IsZero() || next.After(end) {
			return
		}
		s.now = next
		switch what {
		case "flight":
			f := s.inflight[0]
			s.inflight = s.inflight[1:]
			s.deliver(f)
		case "action":
			a := s.actions[0]
			s.actions = s.actions[1:]
			a.do()
		case "stack":
			s.stack.Tick(s.now)
		case "peer":
			s.peer.Tick(s.now)
		}
		s.readAll()
	}
	s.t.Fatal("sim: too many steps")
}

// next is the earliest thing due: a segment arriving, an action, a timer.
func (s *sim) next() (time.Time, string) {
	var at time.Time
	what := ""
	consider := func(t time.Time, name string) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at, what = t, name
		}
	}
	if len(s.inflight) > 0 {
		consider(s.inflight[0].at, "flight")
	}
	if len(s.actions) > 0 {
		consider(s.actions[0].at, "action")
	}
	if s.stack != nil && s.stack.State() != tcp.Closed {
		consider(s.stack.Deadline(), "stack")
	}
	if s.peer.State() != tcp.Closed {
		consider(s.peer.Deadline(), "peer")
	}
	return at, what
}

func (s *sim) deliver(f flight) {
	if !f.toStack {
		s.peer.Input(s.now, &f.seg)
		return
	}
	if s.stack == nil { // the listener takes the SYN, as Stack.passiveOpen does
		s.record(stack.EventSegmentIn, tcp.Listen, &f.seg, tcp.ReasonNone)
		s.stack = tcp.New(s.id, &s.stackCfg, tcp.NewEnv(stackEnd{s}, stackEnd{s}, nil))
		s.stack.OpenPassive(s.now)
		s.stack.Input(s.now, &f.seg)
		return
	}
	s.record(stack.EventSegmentIn, s.stack.State(), &f.seg, tcp.ReasonNone)
	s.stack.Input(s.now, &f.seg)
}

// readAll is the applications reading whatever arrived.
func (s *sim) readAll() {
	for _, c := range []*tcp.Conn{s.stack, s.peer} {
		for c != nil && c.Readable() > 0 {
			c.Receive(s.now, s.readScratch)
		}
	}
}

func (s *sim) send(fromStack bool, seg *tcp.Segment) {
	if s.lose != nil && s.lose(fromStack, seg) {
		if fromStack {
			s.link = append(s.link, LinkEvent{
				Seg:  SegmentKey{Flags: seg.Flags, Seq: seg.Seq, Ack: seg.Ack, Len: len(seg.Payload)},
				Lost: true, Note: "lost on the way",
			})
		}
		return
	}
	f := flight{at: s.now.Add(s.delay), toStack: !fromStack, seg: *seg}
	f.seg.Payload = bytes.Clone(seg.Payload)
	s.inflight = append(s.inflight, f)
	slices.SortStableFunc(s.inflight, func(a, b flight) int { return a.at.Compare(b.at) })
}

// record adds an event as the stack publishes it, ISNs included.
func (s *sim) record(kind stack.EventKind, state tcp.State, seg *tcp.Segment, why tcp.Reason) *stack.Event {
	ev := stack.Event{Time: s.now, Kind: kind, Conn: s.id, State: state, Reason: why}
	if seg != nil {
		ev.Seg = stack.SegmentSummary{Flags: seg.Flags, Seq: seg.Seq, Ack: seg.Ack, Window: seg.Window, Len: len(seg.Payload), Options: seg.Options}
	}
	for _, st := range s.stackStates {
		ev.ISN.LocalKnown = ev.ISN.LocalKnown || st == tcp.SynSent || st == tcp.SynReceived
		ev.ISN.RemoteKnown = ev.ISN.RemoteKnown || st == tcp.SynReceived || st.Synchronized()
	}
	if s.stack != nil {
		st := s.stack.Status()
		ev.ISN.Local, ev.ISN.Remote = st.ISS, st.IRS
	}
	if seg != nil && seg.Flags.Has(tcp.FlagSYN) {
		if ev.Inbound() {
			ev.ISN.Remote, ev.ISN.RemoteKnown = seg.Seq, true
		} else {
			ev.ISN.Local, ev.ISN.LocalKnown = seg.Seq, true
		}
	}
	if !ev.ISN.LocalKnown {
		ev.ISN.Local = 0
	}
	if !ev.ISN.RemoteKnown {
		ev.ISN.Remote = 0
	}
	s.events = append(s.events, ev)
	return &s.events[len(s.events)-1]
}

// stackEnd is the recorded engine's Output and Observer.
type stackEnd struct{ s *sim }

func (e stackEnd) Output(c *tcp.Conn, seg *tcp.Segment, why tcp.Reason) {
	e.s.record(stack.EventSegmentOut, c.State(), seg, why)
	e.s.send(true, seg)
}

func (e stackEnd) StateChange(c *tcp.Conn, from, to tcp.State, cause *tcp.Segment, why tcp.Reason) {
	if len(e.s.stackStates) == 0 {
		e.s.stackStates = append(e.s.stackStates, from)
	}
	e.s.stackStates = append(e.s.stackStates, to)
	ev := e.s.record(stack.EventStateChange, to, cause, why)
	ev.From, ev.To = from, to
}

func (e stackEnd) Drop(c *tcp.Conn, seg *tcp.Segment, why tcp.Reason) {
	e.s.record(stack.EventDrop, c.State(), seg, why)
}

// peerEnd is the other engine's: its segments go to the stack.
type peerEnd struct{ s *sim }

func (e peerEnd) Output(c *tcp.Conn, seg *tcp.Segment, why tcp.Reason) { e.s.send(false, seg) }
func (e peerEnd) Drop(*tcp.Conn, *tcp.Segment, tcp.Reason)             {}

func (e peerEnd) StateChange(_ *tcp.Conn, from, to tcp.State, _ *tcp.Segment, _ tcp.Reason) {
	if from == tcp.Closed && to == tcp.Listen {
		return
	}
	e.s.peerChanges = append(e.s.peerChanges, PeerChange{Time: e.s.now, From: from, To: to})
}

// report is the peer's changes as a PeerReport.
func (s *sim) report() *PeerReport {
	return &PeerReport{Name: "peer", Source: "its engine", Changes: s.peerChanges}
}
