package main

// The control protocol between a running daemon (`tunstack up`) and the
// commands that talk to it (`tunstack dial`, and later `ss` and `trace`).
//
// The daemon listens on a unix stream socket, by default
// /run/tunstack/DEV.sock, or /run/tunstack/NETNS-DEV.sock when the device
// lives in a namespace. The socket exists only while the stack is running:
// it is created after the stack starts and removed after the device is
// gone, so its presence means "ready".
//
// One connection carries one request. The client writes one JSON object on
// one line; the daemon answers with one JSON object on one line:
//
//	{"op":"dial","addr":"10.77.0.1:9000","timeout":"10s"}
//	{"ok":true,"local":"10.77.0.2:49152","remote":"10.77.0.1:9000"}
//
// or, when the request fails,
//
//	{"error":"connection refused"}
//
// after which the daemon closes the connection.
//
// Operations:
//
//   - dial: an active open from the stack to addr (an IP literal and a
//     port), giving up after timeout (a Go duration, default 10s). After a
//     successful reply the unix connection carries the TCP byte stream both
//     ways. A client's shutdown(SHUT_WR) becomes the stack connection's
//     CloseWrite, which sends FIN; the peer's FIN (EOF on the stack
//     connection) becomes shutdown(SHUT_WR) on the daemon's side of the
//     unix connection. When both directions are done the daemon closes both
//     ends. A reset closes the unix connection at once.
//   - status: one reply with the stack's counters and its connections:
//     {"ok":true,"counters":{...},"connections":[{"local":...,"remote":...,
//     "state":"ESTABLISHED","states":["LISTEN",...],...}]}. Listeners are
//     listed too, in LISTEN with remote "*".
//   - events: a reply {"ok":true}, then one JSON event per line (see
//     wireEvent) until the client closes the connection. Events the client
//     is too slow to take are lost, not queued without bound.
//
// Errors are short lower-case phrases meant to follow "dial ADDR: "; for a
// dial they are those of connect(2): "connection refused",
// "connection timed out", "network is unreachable".

