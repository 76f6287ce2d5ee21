package trace

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/kernelstates"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/ladder"
)

// eventSink is where trace's events go: add takes one and says how many
// things it printed (events, or ladders); close ends the output.
type eventSink interface {
	add(line []byte, e *stack.Event) (int, error)
	close(stderr io.Writer) error
}

// textSink prints a line per event.
type textSink struct{ w io.Writer }

func (s *textSink) add(_ []byte, e *stack.Event) (int, error) {
	_, err := fmt.Fprintln(s.w, Line(e))
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
const kernelSync = time.Second

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
