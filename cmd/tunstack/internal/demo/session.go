package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/kernelstates"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/ladder"
	"github.com/tunstack/tunstack/stack/tcp"
)

// session is one run of the demo against a started daemon.
type session struct {
	ctx     context.Context
	out     io.Writer
	verbose bool
	setup   Setup
	daemon  *Daemon
	stack   Stack
	link    *link
	rec     *recorder
	kernel  *kernelstates.Tracer // nil: the kernel's states are inferred
}

func (s *session) kernelAddr() netip.Addr { return s.setup.Kernel.Addr() }

// run runs the steps against the started daemon and prints the report.
// It returns how many steps passed.
func (s *session) run(ctx context.Context, steps []step) (passed int, err error) {
	s.ctx, s.stack, s.rec = ctx, s.daemon.Stack, newRecorder()
	if s.link == nil {
		return 0, fmt.Errorf("demo: the daemon did not put the demo's link between its device and its stack")
	}
	events, unsubscribe := s.stack.Subscribe(eventsBuffer)
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		s.rec.consume(events)
	}()
	defer func() {
		unsubscribe()
		<-consumed
	}()

	w := s.out
	fmt.Fprintf(w, "tunstack demo: namespace %s, device %s\n", s.setup.NetNS, s.daemon.Dev)
	fmt.Fprintf(w, "  kernel side %s, %s; the stack answers for %s, %s\n", s.setup.Kernel, s.setup.Kernel6, s.setup.StackIP, s.setup.StackIP6)
	fmt.Fprintf(w, "  services %s; TIME-WAIT lasts 2*MSL = %v here\n", s.daemon.Services, 2*s.setup.MSL)
	tracer, err := kernelstates.Start(kernelstates.Options{
		Kernel: []netip.Addr{s.kernelAddr()}, Stack: []netip.Addr{s.setup.StackIP},
		NetNS: s.setup.NetNS, Prefix: NetNSPrefix,
	})
	if err != nil {
		fmt.Fprintf(w, "  the kernel's states: inferred from its segments (marked ~): %v\n", err)
	} else {
		s.kernel = tracer
		defer tracer.Close()
		fmt.Fprintf(w, "  the kernel's states: its own, from its tracepoint %s (trace instance %s)\n", kernelstates.Source, tracer.Instance())
	}
	if err := waitIPv6Ready(ctx, s.setup.NetNS); err != nil {
		fmt.Fprintf(w, "  warning: %v\n", err)
	}
	for i, st := range steps {
		if ctx.Err() != nil {
			return passed, ErrInterrupted
		}
		ok, err := s.runStep(i, len(steps), st)
		if err != nil {
			return passed, err
		}
		if ok {
			passed++
		}
	}
	return passed, nil
}

// runStep runs one step, draws its connections and checks their state
// paths against RFC 9293's Figure 5.
func (s *session) runStep(i, n int, st step) (bool, error) {
	w := s.out
	s.rec.beginStep(i)
	fmt.Fprintf(w, "\n[%d/%d] %s: %s\n", i+1, n, st.name, st.title)
	out, runErr := st.run(s)
	s.link.clear()
	if s.ctx.Err() != nil {
		return false, ErrInterrupted
	}
	for _, line := range out.lines {
		fmt.Fprintf(w, "      %s\n", line)
	}
	var failures []string
	if runErr != nil {
		failures = append(failures, oneLine(runErr.Error()))
	}
	conns := s.rec.waitConnections(s.ctx, i, st.connections)
	if s.ctx.Err() != nil {
		return false, ErrInterrupted
	}
	if len(conns) != st.connections {
		failures = append(failures, fmt.Sprintf("%d connections, want %d", len(conns), st.connections))
	}
	if s.kernel != nil {
		ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
		if err := s.kernel.Sync(ctx); err != nil {
			failures = append(failures, "reading the kernel's states: "+err.Error())
		}
		cancel()
	}
	kernelKnown := true
	for _, c := range conns {
		f, known := s.show(st, c)
		failures = append(failures, f...)
		kernelKnown = kernelKnown && known
	}
	if out.after != nil {
		for _, line := range out.after() {
			fmt.Fprintf(w, "%s\n", line)
		}
	}
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintf(w, "      FAILED: %s\n", f)
		}
		return false, nil
	}
	switch {
	case st.connections > 0 && kernelKnown:
		fmt.Fprintf(w, "both sides went the way RFC 9293's Figure 5 has it\n")
	case st.connections > 0:
		fmt.Fprintf(w, "the stack went the way RFC 9293's Figure 5 has it (the kernel's states are only inferred)\n")
	}
	return true, nil
}

// show draws one connection of a step and checks it; kernelKnown says
// the kernel's states were its own.
func (s *session) show(st step, c connTrace) (failures []string, kernelKnown bool) {
	var kernel *ladder.PeerReport
	if s.kernel != nil && len(c.Events) > 0 {
		if rep, ok := s.kernel.Report(c.ID, c.Events[0].Time, c.Events[len(c.Events)-1].Time); ok {
			kernel = rep
		}
	}
	fmt.Fprintln(s.out)
	dr, err := draw(c, kernel, s.link.events(c.ID), s.verbose)
	if err != nil {
		return []string{fmt.Sprintf("no diagram: %v", err)}, false
	}
	dr.write(s.out)
	if !slices.Equal(dr.stack, st.stackPath) {
		failures = append(failures, fmt.Sprintf("the stack went %s; Figure 5 has %s", pathString(dr.stack, ""), pathString(st.stackPath, "")))
	}
	if dr.kernelKnown && !slices.Equal(dr.kernel, st.kernelPath) {
		failures = append(failures, fmt.Sprintf("the kernel went %s; Figure 5 has %s", pathString(dr.kernel, ""), pathString(st.kernelPath, "")))
	}
	if st.verify != nil {
		lines, err := st.verify(c)
		for _, line := range lines {
			fmt.Fprintln(s.out, line)
		}
		if err != nil {
			failures = append(failures, err.Error())
		}
	}
	return failures, dr.kernelKnown
}

// connection finds the stack's connection with this remote end in a
// snapshot of the stack.
func (s *session) connection(remote netip.AddrPort) (stack.ConnInfo, bool) {
	for _, info := range s.stack.Connections() {
		if info.Status.ID.Remote == remote && info.Status.State != tcp.Listen {
			return info, true
		}
	}
	return stack.ConnInfo{}, false
}

// runInNamespace runs a program inside the namespace and returns its
// standard output; the error carries the last line of its standard error.
func runInNamespace(ctx context.Context, ns, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return stdout.String(), fmt.Errorf("%s: %w: %s", args[0], err, lastLine(msg))
		}
		return stdout.String(), fmt.Errorf("%s: %w", args[0], err)
	}
	return stdout.String(), nil
}

// waitIPv6Ready waits until no address in ns is tentative: until duplicate
// address detection ends, the kernel does not use its IPv6 address.
func waitIPv6Ready(ctx context.Context, ns string) error {
	deadline := time.Now().Add(ipv6Settle)
	for {
		out, err := exec.CommandContext(ctx, "ip", "-n", ns, "-6", "addr", "show", "tentative").Output()
		if err == nil && strings.TrimSpace(string(out)) == "" {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("IPv6 addresses in %s still tentative after %v", ns, ipv6Settle)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// oneLine keeps a message to one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