import (
	"net/netip"
	"strings"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// Control operations.
const (
	opDial   = "dial"
	opStatus = "status"
	opEvents = "events"
)

// defaultDialTimeout is the connect time-out when a dial request has none.
const defaultDialTimeout = 10 * time.Second

// controlRequest is the one line a client sends.
type controlRequest struct {
	Op      string `json:"op"`
	Addr    string `json:"addr,omitempty"`
	Timeout string `json:"timeout,omitempty"`
}

// controlReply is the one line the daemon answers.
type controlReply struct {
	OK    bool   `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
	// dial
	Local  string `json:"local,omitempty"`
	Remote string `json:"remote,omitempty"`
	// status
	Counters    *counterStatus `json:"counters,omitempty"`
	Connections []connStatus   `json:"connections,omitempty"`
}

// counterStatus is stack.Counters in a status reply.
type counterStatus struct {
	PacketsIn   uint64            `json:"packets_in"`
	PacketsOut  uint64            `json:"packets_out"`
	SegmentsIn  uint64            `json:"segments_in"`
	SegmentsOut uint64            `json:"segments_out"`
	RSTsSent    uint64            `json:"rsts_sent"`
	EchoReplies uint64            `json:"echo_replies"`
	EventsLost  uint64            `json:"events_lost"`
	Drops       map[string]uint64 `json:"drops,omitempty"`
}

func newCounterStatus(c stack.Counters) *counterStatus {
	return &counterStatus{
		PacketsIn:   c.PacketsIn,
		PacketsOut:  c.PacketsOut,
		SegmentsIn:  c.SegmentsIn,
		SegmentsOut: c.SegmentsOut,
		RSTsSent:    c.RSTsSent,
		EchoReplies: c.EchoReplies,
		EventsLost:  c.EventsLost,
		Drops:       c.Drops,
	}
}

// connStatus is one connection in a status reply: tcp.Status in names a
// reader of `ss` expects.
type connStatus struct {
	Local       string   `json:"local"`
	Remote      string   `json:"remote"`
	State       string   `json:"state"`
	States      []string `json:"states"`
	SndUna      uint32   `json:"snd_una"`
	SndNxt      uint32   `json:"snd_nxt"`
	SndWnd      uint32   `json:"snd_wnd"`
	RcvNxt      uint32   `json:"rcv_nxt"`
	RcvWnd      uint32   `json:"rcv_wnd"`
	SendQueue   int      `json:"send_queue"`
	RecvQueue   int      `json:"recv_queue"`
	MSS         uint16   `json:"mss"`
	SRTT        string   `json:"srtt"`
	RTO         string   `json:"rto"`
	Retransmits int      `json:"retransmits"`
	SegsIn      int      `json:"segs_in"`
	SegsOut     int      `json:"segs_out"`
}

func newConnStatus(info stack.ConnInfo) connStatus {
	s := info.Status
	states := make([]string, len(info.States))
	for i, st := range info.States {
		states[i] = st.String()
	}
	return connStatus{
		Local:       endpoint(s.ID.Local),
		Remote:      endpoint(s.ID.Remote),
		State:       s.State.String(),
		States:      states,
		SndUna:      uint32(s.SndUna),
		SndNxt:      uint32(s.SndNxt),
		SndWnd:      s.SndWnd,
		RcvNxt:      uint32(s.RcvNxt),
		RcvWnd:      s.RcvWnd,
		SendQueue:   s.SendQueue,
		RecvQueue:   s.RecvQueue,
		MSS:         s.MSS,
		SRTT:        s.SRTT.String(),
		RTO:         s.RTO.String(),
		Retransmits: s.Retransmits,
		SegsIn:      s.SegsIn,
		SegsOut:     s.SegsOut,
	}
}

// endpoint writes an address and port, or "*" for a listener's missing peer.
func endpoint(a netip.AddrPort) string {
	if !a.IsValid() {
		return "*"
	}
	return a.String()
}

// Event kinds on the wire.
const (
	wireSegmentIn  = "segment-in"  // a segment arrived from the peer
	wireSegmentOut = "segment-out" // the stack sent a segment
	wireState      = "state"       // a connection changed state
	wireDrop       = "drop"        // a segment or packet was dropped
)

var wireKinds = map[stack.EventKind]string{
	stack.EventSegmentIn:   wireSegmentIn,
	stack.EventSegmentOut:  wireSegmentOut,
	stack.EventStateChange: wireState,
	stack.EventDrop:        wireDrop,
}

// wireEvent is one stack.Event as the events operation sends it. Local is
// the stack's end of the connection, Remote the peer's.
type wireEvent struct {
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Local  string    `json:"local,omitempty"`
	Remote string    `json:"remote,omitempty"`
	// Seg is the segment of segment-in, segment-out, and drops of a segment.
	Seg *wireSegment `json:"seg,omitempty"`
	// State changes.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Why: the reason code, the RFC rule and a line for people.
	Reason string `json:"reason,omitempty"`
	Rule   string `json:"rule,omitempty"`
	Why    string `json:"why,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func newWireEvent(e stack.Event) wireEvent {
	w := wireEvent{Time: e.Time, Kind: wireKinds[e.Kind], Detail: e.Detail}
	if w.Kind == "" {
		w.Kind = "unknown"
	}
	if e.Conn != (tcp.ID{}) {
		w.Local, w.Remote = e.Conn.Local.String(), e.Conn.Remote.String()
	}
	switch e.Kind {
	case stack.EventStateChange:
		w.From, w.To = e.From.String(), e.To.String()
	case stack.EventSegmentIn, stack.EventSegmentOut, stack.EventDrop:
		if e.Seg != (stack.SegmentSummary{}) {
			w.Seg = &wireSegment{
				Flags:  wireFlags(e.Seg.Flags),
				Seq:    uint32(e.Seg.Seq),
				Ack:    uint32(e.Seg.Ack),
				Window: e.Seg.Window,
				Len:    e.Seg.Len,
			}
		}
	}
	if e.Reason != tcp.ReasonNone {
		w.Reason, w.Rule, w.Why = e.Reason.Code(), e.Reason.Rule(), e.Reason.Text()
	}
	return w
}

// wireSegment is a segment's header without its payload.
type wireSegment struct {
	Flags  wireFlags `json:"flags"`
	Seq    uint32    `json:"seq"`
	Ack    uint32    `json:"ack"`
	Window uint16    `json:"win"`
	Len    int       `json:"len"` // payload bytes
}

// wireFlags are TCP flags written as "SYN|ACK".
type wireFlags tcp.Flags

func (f wireFlags) MarshalText() ([]byte, error) {
	return []byte(tcp.Flags(f).String()), nil
}

func (f *wireFlags) UnmarshalText(text []byte) error {
	*f = 0
	for _, name := range strings.Split(string(text), "|") {
		for bit := range 8 {
			if tcp.Flags(1<<bit).String() == name {
				*f |= wireFlags(1 << bit)
			}
		}
	}
	return nil
}

// has reports whether every bit of m is set.
func (f wireFlags) has(m tcp.Flags) bool { return tcp.Flags(f).Has(m) }
