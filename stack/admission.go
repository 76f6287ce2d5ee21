package stack

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// A listener made with an Admit hook (ListenOptions) decides each new
// connection before its SYN is answered: the SYN is held, the hook is
// told, and nothing goes back to the peer until the application says
// Accept (the SYN-ACK leaves, as for any listener), Refuse (a RST, so the
// peer's connect is refused), Unreachable (an ICMP destination
// unreachable, as from a router: the peer's connect fails with "no route")
// or Drop (no answer: the peer's connect times out, or succeeds with a
// later SYN retransmission if the application then takes it). A relay uses it to answer a SYN only once its own connect to
// the real server succeeded, so that a client sees a refused or a silent
// server as what it is, not as an accepted connection that then closes.
//
// A held SYN takes a slot of the listener's half-open queue until it is
// decided: a flood of SYNs makes at most SynBacklog decisions wait at a
// time, and never a SYN cookie (a cookie is a SYN-ACK, sent before anyone
// decided). The peer's retransmissions of a held SYN are dropped
// ("syn-held").

// ListenOptions are a listener's own options (Stack.ListenWith).
type ListenOptions struct {
	// Admit, if set, is told of every SYN that would make a new
	// connection and must decide it, at once or later from any goroutine,
	// with the request's Accept, Refuse, Unreachable or Drop. It runs on
	// the event loop: it must not block, nor wait for the decision.
	Admit func(*SYNRequest)
	// Abandoned, if set, is told of each of the listener's connections
	// (with Admit, those it accepted) that ended before its handshake
	// did: the peer reset it, or never answered the SYN-ACK and its
	// retransmissions. A relay lets go at
	// once of what it holds for it (its connection to the server). It
	// runs on the event loop: it must not block.
	Abandoned func(tcp.ID)
}

// SYNRequest is a SYN held for an Admit hook to decide.
type SYNRequest struct {
	s       *Stack
	ln      *Listener
	id      tcp.ID
	syn     tcp.Segment // the SYN, without its payload
	decided atomic.Bool
	verdict admission
	reason  string
	why     wire.Unreachability // of admitUnreachable
}

type admission uint8

const (
	admitAccept admission = iota + 1
	admitRefuse
	admitDrop
	admitUnreachable
)

// Drop reasons of admission.
const (
	dropSYNHeld = "syn-held" // a retransmitted SYN while its first waits for a decision
	// DropAdmissionStale: the listener closed before the decision came.
	dropAdmissionStale = "admission-stale"
)

// ID is the connection the SYN asks for, from the stack's side.
func (r *SYNRequest) ID() tcp.ID { return r.id }

// Accept answers the SYN with a SYN-ACK; the connection reaches the
// listener's Accept once the peer's ACK comes.
func (r *SYNRequest) Accept() { r.decide(admitAccept, "") }

// Refuse answers the SYN with a RST, as a closed port does (RFC 9293
// §3.10.7.1): the peer's connect fails with "connection refused". reason
// says why, in the counters, the trace and the capture ("forward:refused").
func (r *SYNRequest) Refuse(reason string) { r.decide(admitRefuse, reason) }

// Drop forgets the SYN and sends nothing: the peer retransmits it, and the
// Admit hook is asked again for the retransmission. reason is counted as
// a drop.
func (r *SYNRequest) Drop(reason string) { r.decide(admitDrop, reason) }

// Unreachable answers the SYN as a router that cannot reach its
// destination does (RFC 1812 §5.2.7.1): an ICMP destination unreachable
// from the stack's address, quoting the SYN, within the stack's ICMP rate
// limit. err is why: ENETUNREACH makes it "net unreachable" (no route),
// anything else "host unreachable", and the peer's connect fails with that
// errno at once. A gateway uses it when its own connect to the destination
// failed so. reason is counted as a drop.
func (r *SYNRequest) Unreachable(reason string, err error) {
	if r.decided.Load() {
		return
	}
	r.why = wire.HostUnreachable
	if errors.Is(err, syscall.ENETUNREACH) {
		r.why = wire.NetUnreachable
	}
	r.decide(admitUnreachable, reason)
}

// decide hands the first decision to the loop; later ones are ignored.
func (r *SYNRequest) decide(v admission, reason string) {
	if !r.decided.CompareAndSwap(false, true) {
		return
	}
	r.verdict, r.reason = v, reason
	r.s.admissions.post(r)
	r.s.nudge()
}

// admissions carries decisions from applications to the loop.
type admissions struct {
	mu      sync.Mutex
	decided []*SYNRequest
	// held is loop-owned: the SYNs waiting for a decision.
	held map[tcp.ID]*SYNRequest
}

func (a *admissions) post(r *SYNRequest) {
	a.mu.Lock()
	a.decided = append(a.decided, r)
	a.mu.Unlock()
}

func (a *admissions) take() []*SYNRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	d := a.decided
	a.decided = nil
	return d
}

// isBareSYN reports whether seg is a SYN that opens a connection: SYN
// without ACK or RST.
func isBareSYN(seg *tcp.Segment) bool {
	return seg.Flags&(tcp.FlagSYN|tcp.FlagACK|tcp.FlagRST) == tcp.FlagSYN
}

// holdSYN holds a SYN for ln's Admit hook, within the listener's queue
// bounds.
func (s *Stack) holdSYN(ln *Listener, id tcp.ID, seg *tcp.Segment) {
	a := &s.admissions
	if _, ok := a.held[id]; ok {
		s.dropSegment(id, seg, dropSYNHeld)
		return
	}
	if ln.acceptQueueFull() {
		s.counters.acceptQueueOverflows.Add(1)
		s.dropSegment(id, seg, dropAcceptQueueFull)
		return
	}
	if ln.halfOpen >= ln.synBacklog {
		s.counters.synQueueOverflows.Add(1)
		s.dropSegment(id, seg, dropSynQueueFull)
		return
	}
	if !s.admit(id, seg) { // connection limits: connlimits.go
		return
	}
	r := &SYNRequest{s: s, ln: ln, id: id, syn: *seg}
	r.syn.Payload = nil
	if a.held == nil {
		a.held = make(map[tcp.ID]*SYNRequest)
	}
	a.held[id] = r
	ln.halfOpen++
	ln.admit(r)
}

// applyAdmissions carries out the decisions made since the last turn.
func (s *Stack) applyAdmissions() {
	for _, r := range s.admissions.take() {
		if s.admissions.held[r.id] != r {
			continue
		}
		delete(s.admissions.held, r.id)
		r.ln.halfOpen--
		switch {
		case r.ln.isClosed() || s.shuttingDown:
			s.dropSegment(r.id, &r.syn, dropAdmissionStale)
		case r.verdict == admitAccept:
			s.openPassive(r.ln, r.id, &r.syn)
		case r.verdict == admitRefuse:
			s.dropSegment(r.id, &r.syn, r.reason)
			s.sendResetWhy(r.id, &r.syn, r.reason)
		case r.verdict == admitUnreachable:
			s.dropSegment(r.id, &r.syn, r.reason)
			s.sendUnreachable(r.id, &r.syn, r.why)
		default:
			s.dropSegment(r.id, &r.syn, r.reason)
		}
	}
}
