package stack

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// fanout hands every event to every subscriber without ever blocking the
// loop: a subscriber whose buffer is full loses the event, and lost counts
// it. With no subscriber, active() is false and the loop builds no event;
// wants(kind) is false when no subscriber takes that kind, so that a
// subscriber of state changes alone (the daemon's log) costs nothing per
// segment.
type fanout struct {
	subscribers atomic.Int32
	lost        atomic.Uint64
	kinds       [numEventKinds]atomic.Int32 // subscribers per kind

	mu   sync.RWMutex
	subs map[*subscription]struct{}
}

// numEventKinds bounds the EventKind values.
const numEventKinds = int(EventDrop) + 1

type subscription struct {
	ch    chan Event
	kinds [numEventKinds]bool
}

// active reports whether anyone listens; the loop checks it before
// building an event.
func (f *fanout) active() bool { return f.subscribers.Load() > 0 }

// wants reports whether anyone listens to events of this kind.
func (f *fanout) wants(kind EventKind) bool { return f.kinds[kind].Load() > 0 }

// subscribe adds a subscriber of the given kinds of events; none means
// every kind.
func (f *fanout) subscribe(buffer int, kinds ...EventKind) (<-chan Event, func()) {
	s := &subscription{ch: make(chan Event, max(buffer, 0))}
	for _, k := range kinds {
		if int(k) < numEventKinds {
			s.kinds[k] = true
		}
	}
	if len(kinds) == 0 {
		for k := range s.kinds {
			s.kinds[k] = true
		}
	}
	f.mu.Lock()
	if f.subs == nil {
		f.subs = make(map[*subscription]struct{})
	}
	f.subs[s] = struct{}{}
	f.subscribers.Add(1)
	f.count(s, 1)
	f.mu.Unlock()
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs, s)
			f.subscribers.Add(-1)
			f.count(s, -1)
			close(s.ch)
			f.mu.Unlock()
		})
	}
	return s.ch, cancel
}

func (f *fanout) count(s *subscription, delta int32) {
	for k, on := range s.kinds {
		if on {
			f.kinds[k].Add(delta)
		}
	}
}

func (f *fanout) publish(ev Event) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for s := range f.subs {
		if int(ev.Kind) >= numEventKinds || !s.kinds[ev.Kind] {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			f.lost.Add(1)
		}
	}
}

// Inbound reports whether the event's segment came from the peer: a
// segment in, or a dropped segment. State changes carry their cause,
// which is inbound too.
func (e *Event) Inbound() bool { return e.Kind != EventSegmentOut }

// RelSeq is the segment's sequence number relative to its sender's ISN
// (0 for a SYN), and whether that ISN is known.
func (e *Event) RelSeq() (uint32, bool) {
	isn, ok := e.ISN.Remote, e.ISN.RemoteKnown
	if !e.Inbound() {
		isn, ok = e.ISN.Local, e.ISN.LocalKnown
	}
	return uint32(e.Seg.Seq) - uint32(isn), ok
}

// RelAck is the acknowledgment number relative to the ISN of the side it
// acknowledges, and whether that ISN is known.
func (e *Event) RelAck() (uint32, bool) {
	isn, ok := e.ISN.Local, e.ISN.LocalKnown
	if !e.Inbound() {
		isn, ok = e.ISN.Remote, e.ISN.RemoteKnown
	}
	return uint32(e.Seg.Ack) - uint32(isn), ok
}

// The builders below run only while someone subscribes: callers check
// s.events.active() first, so an idle stack builds nothing.

// segmentEvent describes seg on the connection c (nil when no connection
// takes it) with the state it meets.
func segmentEvent(now time.Time, kind EventKind, id tcp.ID, c *Conn, state tcp.State, seg *tcp.Segment, why tcp.Reason) Event {
	ev := Event{Time: now, Kind: kind, Conn: id, State: state, Reason: why}
	if seg != nil {
		ev.Seg = summarize(seg)
	}
	ev.ISN = isnsOf(c, seg, kind != EventSegmentOut)
	return ev
}

// inboundState is the state an arriving segment meets: its connection's,
// else LISTEN if a listener takes it, else CLOSED.
func (s *Stack) inboundState(id tcp.ID, c *Conn) tcp.State {
	switch {
	case c != nil:
		return c.engine.State()
	case s.isTimeWait(id):
		return tcp.TimeWait
	case s.listenerFor(id.Local) != nil:
		return tcp.Listen
	}
	return tcp.Closed
}

// isnsOf finds what is known of c's ISNs from the states it has passed
// through: every way to an ISS goes through SYN-SENT or SYN-RECEIVED, and
// every way to an IRS through SYN-RECEIVED or a synchronized state. A
// SYN's sequence number is its sender's ISN.
func isnsOf(c *Conn, seg *tcp.Segment, inbound bool) ISNs {
	var isn ISNs
	if c != nil {
		for _, st := range c.loopStates {
			isn.LocalKnown = isn.LocalKnown || st == tcp.SynSent || st == tcp.SynReceived
			isn.RemoteKnown = isn.RemoteKnown || st == tcp.SynReceived || st.Synchronized()
		}
		if isn.LocalKnown || isn.RemoteKnown {
			isn.Local, isn.Remote = c.s.isnCache.of(c)
		}
	}
	if seg != nil && seg.Flags.Has(tcp.FlagSYN) {
		if inbound {
			isn.Remote, isn.RemoteKnown = seg.Seq, true
		} else {
			isn.Local, isn.LocalKnown = seg.Seq, true
		}
	}
	return isn
}

// isnCache keeps the ISNs of the connection the last event was about:
// read through the engine's Status, they cost a snapshot of the whole
// TCB, and a traced segment makes two or three events. A connection's
// ISNs change only with its state (Figure 8's return to LISTEN takes a
// new SYN), so the cache holds while its states do.
type isnCache struct {
	c        *Conn
	states   int // len(c.loopStates) when cached
	iss, irs tcp.Seq
}

func (k *isnCache) of(c *Conn) (iss, irs tcp.Seq) {
	if k.c != c || k.states != len(c.loopStates) {
		st := c.engine.Status()
		*k = isnCache{c: c, states: len(c.loopStates), iss: st.ISS, irs: st.IRS}
	}
	return k.iss, k.irs
}

func summarize(seg *tcp.Segment) SegmentSummary {
	return SegmentSummary{Flags: seg.Flags, Seq: seg.Seq, Ack: seg.Ack, Window: seg.Window,
		Len: len(seg.Payload), Options: seg.Options}
}

// connOf is the stack's connection behind an engine connection.
func connOf(e *tcp.Conn) *Conn {
	c, _ := e.UserData().(*Conn)
	return c
}
