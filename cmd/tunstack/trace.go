package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/flags"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/kernelstates"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/ladder"
	"github.com/tunstack/tunstack/tundev"
)

// maxSVGDiagrams bounds the ladders kept for --svg: the file shows the
// latest ones.
const maxSVGDiagrams = 100

// errStreamEnded: the daemon closed the event stream (it stopped).
var errStreamEnded = errors.New("the daemon ended the event stream")

// traceOptions are trace's flags.
type traceOptions struct {
	device  flags.Device
	filter  control.Filter
	states  []string
	json    bool
	ladder  bool
	svg     string
	verbose bool
	count   int
	// kernelStates puts the kernel's own states into the ladders
	// (--kernel-states).
	kernelStates bool
}

func (c *cli) traceCommand() *cobra.Command {
	var o traceOptions
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Watch segments, state changes and drops live, with the RFC rule behind each",
		Long: `trace asks a running daemon for its events and prints them as they happen:
every segment in and out (flags, sequence and acknowledgment numbers relative
to each side's ISN and absolute, window, length, options), every state change,
and every dropped segment, each with the reason the engine gave and the RFC
rule it follows. It runs until Ctrl-C, or --count.

--json prints each event as one JSON object per line, with stable field names.
--ladder draws each connection when it has finished (reached CLOSED, after
TIME-WAIT if it went through it) as a ladder diagram: client and server side
by side, an arrow per segment, the states of both sides (the peer's inferred
from its segments, marked ~) and the reason of each step. Runs of data
segments are summed up unless -v. --svg FILE also writes the ladders to FILE
as SVG, rewritten after each connection. --kernel-states shows the kernel's
own states instead of inferred ones, for connections between the kernel and
the stack: it reads the kernel's tracepoint sock:inet_sock_set_state through
tracefs (mounted if need be, in a trace instance of its own that it removes
when it ends; root only), filtered to the kernel's addresses on the device,
and asks sock_diag in the device's namespace for TIME-WAIT mini-sockets. The
tracepoint fires in every namespace: where another namespace uses the same
addresses and ports at the same time, their states would mix.

Filters select connections by their ends and by state. As in ss, --sport is
the stack's port and --dport the peer's.`,
		Example: `  sudo tunstack trace
  sudo tunstack trace --port 80 --json
  sudo tunstack trace --ladder --svg ladders.svg
  sudo tunstack trace --netns lab --ladder --kernel-states
  sudo tunstack trace -s time-wait,last-ack`,
		Args: exactArgs(0, "no arguments"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if err := o.device.Validate(); err != nil {
				return err
			}
			if err := o.check(); err != nil {
				return err
			}
			return c.trace(cmd.Context(), &o)
		}),
	}
	fs := cmd.Flags()
	o.device.Register(fs, "network namespace of the daemon's device (to find its control socket)")
	fs.StringSliceVarP(&o.states, "state", "s", nil, "only connections in these states (ss's names or the RFC's; repeat or separate with commas)")
	registerEndFlags(fs, &o.filter)
	fs.BoolVar(&o.json, "json", false, "print one JSON object per event")
	fs.BoolVar(&o.ladder, "ladder", false, "draw each finished connection as a ladder diagram")
	fs.StringVar(&o.svg, "svg", "", "with --ladder: also write the ladders to this SVG file")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "with --ladder: show every segment, not a summary of the data")
	fs.IntVar(&o.count, "count", 0, "stop after this many events (with --ladder: connections); 0 for no limit")
	fs.BoolVar(&o.kernelStates, "kernel-states", false, "with --ladder: the kernel's own states, from its tracepoint sock:inet_sock_set_state (root)")
	return cmd
}

// check validates the flags and fills in the filter's states.
func (o *traceOptions) check() error {
	if o.svg != "" || o.kernelStates {
		o.ladder = true
	}
	if o.json && o.ladder {
		return usage.Errorf("--json and --ladder (or --svg) do not go together")
	}
	if o.count < 0 {
		return usage.Errorf("--count %d: want 0 or more", o.count)
	}
	states, err := parseStateNames(o.states)
	if err != nil {
		return err
	}
	o.filter.States = states
	_, err = o.filter.Compile()
	return usage.Wrap(err)
}

// trace streams events until ctx ends, --count is reached, or the daemon
// stops.
func (c *cli) trace(ctx context.Context, o *traceOptions) error {
	filter := o.filter
	var ladderStates *control.Matcher
	if o.ladder {
		// A ladder needs every event of its connection: the states select
		// whole connections, here, not events at the daemon.
		states := control.Filter{States: filter.States}
		ladderStates, _ = states.Compile()
		filter.States = nil
	}
	session, err := control.Open(ctx, o.device.ControlPath(), control.Request{Op: control.OpEvents, Filter: &filter}, control.ReplyWait)
	if err := controlError(err, "tunstack trace"); err != nil {
		return err
	}
	defer session.Close()
	stop := context.AfterFunc(ctx, func() { session.Close() })
	defer stop()
	// The daemon subscribed before it answered: from now on nothing is missed.
	fmt.Fprintf(c.stderr, "tunstack trace: watching %s (Ctrl-C to stop)\n", o.device.ControlPath())

	var out eventSink
	switch {
	case o.json:
		out = &jsonSink{w: c.stdout}
	case o.ladder:
		sink := &ladderSink{ctx: ctx, w: c.stdout, svg: o.svg, states: ladderStates, opts: ladder.Options{Collapse: !o.verbose}}
		if o.kernelStates {
			sink.kernel = c.traceKernel(&o.device)
			if sink.kernel != nil {
				defer sink.kernel.Close()
			}
		}
		out = sink
	default:
		out = &textSink{w: c.stdout}
	}
	shown := 0
	for o.count == 0 || shown < o.count {
		line, err := session.Reader.ReadBytes('\n')
		if err != nil {
			if ctx.Err() != nil {
				return out.close(c.stderr)
			}
			if errors.Is(err, io.EOF) {
				return errors.Join(errStreamEnded, out.close(c.stderr))
			}
			return fmt.Errorf("reading events: %w", err)
		}
		var w control.Event
		if err := json.Unmarshal(line, &w); err != nil {
			return fmt.Errorf("event %q: %w: %v", bytes.TrimSpace(line), control.ErrProtocol, err)
		}
		e, err := w.StackEvent()
		if err != nil {
			return err
		}
		n, err := out.add(line, &e)
		if err != nil {
			return err
		}
		shown += n
	}
	return out.close(c.stderr)
}

