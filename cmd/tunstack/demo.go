package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tunstack/tunstack/tundev"
)

const (
	// demoMSL keeps TIME-WAIT (2*MSL) short enough to watch end.
	demoMSL = 500 * time.Millisecond
	// demoEventsBuffer holds the events of a step while the recorder is busy.
	demoEventsBuffer = 8192
	// connectionsSettle bounds the wait for a step's connections to close.
	connectionsSettle = 2*demoMSL + 5*time.Second
	// ipv6Settle bounds the wait for duplicate address detection.
	ipv6Settle = 5 * time.Second
	demoEcho   = "hello from the kernel's side\n"
)

var errInterrupted = errors.New("demo interrupted")

func (c *cli) demoCommand() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show the stack at work in a private network namespace",
		Long: `demo creates a network namespace of its own, starts the stack on a TUN device
in it, and runs curl, nc and ping there against the stack's addresses. For each
TCP connection it shows the segments of the handshake and the teardown and
every state change with the reason the engine gave. It removes the daemon,
the device and the namespace when it ends, also on failure and on Ctrl-C.
Missing tools (curl, nc, ping, ip) are installed with apt-get.`,
		Args: exactArgs(0, "no arguments"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if err := c.requirePrivileges("tunstack demo", true); err != nil {
				return err
			}
			return c.demo(cmd.Context(), systemInstaller, verbose)
		}),
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show every segment, not only the handshake and the teardown")
	return cmd
}

// demoStep is one program run in the namespace.
type demoStep struct {
	args  []string
	stdin string
	// connections is how many TCP connections it makes.
	connections int
	// check reads the program's output and says what happened in a few lines.
	check func(stdout string) ([]string, error)
}

func demoSteps(cfg upConfig) []demoStep {
	steps := []demoStep{
		{args: []string{"curl", "-sS", "-i", "--max-time", "10", "http://" + cfg.IP.String() + "/"}, connections: 1, check: checkHTTP},
	}
	if cfg.IP6.IsValid() {
		steps = append(steps, demoStep{args: []string{"curl", "-sS", "-i", "--max-time", "10", "-g", "http://[" + cfg.IP6.String() + "]/"}, connections: 1, check: checkHTTP})
	}
	steps = append(steps,
		demoStep{args: []string{"nc", "-N", "-w", "5", cfg.IP.String(), "7"}, stdin: demoEcho, connections: 1, check: checkEcho},
		demoStep{args: []string{"ping", "-c", "2", "-W", "2", cfg.IP.String()}, check: checkPing},
	)
	if cfg.IP6.IsValid() {
		steps = append(steps, demoStep{args: []string{"ping", "-6", "-c", "2", "-W", "2", cfg.IP6.String()}, check: checkPing})
	}
	return steps
}

// demoNetNSPrefix starts the name of every demo's namespace.
const demoNetNSPrefix = "tunstack-demo"

// demo runs the tour. Everything it creates is removed before it returns.
func (c *cli) demo(ctx context.Context, tools toolInstaller, verbose bool) error {
	if err := tools.ensure(ctx, c.stdout, demoTools); err != nil {
		return err
	}
	// A demo killed before it could clean up left its namespace behind.
	if stale, err := tundev.RemoveStaleNetNS(demoNetNSPrefix); err == nil && len(stale) > 0 {
		fmt.Fprintf(c.stdout, "removed %d namespace(s) left by an earlier demo that was killed: %s\n", len(stale), strings.Join(stale, ", "))
	}
	ns := tundev.UniqueNetNSName(demoNetNSPrefix)
	flags := defaultUpFlags()
	flags.device.netns = ns
	flags.msl = demoMSL
	cfg, err := flags.config()
	if err != nil {
		return err
	}
	// Warnings only: the report is the output.
	log := newLogger(c.stderr, logConfig{Level: slog.LevelWarn, Format: "text"})
	d, err := startDaemon(cfg, log, "tunstack demo")
	if err != nil {
		return err
	}
	passed, steps, runErr := c.demoSteps(ctx, d, verbose)
	stopErr := d.stop()
	if _, err := os.Stat("/run/netns/" + ns); err == nil {
		stopErr = errors.Join(stopErr, tundev.DeleteNetNS(ns))
	}
	if runErr == nil && stopErr == nil {
		fmt.Fprintf(c.stdout, "\ntunstack: demo done: %d of %d steps passed; daemon, device %s and namespace %s removed\n", passed, steps, cfg.Dev, ns)
	}
	switch {
	case errors.Is(runErr, errInterrupted) && stopErr == nil:
		return fmt.Errorf("%w: daemon, device and namespace removed", runErr)
	case runErr != nil:
		return errors.Join(runErr, stopErr)
	case stopErr != nil:
		return fmt.Errorf("demo cleanup: %w", stopErr)
	case passed < steps:
		return fmt.Errorf("demo: %d of %d steps failed", steps-passed, steps)
	}
	return nil
}

