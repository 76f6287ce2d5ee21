// Package trace prints a daemon's events as `tunstack trace` does: a line
// per segment, state change and drop with the RFC rule behind it
// (line.go), the daemon's JSON lines as they come, or a ladder diagram per
// finished connection (package stack/ladder), with the kernel's own
// states beside it when a kernelstates.Tracer follows them, and an SVG
// file of the latest ladders.
//
// It reads an events session the command opened (package control) and
// registers no flags; it sends nothing to the daemon.
package trace

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/kernelstates"
	"github.com/tunstack/tunstack/stack/ladder"
	"github.com/tunstack/tunstack/tundev"
)

// maxSVGDiagrams bounds the ladders kept for --svg: the file shows the
// latest ones.
const maxSVGDiagrams = 100

// errStreamEnded: the daemon closed the event stream (it stopped).
var errStreamEnded = errors.New("the daemon ended the event stream")

// Options are what `tunstack trace` was asked.
type Options struct {
	// Filter selects connections by their ends; Check fills its States.
	Filter control.Filter
	// States are the states to trace, as people type them (ss's names
	// or the RFC's).
	States  []string
	JSON    bool
	Ladder  bool
	SVG     string // with Ladder: the SVG file
	Verbose bool   // with Ladder: every segment, not a summary of the data
	// Count stops after this many events (with Ladder: connections); 0
	// for no limit.
	Count int
	// KernelStates puts the kernel's own states into the ladders.
	KernelStates bool
}

// Check validates the options and fills in the filter's states. Its
// errors are about the command line.
func (o *Options) Check() error {
	if o.SVG != "" || o.KernelStates {
		o.Ladder = true
	}
	if o.JSON && o.Ladder {
		return errors.New("--json and --ladder (or --svg) do not go together")
	}
	if o.Count < 0 {
		return fmt.Errorf("--count %d: want 0 or more", o.Count)
	}
	states, err := control.ParseStates(o.States)
	if err != nil {
		return err
	}
	o.Filter.States = states
	_, err = o.Filter.Compile()
	return err
}

// Request is the events request for the daemon. A ladder needs every
// event of its connection: its states select whole connections here
// (ladderStates), not events at the daemon.
func (o *Options) Request() control.Request {
	filter := o.Filter
	if o.Ladder {
		filter.States = nil
	}
	return control.Request{Op: control.OpEvents, Filter: &filter}
}

// ladderStates selects the connections a ladder is drawn for.
func (o *Options) ladderStates() *control.Matcher {
	states := control.Filter{States: o.Filter.States}
	m, _ := states.Compile()
	return m
}

// Run prints the events of an events session, read from events, until ctx
// ends, Count is reached, or the daemon ends the stream. kernel, if not
// nil, gives the ladders the kernel's own states.
func (o *Options) Run(ctx context.Context, events *bufio.Reader, kernel *kernelstates.Tracer, stdout, stderr io.Writer) error {
	var out eventSink
	switch {
	case o.JSON:
		out = &jsonSink{w: stdout}
	case o.Ladder:
		out = &ladderSink{ctx: ctx, kernel: kernel, w: stdout, svg: o.SVG, states: o.ladderStates(), opts: ladder.Options{Collapse: !o.Verbose}}
	default:
		out = &textSink{w: stdout}
	}
	shown := 0
	for o.Count == 0 || shown < o.Count {
		line, err := events.ReadBytes('\n')
		if err != nil {
			if ctx.Err() != nil {
				return out.close(stderr)
			}
			if errors.Is(err, io.EOF) {
				return errors.Join(errStreamEnded, out.close(stderr))
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
	return out.close(stderr)
}

// StartKernel follows the kernel's states on the daemon's device dev in
// namespace netns, for the ladders.
func StartKernel(netns, dev string) (*kernelstates.Tracer, error) {
	addrs, err := tundev.LinkAddrs(netns, dev)
	if err != nil {
		return nil, err
	}
	return kernelstates.Start(kernelstates.Options{Kernel: addrs, NetNS: netns, Prefix: "tunstack-trace"})
}
