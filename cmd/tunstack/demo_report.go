package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// connTrace is what was seen of one connection, in order.
type connTrace struct {
	Local, Remote string // the stack's end and the peer's
	Events        []wireEvent
	step          int
}

// finished reports whether the connection has reached CLOSED.
func (t *connTrace) finished() bool {
	for _, e := range t.Events {
		if e.Kind == wireState && e.To == tcp.Closed.String() {
			return true
		}
	}
	return false
}

// recorder keeps the events of every connection, grouped by the demo step
// during which the connection first appeared.
type recorder struct {
	mu     sync.Mutex
	step   int
	open   map[string]*connTrace // by 4-tuple, until the connection is CLOSED
	traces []*connTrace
}

func newRecorder() *recorder { return &recorder{open: map[string]*connTrace{}} }

// consume records events until the channel closes.
func (r *recorder) consume(events <-chan stack.Event) {
	for e := range events {
		r.add(newWireEvent(e))
	}
}

func (r *recorder) add(e wireEvent) {
	if e.Local == "" {
		return // a packet dropped before it was matched to a connection
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key := e.Local + " " + e.Remote
	t := r.open[key]
	if t == nil {
		t = &connTrace{Local: e.Local, Remote: e.Remote, step: r.step}
		r.open[key] = t
		r.traces = append(r.traces, t)
	}
	t.Events = append(t.Events, e)
	if e.Kind == wireState && e.To == tcp.Closed.String() {
		delete(r.open, key) // the 4-tuple may be used again
	}
}

// beginStep makes connections seen from now on belong to step.
func (r *recorder) beginStep(step int) {
	r.mu.Lock()
	r.step = step
	r.mu.Unlock()
}

// connections returns copies of the traces of the step's connections and
// whether all of them have finished.
func (r *recorder) connections(step int) ([]connTrace, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []connTrace
	done := true
	for _, t := range r.traces {
		if t.step != step {
			continue
		}
		c := *t
		c.Events = append([]wireEvent(nil), t.Events...)
		done = done && c.finished()
		out = append(out, c)
	}
	return out, done
}

// writeConnection prints one connection as a ladder: its segments with
// sequence numbers relative to each side's initial sequence number and
// absolute, each state change with its reason, and the states it went
// through. Unless verbose, the segments of the data transfer are summed up
// in one line each run: only the handshake, the teardown and the segments
// that changed a state are shown.
func writeConnection(w io.Writer, t connTrace, verbose bool) {
	l := newLadder(t)
	fmt.Fprintf(w, "connection %s → %s\n", l.initiatorAddr(), l.responderAddr())
	if legend := l.legend(); legend != "" {
		fmt.Fprintf(w, "  %s\n", legend)
	}
	notable := notableSegments(t.Events)
	var run dataRun
	for i, e := range t.Events {
		switch e.Kind {
		case wireState:
			if e.From == tcp.Closed.String() && e.To == tcp.Listen.String() {
				continue // a passive open's TCB: the listener was there before
			}
			run.flush(w, l)
			fmt.Fprintf(w, "  %-15s %s → %s: %s [%s]\n", "", e.From, e.To, e.Why, e.Reason)
		case wireSegmentIn, wireSegmentOut:
			if e.Seg == nil {
				continue
			}
			if !verbose && !notable[i] {
				run.add(e)
				continue
			}
			run.flush(w, l)
			fmt.Fprintf(w, "  %s\n", l.segmentLine(e))
		case wireDrop:
			run.flush(w, l)
			line := "dropped"
			if e.Seg != nil {
				line = l.segmentLine(e) + "  dropped"
			}
			if e.Why != "" {
				line += ": " + e.Why
			} else if e.Detail != "" {
				line += ": " + e.Detail
			}
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	run.flush(w, l)
	if path := statePath(t.Events); len(path) > 0 {
		fmt.Fprintf(w, "  states: %s\n", strings.Join(path, " → "))
	}
}

// notableSegments marks the segments of the handshake and the teardown:
// those with SYN, FIN or RST, those that first acknowledge the other
// side's SYN or FIN, those sent or received before the connection is
// synchronized, and those right before a state change (its cause).
func notableSegments(events []wireEvent) []bool {
	notable := make([]bool, len(events))
	// controlEnd[d] is the sequence number just past the last SYN or FIN
	// sent in direction d (0 in, 1 out), while its ACK is awaited.
	var controlEnd [2]uint32
	var awaitingACK [2]bool
	synchronized := false
	for i, e := range events {
		if e.Kind == wireState {
			synchronized = e.To != tcp.Listen.String() && e.To != tcp.SynSent.String() && e.To != tcp.SynReceived.String() && e.To != tcp.Closed.String()
			if i > 0 && events[i-1].Kind == wireSegmentIn && !notCausedBySegment[e.Reason] {
				notable[i-1] = true
			}
			continue
		}
		if e.Seg == nil || (e.Kind != wireSegmentIn && e.Kind != wireSegmentOut) {
			continue
		}
		dir, other := 0, 1
		if e.Kind == wireSegmentOut {
			dir, other = 1, 0
		}
		f := e.Seg.Flags
		if f.has(tcp.FlagSYN) || f.has(tcp.FlagFIN) || f.has(tcp.FlagRST) || !synchronized {
			notable[i] = true
		}
		if f.has(tcp.FlagACK) && awaitingACK[other] && tcp.Seq(e.Seg.Ack).GreaterThanEq(tcp.Seq(controlEnd[other])) {
			notable[i] = true
			awaitingACK[other] = false
		}
		if f.has(tcp.FlagSYN) || f.has(tcp.FlagFIN) {
			end := tcp.Seq(e.Seg.Seq).Add(uint32(e.Seg.Len))
			if f.has(tcp.FlagSYN) {
				end = end.Add(1)
			}
			if f.has(tcp.FlagFIN) {
				end = end.Add(1)
			}
			controlEnd[dir], awaitingACK[dir] = uint32(end), true
		}
	}
	return notable
}

// notCausedBySegment holds the reason codes of state changes that a user
// call or a timer makes, not an arriving segment.
var notCausedBySegment = func() map[string]bool {
	codes := map[string]bool{}
	for r := tcp.ReasonUserOpenActive; r <= tcp.ReasonCloseUnreadData; r++ {
		codes[r.Code()] = true
	}
	for r := tcp.ReasonRetransmitSYN; r <= tcp.ReasonWindowUpdate; r++ {
		codes[r.Code()] = true
	}
	return codes
}()

// dataRun sums up consecutive ordinary segments.
type dataRun struct {
	segments int
	bytesIn  int // from the peer to the stack
	bytesOut int
}

func (r *dataRun) add(e wireEvent) {
	r.segments++
	if e.Kind == wireSegmentIn {
		r.bytesIn += e.Seg.Len
	} else {
		r.bytesOut += e.Seg.Len
	}
}

func (r *dataRun) flush(w io.Writer, l *ladder) {
	if r.segments == 0 {
		return
	}
	var what string
	switch {
	case r.bytesIn == 0 && r.bytesOut == 0:
		what = plural(r.segments, "ACK") + " without data"
	default:
		var parts []string
		if r.bytesIn > 0 {
			parts = append(parts, fmt.Sprintf("%d bytes %s", r.bytesIn, l.direction(wireSegmentIn)))
		}
		if r.bytesOut > 0 {
			parts = append(parts, fmt.Sprintf("%d bytes %s", r.bytesOut, l.direction(wireSegmentOut)))
		}
		what = plural(r.segments, "segment") + " of data and ACKs: " + strings.Join(parts, ", ")
	}
	fmt.Fprintf(w, "  %-15s %s\n", "…", what)
	*r = dataRun{}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// statePath is every state the connection went through, in order. A
// passive open's first step, CLOSED to LISTEN, is left out: the listener
// was there before.
func statePath(events []wireEvent) []string {
	var path []string
	for _, e := range events {
		if e.Kind != wireState {
			continue
		}
		if len(path) == 0 {
			path = append(path, e.From)
		}
		path = append(path, e.To)
	}
	if len(path) > 1 && path[0] == tcp.Closed.String() && path[1] == tcp.Listen.String() {
		path = path[1:]
	}
	return path
}

// ladder names the two ends and their initial sequence numbers. The end
// that sent the first SYN is the initiator, whose ISN is x; the other's is
// y, as in RFC 9293's figures.
type ladder struct {
	stackInitiated bool
	peerName       string // "client" or "server"
	local, remote  string
	// isnIn is the peer's ISN, isnOut the stack's; 0 if no SYN was seen
	// (an ISN of 0 is possible, and then shows as absolute only).
	isnIn, isnOut uint32
}

func newLadder(t connTrace) *ladder {
	l := &ladder{local: t.Local, remote: t.Remote, peerName: "client"}
	firstSYN := true
	for _, e := range t.Events {
		if e.Seg == nil || !e.Seg.Flags.has(tcp.FlagSYN) || e.Kind == wireDrop {
			continue
		}
		if e.Kind == wireSegmentOut {
			if firstSYN {
				l.stackInitiated, l.peerName = true, "server"
			}
			if l.isnOut == 0 {
				l.isnOut = e.Seg.Seq
			}
		} else if l.isnIn == 0 {
			l.isnIn = e.Seg.Seq
		}
		firstSYN = false
	}
	return l
}

func (l *ladder) initiatorAddr() string {
	if l.stackInitiated {
		return l.local
	}
	return l.remote
}

func (l *ladder) responderAddr() string {
	if l.stackInitiated {
		return l.remote
	}
	return l.local
}

// names are the symbols of the stack's and the peer's ISNs.
func (l *ladder) names() (stackISN, peerISN string) {
	if l.stackInitiated {
		return "x", "y"
	}
	return "y", "x"
}

// legend says what x and y stand for, x first.
func (l *ladder) legend() string {
	stackISN, peerISN := l.names()
	entries := []struct {
		name  string
		value uint32
		whose string
	}{
		{peerISN, l.isnIn, l.peerName + "'s"},
		{stackISN, l.isnOut, "stack's"},
	}
	if entries[0].name != "x" {
		entries[0], entries[1] = entries[1], entries[0]
	}
	var parts []string
	for _, e := range entries {
		if e.value != 0 {
			parts = append(parts, fmt.Sprintf("%s = %d (%s ISN)", e.name, e.value, e.whose))
		}
	}
	return strings.Join(parts, ", ")
}

func (l *ladder) direction(kind string) string {
	if kind == wireSegmentIn {
		return l.peerName + " → stack"
	}
	return "stack → " + l.peerName
}

// segmentLine is one segment: direction, flags, relative and absolute
// sequence and acknowledgment numbers, and the payload length.
func (l *ladder) segmentLine(e wireEvent) string {
	stackISN, peerISN := l.names()
	seqISN, seqName, ackISN, ackName := l.isnIn, peerISN, l.isnOut, stackISN
	if e.Kind == wireSegmentOut {
		seqISN, seqName, ackISN, ackName = l.isnOut, stackISN, l.isnIn, peerISN
	}
	hasACK := e.Seg.Flags.has(tcp.FlagACK)
	rel := "seq=" + relative(e.Seg.Seq, seqISN, seqName)
	abs := "seq=" + strconv.FormatUint(uint64(e.Seg.Seq), 10)
	if hasACK {
		rel += " ack=" + relative(e.Seg.Ack, ackISN, ackName)
		abs += " ack=" + strconv.FormatUint(uint64(e.Seg.Ack), 10)
	}
	if e.Seg.Len > 0 {
		rel += " len=" + strconv.Itoa(e.Seg.Len)
	}
	return fmt.Sprintf("%-15s %-8s %-30s (%s)", l.direction(e.Kind), tcp.Flags(e.Seg.Flags).Label(), rel, abs)
}

// relative writes v as an offset from isn named name ("x+1"), or as the
// plain number when isn is unknown.
func relative(v, isn uint32, name string) string {
	if isn == 0 {
		return strconv.FormatUint(uint64(v), 10)
	}
	switch d := int32(v - isn); {
	case d == 0:
		return name
	case d > 0:
		return name + "+" + strconv.Itoa(int(d))
	default:
		return name + strconv.Itoa(int(d))
	}
}
