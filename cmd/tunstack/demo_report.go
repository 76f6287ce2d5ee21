package main

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/ladder"
	"github.com/tunstack/tunstack/stack/tcp"
)

// connTrace is what was seen of one connection, in order.
type connTrace struct {
	Events []stack.Event
	step   int
	ended  bool // it reached CLOSED (or went back to LISTEN)
}

// finished reports whether the connection has ended.
func (t *connTrace) finished() bool { return t.ended }

// recorder keeps the events of every connection, grouped by the demo step
// during which the connection first appeared.
type recorder struct {
	mu     sync.Mutex
	step   int
	open   map[tcp.ID]*connTrace // until the connection ends
	traces []*connTrace
}

func newRecorder() *recorder { return &recorder{open: map[tcp.ID]*connTrace{}} }

// consume records events until the channel closes.
func (r *recorder) consume(events <-chan stack.Event) {
	for e := range events {
		r.add(e)
	}
}

func (r *recorder) add(e stack.Event) {
	if e.Conn == (tcp.ID{}) {
		return // a packet dropped before it was matched to a connection
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.open[e.Conn]
	if t == nil {
		t = &connTrace{step: r.step}
		r.open[e.Conn] = t
		r.traces = append(r.traces, t)
	}
	t.Events = append(t.Events, e)
	if ladder.Ends(e) {
		t.ended = true
		delete(r.open, e.Conn) // the 4-tuple may be used again
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
		c.Events = append([]stack.Event(nil), t.Events...)
		done = done && c.finished()
		out = append(out, c)
	}
	return out, done
}

// writeConnection draws one connection as a ladder diagram (see package
// ladder): every segment with sequence numbers relative to each side's
// ISN, both sides' states, and the reason of each state change. Unless
// verbose, runs of data segments are summed up in a line: the handshake
// and the teardown are shown in full.
func writeConnection(w io.Writer, t connTrace, verbose bool) {
	d, err := ladder.New(ladder.Connection{Events: t.Events}, ladder.Options{Collapse: !verbose})
	if err != nil {
		fmt.Fprintf(w, "(no diagram: %v)\n", err)
		return
	}
	d.WriteText(w)
	if path := statePath(t.Events); len(path) > 0 {
		fmt.Fprintf(w, "\nthe stack's states: %s\n", strings.Join(path, " → "))
	}
}

// statePath is every state the stack's end went through, in order. A
// passive open's first step, CLOSED to LISTEN, is left out: the listener
// was there before.
func statePath(events []stack.Event) []string {
	var path []string
	for _, e := range events {
		if e.Kind != stack.EventStateChange {
			continue
		}
		if len(path) == 0 {
			path = append(path, e.From.String())
		}
		path = append(path, e.To.String())
	}
	if len(path) > 1 && path[0] == tcp.Closed.String() && path[1] == tcp.Listen.String() {
		path = path[1:]
	}
	return path
}
