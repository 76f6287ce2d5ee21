package fault

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// Verdict is what the stack does with one segment of a port with faults.
// The zero Verdict passes the segment as it is.
type Verdict struct {
	Drop    bool          // discard it
	Refuse  bool          // an inbound SYN: answer with RST, keep nothing
	Forget  bool          // inbound: forget the connection silently first, then deliver
	Delay   time.Duration // hold it this long
	Copies  int           // send or deliver it this many more times
	Slices  []int         // outbound data: send the payload in pieces of these sizes
	Gap     time.Duration // between slices
	Changed bool          // the segment was rewritten (window, MSS option, FIN)
	// Reason is the fault that decided ("fault:loss"), "" if none acted.
	Reason string
}

func (v *Verdict) act(f *Fault) {
	if v.Reason == "" {
		v.Reason = f.Reason()
	}
}

// ActionKind is what an Action does to a connection.
type ActionKind uint8

// Actions.
const (
	ActReset         ActionKind = iota + 1 // send a RST and drop the connection
	ActForget                              // drop the connection, send nothing
	ActReleaseAccept                       // hand a held connection to Accept
)

// Action is something a fault does to a whole connection, now or at a
// time: the stack carries it out between engine calls.
type Action struct {
	At     time.Time
	ID     tcp.ID
	Kind   ActionKind
	Reason string
	// Seq, if HasSeq, is the sequence number a RST must carry: where the
	// data that reached the peer ends, which faults may have cut short of
	// what the engine sent (RFC 5961 §3.2: the peer takes only a RST at
	// exactly RCV.NXT).
	Seq    tcp.Seq
	HasSeq bool
}

// Tracker is what the faults remember about connections: whether each
// fault applies (toxicity), bytes seen, when it opened, the SYNs dropped
// per attempt, the times segments are held until. It belongs to the
// stack's loop.
type Tracker struct {
	rng      *rand.Rand
	conns    map[tcp.ID]*connState
	synDrops map[netip.AddrPort]synAttempt
	actions  []Action // due at their At
}

type synAttempt struct {
	dropped int
	last    time.Time
}

// dir indexes per-direction state: in is from the client.
const (
	in  = 0
	out = 1
)

type connState struct {
	opened      time.Time
	applies     map[*Fault]bool
	bytes       [2]int64   // payload bytes seen, new ones only
	high        [2]tcp.Seq // end of the highest segment seen
	seen        [2]bool
	passedEnd   tcp.Seq // end of the last outbound segment that left
	passed      bool
	release     [2]time.Time // latency: segments leave in order
	nextFree    [2]time.Time // bandwidth: when the link is free again
	scaleOffer  bool         // the client's SYN offered window scaling
	synAckSent  bool         // our SYN-ACK left
	handshook   bool         // the client's ACK of our SYN-ACK came
	shift       uint8        // our receive window's scale
	dead        bool         // reset or forgotten
	timed       map[*Fault]bool
	acceptAsked bool
}

// NewTracker returns a tracker drawing its chances from seed.
func NewTracker(seed uint64) *Tracker {
	return &Tracker{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), conns: make(map[tcp.ID]*connState)}
}

func isBareSYN(seg *tcp.Segment) bool {
	return seg.Flags&(tcp.FlagSYN|tcp.FlagACK|tcp.FlagRST) == tcp.FlagSYN
}

// state returns the connection's state, made at its SYN or when a fault
// first sees it.
func (t *Tracker) state(now time.Time, id tcp.ID, seg *tcp.Segment) *connState {
	st := t.conns[id]
	if st == nil || (st.dead && isBareSYN(seg)) {
		t.prune(now)
		st = &connState{opened: now, applies: make(map[*Fault]bool)}
		t.conns[id] = st
	}
	return st
}

// applies decides once per connection whether f acts on it (toxicity).
func (st *connState) appliesTo(f *Fault, rng *rand.Rand) bool {
	ok, decided := st.applies[f]
	if !decided {
		ok = f.Toxicity >= 1 || rng.Float64() < f.Toxicity
		st.applies[f] = ok
	}
	return ok
}

