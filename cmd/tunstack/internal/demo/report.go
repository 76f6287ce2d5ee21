package demo

import (
	"fmt"
	"io"
	"strings"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/ladder"
	"github.com/tunstack/tunstack/stack/tcp"
)

// drawing is one connection as the demo shows it.
type drawing struct {
	diagram *ladder.Diagram
	// stack and kernel are each side's state path; kernelKnown says the
	// kernel's came from the kernel, not from its segments.
	stack, kernel []tcp.State
	kernelKnown   bool
}

// draw lays out one connection as a ladder diagram (see package ladder):
// every segment with sequence numbers relative to each side's ISN, both
// sides' states, and the reason of each state change. kernel is what the
// kernel reported of its states, nil if nothing could; link what the
// demo's link did to the stack's segments.
func draw(t connTrace, kernel *ladder.PeerReport, link []ladder.LinkEvent, verbose bool) (drawing, error) {
	d, err := ladder.New(ladder.Connection{Events: t.Events, Peer: kernel, Link: link}, ladder.Options{Collapse: !verbose})
	if err != nil {
		return drawing{}, err
	}
	return drawing{diagram: d, stack: statePath(t.Events), kernel: peerPath(d), kernelKnown: kernel != nil}, nil
}

// write prints the diagram and both state paths under it.
func (dr drawing) write(w io.Writer) {
	dr.diagram.WriteText(w)
	fmt.Fprintf(w, "\nthe stack's states:  %s\n", pathString(dr.stack, ""))
	if dr.kernelKnown {
		fmt.Fprintf(w, "the kernel's states: %s (its own, from %s)\n", pathString(dr.kernel, ""), ladderSource(dr.diagram))
	} else {
		fmt.Fprintf(w, "the kernel's states: %s (inferred from its segments)\n", pathString(dr.kernel, "~"))
	}
}

func ladderSource(d *ladder.Diagram) string {
	for _, s := range []ladder.Side{d.Client, d.Server} {
		if s.Report != nil {
			return s.Report.Source
		}
	}
	return ""
}

// pathString writes a state path, each name followed by mark.
func pathString(path []tcp.State, mark string) string {
	names := make([]string, len(path))
	for i, st := range path {
		names[i] = st.String() + mark
	}
	return strings.Join(names, " → ")
}

// statePath is every state the stack's end went through, in order. A
// passive open's first step, CLOSED to LISTEN, is left out: the listener
// was there before.
func statePath(events []stack.Event) []tcp.State {
	var path []tcp.State
	for _, e := range events {
		if e.Kind != stack.EventStateChange {
			continue
		}
		if len(path) == 0 {
			path = append(path, e.From)
		}
		path = append(path, e.To)
	}
	if len(path) > 1 && path[0] == tcp.Closed && path[1] == tcp.Listen {
		path = path[1:]
	}
	return path
}

// peerPath is the states the diagram shows for the side that is not the
// stack, in order: the kernel's own, or those inferred from its segments
// (left out while unknown).
func peerPath(d *ladder.Diagram) []tcp.State {
	peer := func(client, server ladder.SideState) ladder.SideState {
		if d.Client.Stack {
			return server
		}
		return client
	}
	var path []tcp.State
	add := func(s ladder.SideState) {
		if s.Known && (len(path) == 0 || path[len(path)-1] != s.State) {
			path = append(path, s.State)
		}
	}
	add(peer(d.Client.Initial, d.Server.Initial))
	for _, r := range d.Rows {
		add(peer(r.Client, r.Server))
	}
	return path
}
