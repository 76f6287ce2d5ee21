package kernelstates

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/tunstack/tunstack/stack/ladder"
	"github.com/tunstack/tunstack/stack/tcp"
	"golang.org/x/sys/unix"
)

// Source is how a ladder names where the kernel's states come from.
const Source = "sock:" + event

// Options say which of the kernel's sockets to follow.
type Options struct {
	// Kernel are the kernel's addresses on the stack's device; Stack, if
	// any, the stack's. The Tracer follows the kernel's TCP sockets from
	// one of the first to one of the second.
	Kernel, Stack []netip.Addr
	// NetNS is the network namespace of the kernel's sockets ("" for the
	// caller's), where sock_diag finds TIME-WAIT mini-sockets.
	NetNS string
	// Prefix starts the trace instance's name: PREFIX-PID-RANDOM.
	Prefix string
}

// Tracer follows the kernel's state changes from the moment Start
// returns. It is safe for concurrent use.
type Tracer struct {
	opts    Options
	dir     string // the trace instance
	pipe    *os.File
	diag    stateReader // nil if sock_diag could not be opened
	started time.Time
	// wall and mono are the same moment on the wall clock and on the
	// trace clock, CLOCK_MONOTONIC.
	wall time.Time
	mono time.Duration

	mu      sync.Mutex
	recs    *records
	markers map[string]chan struct{}
	nextID  int
	done    chan struct{} // closed when the reader has stopped
	readErr error
	closed  bool
}

// Start mounts tracefs if need be, removes instances that earlier runs
// killed before they could left behind, creates an instance of its own
// that follows sock:inet_sock_set_state filtered to the addresses, and
// starts reading it. An error that wraps ErrUnavailable says why the
// kernel's states cannot be read here.
func Start(opts Options) (*Tracer, error) {
	if len(opts.Kernel) == 0 {
		return nil, errors.New("kernelstates: no kernel address to follow")
	}
	if err := mountTracefs(); err != nil {
		return nil, err
	}
	removeStale(opts.Prefix)
	t := &Tracer{opts: opts, recs: newRecords(), markers: map[string]chan struct{}{}, done: make(chan struct{})}
	t.dir = filepath.Join(Root, "instances", instanceName(opts.Prefix))
	if err := os.Mkdir(t.dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: creating a trace instance: %v", ErrUnavailable, err)
	}
	err := t.configure()
	if err == nil {
		t.pipe, err = os.Open(filepath.Join(t.dir, "trace_pipe"))
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%w: %v", ErrUnavailable, err), removeInstance(t.dir))
	}
	// Without sock_diag a socket's move to a TIME-WAIT mini-socket shows
	// as CLOSED: the rest still holds.
	if d, err := openSocketDiag(opts.NetNS); err == nil {
		t.diag = d
	}
	if t.wall, t.mono, err = clockPair(); err != nil {
		t.Close()
		return nil, fmt.Errorf("%w: reading CLOCK_MONOTONIC: %v", ErrUnavailable, err)
	}
	t.started = t.wall
	go t.read()
	return t, nil
}

// clockPair reads the same moment on Go's clock and on CLOCK_MONOTONIC,
// the trace's: of several tries, the one where the two readings of
// CLOCK_MONOTONIC around time.Now were closest, and their middle. A
// preempted try would put every change of the kernel's off by as much.
func clockPair() (time.Time, time.Duration, error) {
	var wall time.Time
	var mono, best time.Duration
	for range 20 {
		var a, b unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &a); err != nil {
			return time.Time{}, 0, err
		}
		now := time.Now()
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &b); err != nil {
			return time.Time{}, 0, err
		}
		gap := time.Duration(b.Nano() - a.Nano())
		if wall.IsZero() || gap < best {
			wall, mono, best = now, time.Duration(a.Nano())+gap/2, gap
		}
	}
	return wall, mono, nil
}

// configure sets the instance's clock to CLOCK_MONOTONIC (so that its
// times can be put beside the stack's), its filter, and turns the
// tracepoint on.
func (t *Tracer) configure() error {
	for _, w := range []struct{ file, value string }{
		{"trace_clock", "mono"},
		{filepath.Join(tracepointDir, "filter"), filterFor(t.opts.Kernel, t.opts.Stack)},
		{filepath.Join(tracepointDir, "enable"), "1"},
	} {
		if err := os.WriteFile(filepath.Join(t.dir, w.file), []byte(w.value), 0); err != nil {
			return fmt.Errorf("writing %q to %s: %v", w.value, w.file, err)
		}
	}
	return nil
}

// Instance is the trace instance's directory.
func (t *Tracer) Instance() string { return t.dir }

// read reads trace_pipe until Close.
func (t *Tracer) read() {
	defer close(t.done)
	r := bufio.NewReader(t.pipe)
	for {
		s, err := r.ReadString('\n')
		if err != nil {
			t.mu.Lock()
			if !t.closed {
				t.readErr = err
			}
			t.mu.Unlock()
			return
		}
		t.handle(s)
	}
}

