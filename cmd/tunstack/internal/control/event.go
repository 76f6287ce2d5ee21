package control

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/ladder"
	"github.com/tunstack/tunstack/stack/tcp"
)

// Event kinds.
const (
	KindSegmentIn  = "segment-in"  // a segment arrived from the peer
	KindSegmentOut = "segment-out" // the stack sent a segment
	KindState      = "state"       // a connection changed state
	KindDrop       = "drop"        // a segment or packet was dropped
)

var kindNames = map[stack.EventKind]string{
	stack.EventSegmentIn:   KindSegmentIn,
	stack.EventSegmentOut:  KindSegmentOut,
	stack.EventStateChange: KindState,
	stack.EventDrop:        KindDrop,
}

// Event is one stack.Event as the events operation sends it and
// `tunstack trace --json` prints it, one object per line. The field names
// are stable. Local is the stack's end of the connection, Remote the
// peer's.
type Event struct {
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Local  string    `json:"local,omitempty"`
	Remote string    `json:"remote,omitempty"`
	// State is the connection's state when it happened: before the
	// engine took a segment in, the new state of a state change.
	State string `json:"state,omitempty"`
	// Seg is the segment of segment-in, segment-out and drops of a
	// segment, and the segment that caused a state change.
	Seg *Segment `json:"seg,omitempty"`
	// State changes.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Why: the reason code, the RFC rule as the engine records it and as
	// people cite it, and a line for people.
	Reason string `json:"reason,omitempty"`
	Rule   string `json:"rule,omitempty"`
	RFC    string `json:"rfc,omitempty"`
	Why    string `json:"why,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Src and Dst are the addresses of a packet dropped before
	// demultiplexing, when it had some.
	Src string `json:"src,omitempty"`
	Dst string `json:"dst,omitempty"`
	// ISS and IRS are the connection's initial sequence numbers, when
	// known: the stack's and the peer's.
	ISS *uint32 `json:"iss,omitempty"`
	IRS *uint32 `json:"irs,omitempty"`
}

// Segment is a segment's header without its payload. RelSeq and
// RelAck count from the ISN of the side that the number belongs to and
// are absent while that ISN is unknown.
type Segment struct {
	Flags   Flags           `json:"flags"`
	Seq     uint32          `json:"seq"`
	Ack     uint32          `json:"ack"`
	RelSeq  *uint32         `json:"rel_seq,omitempty"`
	RelAck  *uint32         `json:"rel_ack,omitempty"`
	Window  uint16          `json:"win"` // as in the header, before scaling
	Len     int             `json:"len"` // payload bytes
	Options *SegmentOptions `json:"options,omitempty"`
}

// SegmentOptions are the TCP options of a segment.
type SegmentOptions struct {
	MSS           uint16      `json:"mss,omitempty"`
	WindowScale   *uint8      `json:"wscale,omitempty"`
	SACKPermitted bool        `json:"sack_permitted,omitempty"`
	Timestamps    *Timestamps `json:"ts,omitempty"`
	SACK          [][2]uint32 `json:"sack,omitempty"` // blocks: left, right
}

// Timestamps are the timestamps option (RFC 7323).
type Timestamps struct {
	Val uint32 `json:"val"`
	Ecr uint32 `json:"ecr"`
}

// NewEvent is e as the events operation sends it.
func NewEvent(e stack.Event) Event {
	w := Event{Time: e.Time, Kind: kindNames[e.Kind], Detail: e.Detail}
	if w.Kind == "" {
		w.Kind = "unknown"
	}
	if e.Conn != (tcp.ID{}) {
		w.Local, w.Remote = e.Conn.Local.String(), e.Conn.Remote.String()
		w.State = e.State.String()
	}
	if e.Kind == stack.EventStateChange {
		w.From, w.To = e.From.String(), e.To.String()
	}
	if e.Seg != (stack.SegmentSummary{}) {
		w.Seg = newSegment(&e)
	}
	if e.Reason != tcp.ReasonNone {
		w.Reason, w.Rule, w.Why = e.Reason.Code(), e.Reason.Rule(), e.Reason.Text()
		w.RFC = ladder.RuleName(w.Rule)
	} else if e.Kind == stack.EventDrop {
		// A packet dropped before demultiplexing has no tcp.Reason:
		// the stack's code ("not-our-address") is its reason.
		w.Reason, w.Why = e.Detail, stack.DropText(e.Detail)
	}
	if e.Src.IsValid() {
		w.Src, w.Dst = e.Src.String(), e.Dst.String()
	}
	if e.ISN.LocalKnown {
		w.ISS = ptr(uint32(e.ISN.Local))
	}
	if e.ISN.RemoteKnown {
		w.IRS = ptr(uint32(e.ISN.Remote))
	}
	return w
}

func newSegment(e *stack.Event) *Segment {
	s := &Segment{
		Flags:  Flags(e.Seg.Flags),
		Seq:    uint32(e.Seg.Seq),
		Ack:    uint32(e.Seg.Ack),
		Window: e.Seg.Window,
		Len:    e.Seg.Len,
	}
	if rel, ok := e.RelSeq(); ok {
		s.RelSeq = ptr(rel)
	}
	if rel, ok := e.RelAck(); ok && e.Seg.Flags.Has(tcp.FlagACK) {
		s.RelAck = ptr(rel)
	}
	if o := e.Seg.Options; o != (tcp.Options{}) {
		w := &SegmentOptions{MSS: o.MSS, SACKPermitted: o.SACKPermitted}
		if o.HasWindowScale {
			w.WindowScale = ptr(o.WindowScale)
		}
		if o.HasTimestamps {
			w.Timestamps = &Timestamps{Val: o.TSVal, Ecr: o.TSEcr}
		}
		for _, b := range o.SACK[:min(int(o.NumSACK), len(o.SACK))] {
			w.SACK = append(w.SACK, [2]uint32{uint32(b.Left), uint32(b.Right)})
		}
		s.Options = w
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// StackEvent turns an event back into the stack.Event it was made from,
// for the ladder diagrams of `tunstack trace --ladder`.
func (w *Event) StackEvent() (stack.Event, error) {
	e := stack.Event{Time: w.Time, Detail: w.Detail}
	for kind, name := range kindNames {
		if name == w.Kind {
			e.Kind = kind
		}
	}
	if e.Kind == 0 {
		return e, fmt.Errorf("event kind %q: %w", w.Kind, ErrProtocol)
	}
	if w.Local != "" || w.Remote != "" {
		local, err1 := netip.ParseAddrPort(w.Local)
		remote, err2 := netip.ParseAddrPort(w.Remote)
		if err1 != nil || err2 != nil {
			return e, fmt.Errorf("event addresses %q %q: %w", w.Local, w.Remote, ErrProtocol)
		}
		e.Conn = tcp.ID{Local: local, Remote: remote}
	}
	var ok [3]bool
	e.State, ok[0] = ParseState(w.State)
	e.From, ok[1] = ParseState(w.From)
	e.To, ok[2] = ParseState(w.To)
	for i, name := range []string{w.State, w.From, w.To} {
		if name != "" && !ok[i] {
			return e, fmt.Errorf("event state %q: %w", name, ErrProtocol)
		}
	}
	e.Reason, _ = ParseReason(w.Reason)
	if w.Src != "" || w.Dst != "" {
		src, err1 := netip.ParseAddr(w.Src)
		dst, err2 := netip.ParseAddr(w.Dst)
		if err1 != nil || err2 != nil {
			return e, fmt.Errorf("event packet addresses %q %q: %w", w.Src, w.Dst, ErrProtocol)
		}
		e.Src, e.Dst = src, dst
	}
	if w.Seg != nil {
		e.Seg = stack.SegmentSummary{Flags: tcp.Flags(w.Seg.Flags), Seq: tcp.Seq(w.Seg.Seq), Ack: tcp.Seq(w.Seg.Ack),
			Window: w.Seg.Window, Len: w.Seg.Len}
		if o := w.Seg.Options; o != nil {
			e.Seg.Options = tcp.Options{MSS: o.MSS, SACKPermitted: o.SACKPermitted}
			if o.WindowScale != nil {
				e.Seg.Options.WindowScale, e.Seg.Options.HasWindowScale = *o.WindowScale, true
			}
			if o.Timestamps != nil {
				e.Seg.Options.TSVal, e.Seg.Options.TSEcr, e.Seg.Options.HasTimestamps = o.Timestamps.Val, o.Timestamps.Ecr, true
			}
			for i, b := range o.SACK[:min(len(o.SACK), tcp.MaxSACKBlocks)] {
				e.Seg.Options.SACK[i] = tcp.SACKBlock{Left: tcp.Seq(b[0]), Right: tcp.Seq(b[1])}
				e.Seg.Options.NumSACK++
			}
		}
	}
	if w.ISS != nil {
		e.ISN.Local, e.ISN.LocalKnown = tcp.Seq(*w.ISS), true
	}
	if w.IRS != nil {
		e.ISN.Remote, e.ISN.RemoteKnown = tcp.Seq(*w.IRS), true
	}
	return e, nil
}
