package crosscheck

import (
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// Scenario is one parsed script: one behaviour, its rule, and the steps that
// show it.
type Scenario struct {
	Name   string   // file name without .txt
	Title  string   // the first comment line
	Rules  []string // the rfc: lines
	Config Config
	// Active is true if the script opens actively (user open active): the
	// stack's port is then 40000 and the peer's 80; otherwise the stack
	// listens on 80 and the peer uses 40000.
	Active bool
	Steps  []Step
	// SkipGVisor is the written reason gVisor cannot run the script, or "".
	SkipGVisor string
}

// Differences lists the steps whose expectation gVisor replaces, each with
// its citation.
func (s *Scenario) Differences() []*Step {
	var d []*Step
	for i := range s.Steps {
		if s.Steps[i].GVisor != nil {
			d = append(d, &s.Steps[i])
		}
	}
	return d
}

// Config holds the policies a script sets with config: lines. Both
// implementations get the same values where both have the knob.
type Config struct {
	MSL             time.Duration // TIME-WAIT lasts 2*MSL
	MinRTO, MaxRTO  time.Duration
	SynRetries      int
	SynAckRetries   int
	DataRetries     int
	FinWait2Timeout time.Duration
	DelayedACK      time.Duration // 0: off
	RFC1337         bool
	PeerISN         uint32 // the scripted peer's ISN: in seq=0 is this number
	ISS             uint32 // tunstack's ISS (gVisor picks its own)
	// UserTimeout is RFC 5482's USER TIMEOUT; 0: off.
	UserTimeout time.Duration
	// KeepAliveIdle turns keep-alives on (RFC 9293 §3.8.4); 0: off.
	KeepAliveIdle     time.Duration
	KeepAliveInterval time.Duration
	KeepAliveCount    int
	// RecvBuffer is tunstack's receive buffer, the largest window it
	// advertises; 0 keeps the engine's default. gVisor derives its window
	// from memory use, so scripts that set it skip gVisor.
	RecvBuffer int
	// SACK lets the stack offer and accept SACK-permitted (RFC 2018).
	SACK bool
	// Timestamps lets tunstack offer and accept timestamps (RFC 7323 §3);
	// gVisor has no knob and always does.
	Timestamps bool
	// RACK turns on RACK-TLP loss detection and tail loss probes (RFC 8985).
	RACK bool
	// Congestion is the congestion control, "cubic" or "newreno"; "" keeps
	// each implementation's default (tunstack: CUBIC, gVisor: NewReno).
	Congestion string
	// InvalidRateLimit is the least time between two ACKs a connection
	// sends in answer to unacceptable segments (RFC 5961 §7); 0: off, so
	// that every one is answered, as RFC 9293 §3.10.7.4 alone says.
	InvalidRateLimit time.Duration
}

// DefaultConfig is what a script gets before its config: lines.
func DefaultConfig() Config {
	return Config{
		MSL:             30 * time.Second,
		MinRTO:          200 * time.Millisecond,
		MaxRTO:          60 * time.Second,
		SynRetries:      6,
		SynAckRetries:   5,
		DataRetries:     15,
		FinWait2Timeout: 60 * time.Second,
		DelayedACK:      0,
		RFC1337:         true,
		PeerISN:         1_000_000,
		ISS:             5_000_000,
		// Keep-alives are off until keepalive-idle is set; these are the
		// probe interval and count they then use (RFC 1122 §4.2.3.6 leaves
		// them to the implementation; both tunstack and gVisor default to these).
		KeepAliveInterval: 75 * time.Second,
		KeepAliveCount:    9,
		// The stack offers SACK and timestamps; they are in use only if
		// the scripted peer offers them too. RACK-TLP is off: RFC 9293's
		// own loss detection unless a script turns it on.
		SACK:       true,
		Timestamps: true,
	}
}

// StepKind says what a step does.
type StepKind int

// The kinds of step.
const (
	StepIn      StepKind = iota + 1 // in: the peer sends a segment
	StepOut                         // out: the stack must have sent this segment next
	StepNothing                     // out nothing: the stack has sent nothing more
	StepState                       // state: the connection is in this state
	StepError                       // error: the connection ended with this error
	StepAfter                       // after: the virtual clock moves on
	StepUser                        // user: a user call of RFC 9293 §3.10
)

// UserCall is a user call of RFC 9293 §3.10.
type UserCall int

// The user calls.
const (
	CallOpenPassive UserCall = iota + 1
	CallOpenActive
	CallSend
	CallShutdown // CLOSE in the RFC's sense: a half-close
	CallClose    // close and stop reading: net.Conn's Close
	CallAbort
	CallRead
)

// ReadWant is what a user read step expects.
type ReadWant int

// What a read may expect.
const (
	ReadAnything ReadWant = iota // user read: read whatever is there
	ReadData                     // user read "abc" or len=N
	ReadNothing                  // user read nothing: no data, no EOF
	ReadEOF                      // user read eof: the peer's FIN, no data left
)

// Step is one line of a script.
type Step struct {
	Line int    // line number in the file
	Text string // the line as written, without its comment
	Kind StepKind

	Seg      SegSpec       // in, out
	State    tcp.State     // state
	Err      string        // error: none, refused, reset, timeout, aborted
	Duration time.Duration // after
	Call     UserCall      // user
	Data     Payload       // user send, user read
	Read     ReadWant      // user read
	Fails    bool          // user ... fails: the call must return an error

	// GVisor replaces this expectation when the script runs on gVisor: one
	// or more steps, from the gvisor: lines that follow it. Empty but not nil
	// means gVisor skips the step.
	GVisor []Step
	// Cite is the citation of a gvisor: line (the comment after it).
	Cite string
}

// Payload is data written as len=N or data="...".
type Payload struct {
	Set   bool
	Bytes []byte // nil with Set and Len: any bytes of that length
	Len   int
}

// Number is a sequence or acknowledgment number as a script writes it:
// relative to an ISN, or absolute (abs:N).
type Number struct {
	Set bool
	Abs bool
	V   int64
}

// SegSpec is a segment as a script writes it.
type SegSpec struct {
	Flags    tcp.Flags
	Seq, Ack Number
	Win      int // -1: not written
	MSS      int // -1: not written
	WS       int // -1: not written
	Data     Payload

	// SACKOK is the SACK-permitted option (sackok, nosackok).
	SACKOK Presence
	// NoWS: the window-scale option must be absent (nows, out only).
	NoWS bool
	// SACK holds the SACK blocks (sack=L-R,L-R), in the order written;
	// NoSACK (nosack, out only) says there must be none.
	SACK   []Block
	NoSACK bool
	// TS is the timestamps option (ts=VAL:ECR); NoTS (nots, out only) says
	// there must be none.
	TS   *Timestamps
	NoTS bool
}

// Presence is whether a script wants an option: not written, present, or
// absent (out lines only).
type Presence int8

// The presences of an option.
const (
	Unwritten Presence = iota
	Present
	Absent
)

// Block is a SACK block as a script writes it: L-R, octets L up to R-1.
// On an in line the block acknowledges the stack's data (the stack's
// space); on an out line, the peer's.
type Block struct {
	Left, Right Number
}

// Timestamps is the timestamps option as a script writes it: ts=VAL:ECR.
type Timestamps struct {
	Val, Ecr TSValue
}

// TSValue is one field of a timestamps option. Timestamps are absolute
// (each end's own clock), never relative.
type TSValue struct {
	Kind TSKind
	V    uint32 // TSNumber
}

// TSKind says how a timestamp field is written.
type TSKind int8

// How a timestamp field may be written.
const (
	TSNumber TSKind = iota // a number: sent as is, or checked exactly
	TSAny                  // * (out lines): any value
	TSLast                 // last (in lines): the TSval of the stack's latest segment
)

// patternByte is the byte at offset i of a len=N payload.
func patternByte(i int) byte { return 'a' + byte(i%26) }

// Materialize returns the payload's bytes: the written ones, or len bytes
// of a fixed pattern.
func (p Payload) Materialize() []byte {
	if p.Bytes != nil {
		return p.Bytes
	}
	b := make([]byte, p.Len)
	for i := range b {
		b[i] = patternByte(i)
	}
	return b
}