// handle takes one line of trace_pipe.
func (t *Tracer) handle(s string) {
	l, err := parseLine(s)
	if err != nil {
		return // another event, or a line the kernel cut short
	}
	if l.marker != "" {
		t.mu.Lock()
		if ch, ok := t.markers[l.marker]; ok {
			close(ch)
			delete(t.markers, l.marker)
		}
		t.mu.Unlock()
		return
	}
	if !t.ours(l.change) {
		return
	}
	c, mini := t.intoTimeWait(l.change)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !mini {
		t.recs.add(c)
	} else if r := t.recs.find(ends{c.Local, c.Remote}, c.At); r != nil {
		r.miniFinWait2 = true
	}
}

// ours reports whether a change is of a socket the Tracer follows: the
// filter in the kernel cannot compare IPv6 addresses.
func (t *Tracer) ours(c Change) bool {
	if !slices.Contains(t.opts.Kernel, c.Local.Addr()) {
		return false
	}
	return len(t.opts.Stack) == 0 || slices.Contains(t.opts.Stack, c.Remote.Addr())
}

// intoTimeWait reads, for a socket that left FIN-WAIT-1, FIN-WAIT-2 or
// CLOSING for CLOSE, the mini-socket that took the connection over, if
// any: a TIME-WAIT one makes the change one to TIME-WAIT; a FIN-WAIT-2
// one means the connection is still in FIN-WAIT-2: mini is true, and
// the change is none.
func (t *Tracer) intoTimeWait(c Change) (_ Change, mini bool) {
	if c.To != tcp.Closed || c.From != tcp.FinWait1 && c.From != tcp.FinWait2 && c.From != tcp.Closing || t.diag == nil {
		return c, false
	}
	switch st, ok := t.diag.state(ends{c.Local, c.Remote}); {
	case ok && st == tcp.TimeWait:
		c.To = tcp.TimeWait
	case ok && st == tcp.FinWait2:
		return c, true
	}
	return c, false
}

// Sync returns once every change that happened before it was called has
// been read: it writes a marker into the instance and waits for it to
// come out of trace_pipe, in time order behind them.
func (t *Tracer) Sync(ctx context.Context) error {
	t.mu.Lock()
	t.nextID++
	marker := "tunstack-sync-" + strconv.Itoa(t.nextID)
	ch := make(chan struct{})
	t.markers[marker] = ch
	t.mu.Unlock()
	if err := os.WriteFile(filepath.Join(t.dir, "trace_marker"), []byte(marker), 0); err != nil {
		return fmt.Errorf("kernelstates: writing trace_marker: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-t.done:
		return fmt.Errorf("kernelstates: reading trace_pipe: %v", t.readErr)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Report is what the kernel said of its end of the stack's connection id
// (id.Local is the stack's end), for a connection the stack saw from
// first to last. ok is false if the Tracer started after first: then it
// may have missed the beginning. A kernel that reported nothing had no
// socket for the connection: the report has no changes.
func (t *Tracer) Report(id tcp.ID, first, last time.Time) (_ *ladder.PeerReport, ok bool) {
	if first.Before(t.started) {
		return nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	rep := &ladder.PeerReport{Name: "kernel", Source: Source}
	key := ends{local: id.Remote, remote: id.Local}
	r := t.recs.find(key, last.Sub(t.wall)+t.mono+time.Millisecond)
	if r == nil {
		return rep, true
	}
	if r.miniFinWait2 && t.diag != nil {
		if st, found := t.diag.state(key); found && st == tcp.TimeWait {
			r.miniFinWait2 = false
			now := time.Now()
			// No tracepoint reported it: Linux is "".
			r.changes = append(r.changes, Change{At: now.Sub(t.wall) + t.mono, Local: key.local, Remote: key.remote,
				From: tcp.FinWait2, To: tcp.TimeWait, LinuxFrom: "TCP_FIN_WAIT2"})
		}
	}
	for _, c := range r.changes {
		rep.Changes = append(rep.Changes, ladder.PeerChange{
			// The trace prints microseconds: the middle of the
			// microsecond is the best guess.
			Time: t.wall.Add(c.At - t.mono + 500*time.Nanosecond),
			From: c.From, To: c.To, Note: note(c),
		})
	}
	return rep, true
}

// note says where Linux differs from what RFC 9293's figure shows.
func note(c Change) string {
	switch {
	case c.From == tcp.Listen && c.To == tcp.SynReceived:
		return "(Linux reports this when the ACK turns its request socket, TCP_NEW_SYN_RECV, into a full socket)"
	case c.To == tcp.TimeWait && c.Linux == "TCP_CLOSE":
		return "(Linux: " + c.LinuxFrom + " → TCP_CLOSE, as a TIME-WAIT mini-socket, seen by sock_diag, takes over for 60 s)"
	case c.To == tcp.TimeWait && c.Linux == "":
		return "(Linux: its FIN-WAIT-2 mini-socket was in TIME-WAIT when read again; no tracepoint says when it moved)"
	}
	return ""
}

// Close stops reading and removes the trace instance; the mount stays.
func (t *Tracer) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	if t.pipe != nil {
		t.pipe.SetReadDeadline(time.Now())
		<-t.done
		t.pipe.Close()
	}
	if d, ok := t.diag.(*socketDiag); ok {
		d.close()
	}
	return removeInstance(t.dir)
}