// count notes seg's new payload bytes in direction d and returns how many
// were seen before it.
func (st *connState) count(d int, seg *tcp.Segment) (before int64) {
	before = st.bytes[d]
	if len(seg.Payload) == 0 {
		return before
	}
	end := seg.Seq.Add(uint32(len(seg.Payload)))
	switch {
	case !st.seen[d]:
		st.bytes[d] += int64(len(seg.Payload))
	case end.GreaterThan(st.high[d]):
		st.bytes[d] += int64(st.high[d].Size(end))
	default:
		return before // a retransmission
	}
	st.seen[d], st.high[d] = true, end
	return before
}

// Forget drops what the tracker keeps of a connection that ended.
func (t *Tracker) Forget(id tcp.ID) { delete(t.conns, id) }

// Tracked is how many connections the tracker keeps.
func (t *Tracker) Tracked() int { return len(t.conns) }

func (t *Tracker) chance(percent float64) bool { return t.rng.Float64()*100 < percent }

// jittered is d ± jitter, uniformly, never below zero.
func (t *Tracker) jittered(d, jitter time.Duration) time.Duration {
	if jitter > 0 {
		d += time.Duration(t.rng.Int64N(int64(2*jitter)+1)) - jitter
	}
	return max(d, 0)
}

// inOrder holds a segment for d, but never so that it leaves before one
// held earlier in the same direction.
func (st *connState) inOrder(now time.Time, dir int, d time.Duration) time.Duration {
	at := now.Add(d)
	if at.Before(st.release[dir]) {
		at = st.release[dir]
	}
	st.release[dir] = at
	return at.Sub(now)
}

// pace holds a segment of n bytes until the link of rate KB/s is free.
func (st *connState) pace(now time.Time, dir int, n int, rate int64) time.Duration {
	start := now
	if st.nextFree[dir].After(now) {
		start = st.nextFree[dir]
	}
	st.nextFree[dir] = start.Add(time.Duration(int64(n+40) * int64(time.Second) / (rate * 1000)))
	return start.Sub(now)
}

// schedule queues a timed action once per fault and connection.
func (t *Tracker) schedule(st *connState, f *Fault, a Action) {
	if st.timed == nil {
		st.timed = make(map[*Fault]bool)
	}
	if st.timed[f] {
		return
	}
	st.timed[f] = true
	t.actions = append(t.actions, a)
}

// Next is when the earliest action is due; zero if none.
func (t *Tracker) Next() time.Time {
	var next time.Time
	for _, a := range t.actions {
		if next.IsZero() || a.At.Before(next) {
			next = a.At
		}
	}
	return next
}

// Due removes and returns the actions due at now.
func (t *Tracker) Due(now time.Time, into []Action) []Action {
	kept := t.actions[:0]
	for _, a := range t.actions {
		if a.At.After(now) {
			kept = append(kept, a)
			continue
		}
		if st := t.conns[a.ID]; st != nil && (a.Kind == ActReset || a.Kind == ActForget) {
			if st.dead {
				continue
			}
			st.dead = true
			if a.Kind == ActReset && st.passed {
				a.Seq, a.HasSeq = st.passedEnd, true
			}
		}
		into = append(into, a)
	}
	clear(t.actions[len(kept):])
	t.actions = kept
	return into
}

// kill queues an action on the connection now.
func (t *Tracker) kill(now time.Time, id tcp.ID, kind ActionKind, f *Fault) {
	t.actions = append(t.actions, Action{At: now, ID: id, Kind: kind, Reason: f.Reason()})
}

// maxTracked bounds the connections the tracker keeps. The stack tells
// it of every connection that ends; what it was never told of (a SYN an
// application dropped, held segments of a connection gone) is forgotten
// once it is old and the table is full.
const maxTracked = 1 << 16

func (t *Tracker) prune(now time.Time) {
	if len(t.conns) < maxTracked {
		return
	}
	for id, st := range t.conns {
		if now.Sub(st.opened) > 10*time.Minute {
			delete(t.conns, id)
		}
	}
}

// pruneSYNDrops forgets attempts whose last SYN is long gone.
func (t *Tracker) pruneSYNDrops(now time.Time) {
	if len(t.synDrops) < 1024 {
		return
	}
	for k, a := range t.synDrops {
		if now.Sub(a.last) > 3*time.Minute {
			delete(t.synDrops, k)
		}
	}
}