// demoSteps runs the steps against the started daemon and prints the
// report. It returns how many steps passed out of how many.
func (c *cli) demoSteps(ctx context.Context, d *daemon, verbose bool) (passed, total int, err error) {
	cfg := d.cfg
	rec := newRecorder()
	events, unsubscribe := d.stack.Subscribe(demoEventsBuffer)
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		rec.consume(events)
	}()
	defer func() {
		unsubscribe()
		<-consumed
	}()

	w := c.stdout
	fmt.Fprintf(w, "tunstack demo: namespace %s, device %s\n", cfg.NetNS, cfg.Dev)
	fmt.Fprintf(w, "  kernel side %s; the stack answers for %s\n", strings.Join(prefixList(cfg.kernelPrefixes()), ", "), strings.Join(addrList(cfg.stackAddrs()), ", "))
	fmt.Fprintf(w, "  services %s; TIME-WAIT lasts 2*MSL = %v here\n", serviceList(cfg.Services), 2*cfg.MSL)
	if cfg.IP6.IsValid() {
		if err := waitIPv6Ready(ctx, cfg.NetNS); err != nil {
			fmt.Fprintf(w, "  warning: %v\n", err)
		}
	}

	steps := demoSteps(cfg)
	for i, step := range steps {
		if ctx.Err() != nil {
			return passed, len(steps), errInterrupted
		}
		rec.beginStep(i)
		fmt.Fprintf(w, "\n[%d/%d] ip netns exec %s %s\n", i+1, len(steps), cfg.NetNS, strings.Join(step.args, " "))
		stdout, runErr := runInNamespace(ctx, cfg.NetNS, step.stdin, step.args...)
		if ctx.Err() != nil {
			return passed, len(steps), errInterrupted
		}
		lines, checkErr := step.check(stdout)
		if runErr != nil {
			checkErr = runErr
		}
		for _, line := range lines {
			fmt.Fprintf(w, "      %s\n", line)
		}
		if checkErr != nil {
			fmt.Fprintf(w, "      FAILED: %s\n", oneLine(checkErr.Error()))
		} else {
			passed++
		}
		conns := waitConnections(ctx, rec, i, step.connections)
		for _, t := range conns {
			fmt.Fprintln(w)
			writeConnection(w, t, verbose)
		}
	}
	return passed, len(steps), nil
}

// waitConnections waits until the step's connections have appeared and
// closed, or connectionsSettle has passed, and returns them.
func waitConnections(ctx context.Context, rec *recorder, step, want int) []connTrace {
	deadline := time.Now().Add(connectionsSettle)
	for {
		conns, done := rec.connections(step)
		if (len(conns) >= want && done) || time.Now().After(deadline) || ctx.Err() != nil {
			return conns
		}
		time.Sleep(20 * time.Millisecond)
	}
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

// checkHTTP reads `curl -i` output: the status line and the body's size.
func checkHTTP(stdout string) ([]string, error) {
	head, body, _ := strings.Cut(strings.ReplaceAll(stdout, "\r\n", "\n"), "\n\n")
	status, _, _ := strings.Cut(head, "\n")
	if !strings.HasPrefix(status, "HTTP/") {
		return nil, fmt.Errorf("no HTTP response")
	}
	lines := []string{fmt.Sprintf("%s  (%d bytes of body)", status, len(body))}
	if fields := strings.Fields(status); len(fields) < 2 || fields[1] != "200" {
		return lines, fmt.Errorf("status %q, want 200", status)
	}
	return lines, nil
}

// checkEcho checks that the echo service sent back what nc sent.
func checkEcho(stdout string) ([]string, error) {
	lines := []string{
		fmt.Sprintf("sent     %q", demoEcho),
		fmt.Sprintf("received %q", stdout),
	}
	if stdout != demoEcho {
		return lines, fmt.Errorf("echo returned something else")
	}
	return lines, nil
}

// checkPing keeps ping's summary: packets sent and received, round trip times.
func checkPing(stdout string) ([]string, error) {
	var lines []string
	received := false
	for _, line := range strings.Split(stdout, "\n") {
		line = strings.TrimSpace(line)
		if strings.Contains(line, "packets transmitted") {
			lines = append(lines, line)
			received = !strings.Contains(line, " 0 received")
		}
		if strings.HasPrefix(line, "rtt ") || strings.HasPrefix(line, "round-trip") {
			lines = append(lines, line)
		}
	}
	if !received {
		return lines, fmt.Errorf("no echo reply")
	}
	return lines, nil
}

func serviceList(specs []serviceSpec) string {
	if len(specs) == 0 {
		return "none"
	}
	s := make([]string, len(specs))
	for i, spec := range specs {
		s[i] = spec.String()
	}
	return strings.Join(s, ", ")
}
