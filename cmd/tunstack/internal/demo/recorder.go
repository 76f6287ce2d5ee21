package demo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/ladder"
	"github.com/tunstack/tunstack/stack/tcp"
)

// connTrace is what was seen of one connection, in order.
type connTrace struct {
	ID     tcp.ID
	Events []stack.Event
	step   int
	ended  bool // it reached CLOSED (or went back to LISTEN)
}

// recorder keeps the events of every connection, grouped by the demo step
// during which the connection first appeared.
type recorder struct {
	mu     sync.Mutex
	step   int
	open   map[tcp.ID]*connTrace // until the connection ends
	traces []*connTrace
	// changed is closed and replaced whenever an event arrives, for those
	// who wait for one.
	changed chan struct{}
}

func newRecorder() *recorder {
	return &recorder{open: map[tcp.ID]*connTrace{}, changed: make(chan struct{})}
}

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
		t = &connTrace{ID: e.Conn, step: r.step}
		r.open[e.Conn] = t
		r.traces = append(r.traces, t)
	}
	t.Events = append(t.Events, e)
	if ladder.Ends(e) {
		t.ended = true
		delete(r.open, e.Conn) // the 4-tuple may be used again
	}
	close(r.changed)
	r.changed = make(chan struct{})
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
		done = done && c.ended
		out = append(out, c)
	}
	return out, done
}

// waitFor waits until cond holds for the events recorded so far, or
// timeout passes.
func (r *recorder) waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		r.mu.Lock()
		changed := r.changed
		r.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return fmt.Errorf("%s: not within %v", what, timeout)
		case <-ctx.Done():
			return ErrInterrupted
		}
	}
}

// reached reports whether the latest connection that match selects has
// been in state st.
func (r *recorder) reached(match func(tcp.ID) bool, st tcp.State) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.traces) - 1; i >= 0; i-- {
		t := r.traces[i]
		if !match(t.ID) {
			continue
		}
		for _, e := range t.Events {
			if e.Kind == stack.EventStateChange && e.To == st {
				return true
			}
		}
		return false
	}
	return false
}

// waitState waits until the stack's connection that match selects is, or
// has been, in state st.
func (r *recorder) waitState(ctx context.Context, match func(tcp.ID) bool, st tcp.State) error {
	return r.waitFor(ctx, stepTimeout, "the stack's connection in "+st.String(), func() bool { return r.reached(match, st) })
}

// waitEnded waits until the stack's connection id has ended (after 2MSL,
// if it went through TIME-WAIT).
func (r *recorder) waitEnded(ctx context.Context, id tcp.ID) error {
	return r.waitFor(ctx, connectionsSettle, "the end of the stack's connection", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for i := len(r.traces) - 1; i >= 0; i-- {
			if r.traces[i].ID == id {
				return r.traces[i].ended
			}
		}
		return false
	})
}

// waitConnections waits until the step's connections have appeared and
// finished, or connectionsSettle has passed, and returns them.
func (r *recorder) waitConnections(ctx context.Context, step, want int) []connTrace {
	r.waitFor(ctx, connectionsSettle, "the step's connections", func() bool {
		conns, done := r.connections(step)
		return len(conns) >= want && done
	})
	conns, _ := r.connections(step)
	return conns
}
