// Package fault is what tunstack does to a port's segments when a test
// asks it to misbehave: refuse or drop SYNs, hold the SYN-ACK or the
// accept, lose, delay, duplicate, reorder, slice or pace segments, close
// the window, never send the FIN, reset or forget a connection, unplug
// the cable. Each fault acts on TCP segments, where only a TCP stack can
// act, not on bytes in a copy loop as an application-level proxy does.
//
// It is sans-IO like the engine: a Set holds the faults that the control
// socket adds, changes and removes while the daemon runs, and a Tracker,
// owned by the stack's loop, looks at each segment of a port that has a
// fault and says what to do with it (a Verdict): the stack carries it
// out. Every segment a fault drops, delays, changes or makes up carries
// the reason "fault:<type>".
//
// A port with no fault costs the stack one atomic load per segment
// (Set.Rules returns nil).
package fault

import (
	"fmt"
	"strings"
	"time"
)

// Type names a kind of fault.
type Type string

// The faults. Those marked (toxiproxy) are Toxiproxy's, done at the TCP
// level; the others no application-level proxy can do.
const (
	Refuse      Type = "refuse"       // answer the SYN with RST: connection refused
	DropSYN     Type = "drop_syn"     // drop the first count SYNs of each connection attempt
	DelaySYNACK Type = "delay_synack" // hold the SYN-ACK for delay
	AcceptHold  Type = "accept_hold"  // complete the handshake, but keep the connection from Accept for delay
	Blackhole   Type = "blackhole"    // from bytes or after on, nothing is sent or acknowledged
	ResetPeer   Type = "reset_peer"   // (toxiproxy) reset the connection at its first data, or timeout after it opened
	RSTAfter    Type = "rst_after"    // reset after bytes in the stream, or after a time
	Loss        Type = "loss"         // drop percent of the segments
	Latency     Type = "latency"      // (toxiproxy) delay every segment by latency ± jitter, in order
	ZeroWindow  Type = "zero_window"  // advertise a zero window once bytes arrived, until removed
	HangClose   Type = "hang_close"   // never send our FIN: the peer stays in FIN-WAIT-2
	Forget      Type = "forget"       // drop the connection silently: the peer's next segment meets a RST
	MSS         Type = "mss"          // clamp the MSS option of the SYNs
	Slicer      Type = "slicer"       // (toxiproxy) cut data segments into small ones, delay between them
	Bandwidth   Type = "bandwidth"    // (toxiproxy) pace segments at rate KB/s
	LimitData   Type = "limit_data"   // (toxiproxy) let bytes through, then reset
	SlowClose   Type = "slow_close"   // (toxiproxy) hold our FIN for delay
	Timeout     Type = "timeout"      // (toxiproxy) stop the stream's data, reset after timeout (0: never)
	SlowRead    Type = "slow_read"    // advertise a window of at most size bytes
	Duplicate   Type = "duplicate"    // send percent of the segments twice
	Reorder     Type = "reorder"      // hold percent of the segments for delay, so later ones overtake them
)

// Stream is the direction of the data a fault acts on, as Toxiproxy names
// it: upstream is from the client to the server (segments the stack
// receives), downstream from the server to the client (segments the
// stack sends).
type Stream uint8

// Streams.
const (
	Downstream Stream = iota // the default, as Toxiproxy's
	Upstream
	BothStreams
)

func (s Stream) String() string {
	switch s {
	case Upstream:
		return "upstream"
	case BothStreams:
		return "both"
	}
	return "downstream"
}

// ParseStream reads "downstream" ("down"), "upstream" ("up") or "both".
func ParseStream(s string) (Stream, error) {
	switch s {
	case "", "downstream", "down":
		return Downstream, nil
	case "upstream", "up":
		return Upstream, nil
	case "both":
		return BothStreams, nil
	}
	return 0, fmt.Errorf("stream %q: want upstream, downstream or both", s)
}

func (s Stream) has(in bool) bool {
	return s == BothStreams || (s == Upstream) == in
}

// Fault is one fault on one port of the stack.
type Fault struct {
	Name     string // unique in a Set; default "<type>_<stream>"
	Type     Type
	Port     uint16
	Stream   Stream
	Toxicity float64 // the share of new connections it applies to, 0 to 1
	Attrs    Attrs
}

// Attrs are a fault's parameters; each type uses some (see Attributes).
type Attrs struct {
	Count   int           // drop_syn: SYNs to drop per attempt
	Delay   time.Duration // delay_synack, accept_hold, slow_close, slicer (between slices), reorder
	Latency time.Duration // latency
	Jitter  time.Duration // latency: ± this, uniformly
	Bytes   int64         // blackhole, rst_after, zero_window, limit_data, forget: after this many bytes
	After   time.Duration // blackhole, rst_after, forget: after this long; timeout, reset_peer: the timeout
	Percent float64       // loss, duplicate, reorder: 0 to 100
	Rate    int64         // bandwidth: KB/s (1000 bytes)
	Size    int           // mss: the clamp; slicer: average slice; slow_read: the window
	Vary    int           // slicer: ± this around Size
}

// Reason is what the fault's segments carry: "fault:<type>".
func (f *Fault) Reason() string { return f.Type.Reason() }

// Reason is what the segments of a fault of this type carry: "fault:<type>".
func (t Type) Reason() string { return "fault:" + string(t) }

// String is one line: "drop_syn_downstream port 80 drop_syn downstream toxicity 1 count=2".
func (f *Fault) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: port %d %s %s toxicity %g", f.Name, f.Port, f.Type, f.Stream, f.Toxicity)
	for _, kv := range f.AttrList() {
		b.WriteString(" " + kv[0] + "=" + kv[1])
	}
	return b.String()
}