// eventSink is where trace's events go: add takes one and says how many
// things it printed (events, or ladders); close ends the output.
type eventSink interface {
	add(line []byte, e *stack.Event) (int, error)
	close(stderr io.Writer) error
}

// textSink prints a line per event.
type textSink struct{ w io.Writer }

func (s *textSink) add(_ []byte, e *stack.Event) (int, error) {
	_, err := fmt.Fprintln(s.w, traceLine(e))
	return 1, err
}

func (s *textSink) close(io.Writer) error { return nil }

// jsonSink prints the daemon's JSON lines as they came.
type jsonSink struct{ w io.Writer }

func (s *jsonSink) add(line []byte, _ *stack.Event) (int, error) {
	_, err := s.w.Write(line)
	return 1, err
}

func (s *jsonSink) close(io.Writer) error { return nil }

// traceKernel starts following the kernel's states on the daemon's
// device, or says in one line why it cannot and returns nil.
func (c *cli) traceKernel(device *flags.Device) *kernelstates.Tracer {
	addrs, err := tundev.LinkAddrs(device.NetNS, device.Dev)
	var t *kernelstates.Tracer
	if err == nil {
		t, err = kernelstates.Start(kernelstates.Options{Kernel: addrs, NetNS: device.NetNS, Prefix: "tunstack-trace"})
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "tunstack trace: the kernel's states are inferred from its segments (~): %s\n", oneLine(err.Error()))
		return nil
	}
	return t
}

// ladderSink draws each connection when it finishes.
type ladderSink struct {
	ctx       context.Context
	kernel    *kernelstates.Tracer // --kernel-states; nil for inferred states
	w         io.Writer
	svg       string
	states    *control.Matcher // a connection is drawn if it passed through one of them
	opts      ladder.Options
	collector ladder.Collector
	drawn     []*ladder.Diagram // for the SVG file, the latest maxSVGDiagrams
}

func (s *ladderSink) add(_ []byte, e *stack.Event) (int, error) {
	conn, done := s.collector.Add(*e)
	if !done || !s.wanted(conn) {
		return 0, nil
	}
	if s.kernel != nil && len(conn.Events) > 0 {
		conn.Peer = s.kernelReport(conn)
	}
	d, err := ladder.New(conn, s.opts)
	if err != nil {
		return 0, nil // nothing to draw
	}
	if err := d.WriteText(s.w); err != nil {
		return 0, err
	}
	fmt.Fprintln(s.w)
	if s.svg == "" {
		return 1, nil
	}
	s.drawn = append(s.drawn, d)
	if len(s.drawn) > maxSVGDiagrams {
		s.drawn = s.drawn[1:]
	}
	return 1, writeFileAtomically(s.svg, func(w io.Writer) error { return ladder.WriteSVG(w, s.drawn...) })
}

// kernelSync bounds the wait for the kernel's tracepoint to catch up with
// the stack's events.
const kernelSync = 200 * time.Millisecond

// kernelReport is what the kernel reported of its end of conn, or nil if
// the Tracer started after the connection did.
func (s *ladderSink) kernelReport(conn ladder.Connection) *ladder.PeerReport {
	ctx, cancel := context.WithTimeout(s.ctx, kernelSync)
	defer cancel()
	s.kernel.Sync(ctx)
	first, last := conn.Events[0], conn.Events[len(conn.Events)-1]
	rep, ok := s.kernel.Report(first.Conn, first.Time, last.Time)
	if !ok {
		return nil
	}
	return rep
}

// wanted reports whether a connection went through a state the filter asks
// for.
func (s *ladderSink) wanted(conn ladder.Connection) bool {
	if s.states == nil || !s.states.HasStates() {
		return true
	}
	for _, e := range conn.Events {
		if s.states.MatchState(e.State) || e.Kind == stack.EventStateChange && s.states.MatchState(e.From) {
			return true
		}
	}
	return false
}

func (s *ladderSink) close(stderr io.Writer) error {
	if n := len(s.collector.Flush()); n > 0 {
		fmt.Fprintf(stderr, "tunstack trace: %d connections had not finished; they are not drawn\n", n)
	}
	return nil
}

// writeFileAtomically writes a file through a temporary one and a rename,
// so that a reader never sees half of it.
func writeFileAtomically(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
