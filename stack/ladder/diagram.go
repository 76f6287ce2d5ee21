package ladder

import (
	"errors"
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// Errors of New.
var (
	ErrNoEvents         = errors.New("ladder: no events of a connection")
	ErrMixedConnections = errors.New("ladder: events of more than one connection")
)

// Connection is what was recorded of one connection: its events in the
// order the stack published them, from the stack's point of view.
type Connection struct {
	Events []stack.Event
	// Omitted counts ordinary segments (no SYN, FIN or RST) a Collector
	// left out once it held its limit of events for the connection.
	Omitted int
	// Peer, if not nil, is what the peer reported of its own states; the
	// diagram then shows them instead of inferring them.
	Peer *PeerReport
	// Link is what happened to segments the stack sent after they left
	// it: lost or held back on purpose, by a test or the demo.
	Link []LinkEvent
}

// LinkEvent is something that happened to a segment the stack sent, on
// the way to the peer.
type LinkEvent struct {
	// Seg is the segment, matched to the stack's first segment-out event
	// not yet matched with the same flags, sequence and acknowledgment
	// numbers and length.
	Seg SegmentKey
	// Lost: it never reached the peer; the arrow ends in a cross.
	Lost bool
	// Note says what happened to it, under its arrow.
	Note string
}

// SegmentKey is what tells one segment of a connection from another in a
// LinkEvent.
type SegmentKey struct {
	Flags    tcp.Flags
	Seq, Ack tcp.Seq
	Len      int
}

// Options change what a diagram shows.
type Options struct {
	// Collapse sums up every run of three or more ordinary segments (no
	// SYN, FIN or RST, no state change, no drop, nothing notable) in one
	// row: the handshake and the teardown stay in full, the data
	// transfer in between takes a line.
	Collapse bool
}

// Diagram is one connection laid out as rows, ready to render.
type Diagram struct {
	ID             tcp.ID // from the stack's side
	Client, Server Side
	Start          time.Time // time of the first event; rows count from it
	Rows           []Row
	Omitted        int // see Connection.Omitted
}

// Side is one end of the connection.
type Side struct {
	Role  string // "client" (sent the first SYN) or "server"
	Addr  netip.AddrPort
	Stack bool // this end recorded the events; the other's states are inferred
	// Report is what this side said of its own states, if it said
	// anything (Connection.Peer): then they are not inferred.
	Report *PeerReport
	// ISN is the side's initial sequence number, if known; ISNName is
	// what labels call it: "x" for the client, "y" for the server.
	ISN      tcp.Seq
	ISNKnown bool
	ISNName  string
	Initial  SideState // before the first row
}

// SideState is a side's state beside a row.
type SideState struct {
	State    tcp.State
	Known    bool // false: nothing said yet what the peer is doing
	Inferred bool // the peer's, inferred from segments
}

// String is the state's RFC name, "~" after an inferred one, "?" when
// unknown.
func (s SideState) String() string {
	switch {
	case !s.Known:
		return "?"
	case s.Inferred:
		return s.State.String() + "~"
	}
	return s.State.String()
}

// RowKind says what a row shows.
type RowKind uint8

// Row kinds.
const (
	RowSegment RowKind = iota + 1 // a segment crossed: an arrow
	RowState                      // the stack changed state on a user call or a timer
	RowSummary                    // ordinary segments summed up (Options.Collapse)
	RowPeer                       // the peer changed state where no segment row explains it (Connection.Peer)
)

// Row is one step of the diagram.
type Row struct {
	Kind RowKind
	At   time.Duration // since Diagram.Start
	// RowSegment: the arrow's direction, its label ("SYN-ACK seq=y
	// ack=x+1 win=65535 <mss 1460>"), and whether it was dropped: by the
	// stack, or on the link (LinkEvent.Lost).
	FromClient bool
	Label      string
	Dropped    bool
	// Client and Server are each side's state after the row.
	Client, Server SideState
	// Notes say why: the reasons of the stack's state changes, drops and
	// notable segments (retransmissions, challenge ACKs, resets).
	Notes []string
	// RowSummary: how many segments, and the payload bytes each way.
	Segments                         int
	BytesFromClient, BytesFromServer int

	seg     stack.SegmentSummary
	inbound bool
	plain   bool // an ordinary segment: may be summed up
}

// New lays out a connection. Events without a connection (drops before
// demultiplexing) are skipped.
func New(conn Connection, opts Options) (*Diagram, error) {
	events := make([]stack.Event, 0, len(conn.Events))
	for _, ev := range conn.Events {
		if ev.Conn != (tcp.ID{}) {
			events = append(events, ev)
		}
	}
	if len(events) == 0 {
		return nil, ErrNoEvents
	}
	id := events[0].Conn
	for _, ev := range events {
		if ev.Conn != id {
			return nil, ErrMixedConnections
		}
	}
	d := &Diagram{ID: id, Start: events[0].Time, Omitted: conn.Omitted}
	stackIsClient := stackInitiated(events)
	local := Side{Addr: id.Local, Stack: true}
	remote := Side{Addr: id.Remote}
	for _, ev := range events {
		if !local.ISNKnown && ev.ISN.LocalKnown {
			local.ISN, local.ISNKnown = ev.ISN.Local, true
		}
		if !remote.ISNKnown && ev.ISN.RemoteKnown {
			remote.ISN, remote.ISNKnown = ev.ISN.Remote, true
		}
	}
	if stackIsClient {
		d.Client, d.Server = local, remote
	} else {
		d.Client, d.Server = remote, local
	}
	d.Client.Role, d.Client.ISNName = "client", "x"
	d.Server.Role, d.Server.ISNName = "server", "y"

	b := &builder{d: d, stackIsClient: stackIsClient, lastIn: -1, pendingState: -1, clientShift: -1, serverShift: -1}
	b.start(events[0])
	for _, ev := range events {
		b.add(ev)
	}
	b.applyLink(conn.Link)
	if conn.Peer != nil {
		b.mergePeer(conn.Peer)
	}
	if opts.Collapse {
		d.Rows = collapse(d.Rows)
	}
	return d, nil
}

// stackInitiated reports whether the stack sent the connection's first
// SYN. Without a SYN in sight (the events start in the middle), the side
// on the lower port is taken for the server, as well-known ports are.
func stackInitiated(events []stack.Event) bool {
	for _, ev := range events {
		f := ev.Seg.Flags
		if ev.Kind == stack.EventStateChange || !f.Has(tcp.FlagSYN) {
			continue
		}
		if f.Has(tcp.FlagACK) {
			return ev.Inbound() // a SYN-ACK comes from the server
		}
		return !ev.Inbound()
	}
	for _, ev := range events {
		if ev.Kind == stack.EventStateChange && ev.From == tcp.SynSent || ev.State == tcp.SynSent {
			return true
		}
	}
	return events[0].Conn.Local.Port() > events[0].Conn.Remote.Port()
}

// builder turns events into rows.
type builder struct {
	d             *Diagram
	stackIsClient bool
	stackState    SideState
	stackInitial  SideState
	peer          peerModel
	// lastIn is the row of the last segment in, which the state changes
	// and the drop it causes join; -1 if none. The engine handles one
	// segment at a time, so whatever names a cause is about that one.
	lastIn int
	// pendingState is a RowState row that the next segment out joins
	// (a CLOSE and the FIN it sends); -1 if none.
	pendingState int
	lastNote     tcp.Reason
	// Window scale shifts from each side's SYN (RFC 7323 §2.2), -1 until
	// seen, -2 for a SYN without the option: scaling is on only if both
	// SYNs carry it.
	clientShift, serverShift int
}

// start sets both sides' states before the first row.
func (b *builder) start(first stack.Event) {
	st := first.State
	if first.Kind == stack.EventStateChange {
		st = first.From
	}
	b.stackState = SideState{State: st, Known: true}
	if first.Kind == stack.EventStateChange && first.From == tcp.Closed && first.To == tcp.Listen {
		b.stackState.State = tcp.Listen // a passive open's TCB: the listener was there before
	}
	if startsAtOpen(first) {
		if b.stackIsClient {
			b.peer.set(tcp.Listen) // assumed: a server listens before it is sent a SYN
		} else {
			b.peer.set(tcp.Closed)
		}
	}
	b.stackInitial = b.stackState
	stack, peer := b.states()
	b.d.Client.Initial, b.d.Server.Initial = b.columns(stack, peer)
}

// startsAtOpen tells whether the connection's events start at its
// beginning: with the client's SYN or the state change that sends it.
func startsAtOpen(first stack.Event) bool {
	if first.Kind == stack.EventStateChange {
		return first.From == tcp.Closed
	}
	return first.Seg.Flags.Has(tcp.FlagSYN) && !first.Seg.Flags.Has(tcp.FlagACK)
}

func (b *builder) states() (stack, peer SideState) {
	return b.stackState, SideState{State: b.peer.state, Known: b.peer.known, Inferred: true}
}

// columns orders the stack's and the peer's states as client, server.
func (b *builder) columns(stack, peer SideState) (client, server SideState) {
	if b.stackIsClient {
		return stack, peer
	}
	return peer, stack
}

func (b *builder) add(ev stack.Event) {
	pending := b.pendingState
	b.pendingState = -1
	switch ev.Kind {
	case stack.EventSegmentIn, stack.EventSegmentOut:
		b.segment(ev, pending)
	case stack.EventStateChange:
		b.stateChange(ev)
	case stack.EventDrop:
		b.drop(ev)
	}
}

func (b *builder) segment(ev stack.Event, pending int) {
	inbound := ev.Inbound()
	if inbound {
		b.peer.sent(ev.Seg)
	} else {
		b.peer.received(ev.Seg)
	}
	b.stackState = SideState{State: ev.State, Known: true}
	i := pending // the segment the user call or timer sent
	if pending < 0 || inbound {
		b.d.Rows = append(b.d.Rows, Row{At: ev.Time.Sub(b.d.Start)})
		i = len(b.d.Rows) - 1
	}
	if inbound {
		b.lastIn = i
	}
	r := &b.d.Rows[i]
	r.Kind = RowSegment
	r.FromClient = inbound != b.stackIsClient
	r.Label = b.label(ev)
	r.seg, r.inbound = ev.Seg, inbound
	r.plain = pending < 0 && ev.Seg.Flags&(tcp.FlagSYN|tcp.FlagFIN|tcp.FlagRST) == 0
	if !inbound && notable(ev.Reason) && ev.Reason != b.lastNote {
		b.note(r, ev.Reason, Cite(ev.Reason))
	}
	if !inbound && ev.Detail != "" {
		// The stack made, changed or held it for a fault or an
		// application: "fault:latency (held 200ms)".
		b.note(r, tcp.ReasonNone, ev.Detail)
	}
	b.setColumns(r)
}

func (b *builder) stateChange(ev stack.Event) {
	if ev.From == tcp.Closed && ev.To == tcp.Listen {
		return // a passive open's TCB: the listener was there before
	}
	b.stackState = SideState{State: ev.To, Known: true}
	if b.lastIn >= 0 && hasCause(ev) {
		r := &b.d.Rows[b.lastIn]
		if ev.Seg.Flags.Has(tcp.FlagRST) {
			b.peer.resetBy()
		}
		b.note(r, ev.Reason, Cite(ev.Reason))
		b.setColumns(r)
		return
	}
	b.d.Rows = append(b.d.Rows, Row{Kind: RowState, At: ev.Time.Sub(b.d.Start)})
	r := &b.d.Rows[len(b.d.Rows)-1]
	b.note(r, ev.Reason, Cite(ev.Reason))
	if ev.Detail != "" {
		b.note(r, tcp.ReasonNone, ev.Detail) // a fault ended the connection
	}
	b.setColumns(r)
	b.pendingState = len(b.d.Rows) - 1
}

func (b *builder) drop(ev stack.Event) {
	why := Cite(ev.Reason)
	if why == "" {
		why = ev.Detail
	}
	if b.lastIn < 0 {
		b.segment(ev, -1) // its segment-in event was lost
	}
	r := &b.d.Rows[b.lastIn]
	r.Dropped = true
	r.plain = false
	b.note(r, ev.Reason, "dropped: "+why)
}

// applyLink marks the segments that the link lost or held.
func (b *builder) applyLink(events []LinkEvent) {
	matched := make([]bool, len(b.d.Rows))
	for _, e := range events {
		for i := range b.d.Rows {
			r := &b.d.Rows[i]
			if matched[i] || r.Kind != RowSegment || r.inbound || !e.Seg.matches(r.seg) {
				continue
			}
			matched[i] = true
			r.Dropped = r.Dropped || e.Lost
			r.plain = false
			if e.Note != "" {
				r.Notes = append(r.Notes, e.Note)
			}
			break
		}
	}
}

func (k SegmentKey) matches(s stack.SegmentSummary) bool {
	return k.Flags == s.Flags && k.Seq == s.Seq && k.Ack == s.Ack && k.Len == s.Len
}

// hasCause reports whether a state change was caused by a segment, not a
// user call or a timer.
func hasCause(ev stack.Event) bool { return ev.Seg != (stack.SegmentSummary{}) }

func (b *builder) note(r *Row, why tcp.Reason, text string) {
	if text == "" {
		return
	}
	r.Notes = append(r.Notes, text)
	r.plain = false
	if why != tcp.ReasonNone {
		b.lastNote = why
	}
}

func (b *builder) setColumns(r *Row) {
	stack, peer := b.states()
	r.Client, r.Server = b.columns(stack, peer)
}

// notable reports whether the reason a segment was sent is worth a note:
// not for the ACKs and data of an ordinary transfer, nor for the ACK of a
// FIN, whose row already says what the FIN did.
func notable(r tcp.Reason) bool {
	switch r {
	case tcp.ReasonNone, tcp.ReasonData, tcp.ReasonUserSend,
		tcp.ReasonDelayedACK, tcp.ReasonWindowUpdate, tcp.ReasonOutOfOrder,
		tcp.ReasonFinReceived, tcp.ReasonFinInFinWait1, tcp.ReasonFinInFinWait2:
		return false
	}
	return true
}

// collapse sums up runs of three or more plain rows in which neither
// side's state changes.
func collapse(rows []Row) []Row {
	out := rows[:0:0]
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].plain && rows[j].Client == rows[i].Client && rows[j].Server == rows[i].Server {
			j++
		}
		if j-i < 3 {
			if j == i {
				j++
			}
			out = append(out, rows[i:j]...)
			i = j
			continue
		}
		sum := Row{Kind: RowSummary, At: rows[i].At, Client: rows[j-1].Client, Server: rows[j-1].Server, Segments: j - i}
		for _, r := range rows[i:j] {
			if r.FromClient {
				sum.BytesFromClient += r.seg.Len
			} else {
				sum.BytesFromServer += r.seg.Len
			}
		}
		out = append(out, sum)
		i = j
	}
	return out
}
