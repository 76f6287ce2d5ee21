package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/tundev"
)

const (
	// MSL keeps TIME-WAIT (2*MSL) short enough to watch end.
	MSL = 500 * time.Millisecond
	// NetNSPrefix starts the name of every demo's namespace, and of its
	// trace instance.
	NetNSPrefix = "tunstack-demo"
	// eventsBuffer holds the events of a step while the recorder is busy.
	eventsBuffer = 8192
	// connectionsSettle bounds the wait for a step's connections to end.
	connectionsSettle = 2*MSL + 5*time.Second
	// stepTimeout bounds each wait of a step for the other side.
	stepTimeout = 5 * time.Second
	// ipv6Settle bounds the wait for duplicate address detection.
	ipv6Settle = 5 * time.Second
)

// Errors of Run.
var (
	ErrInterrupted = errors.New("demo interrupted")
	ErrUnknownStep = errors.New("unknown step")
)

// Stack is what the demo needs of the running stack.
type Stack interface {
	Listen(network, address string) (net.Listener, error)
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	Connections() []stack.ConnInfo
	Subscribe(buffer int) (<-chan stack.Event, func())
}

// Setup is the daemon the demo asks its caller to start: a device in the
// namespace NetNS (created for it), the kernel's side and the stack's
// addresses, the MSL, and the demo's link, which the daemon must put
// between its device and its stack.
type Setup struct {
	NetNS             string
	Kernel, Kernel6   netip.Prefix
	StackIP, StackIP6 netip.Addr
	MSL               time.Duration
	WrapLink          func(stack.Link) stack.Link
}

// Daemon is what the caller started for a Setup.
type Daemon struct {
	Stack    Stack
	Dev      string
	Services string // as --serve names them, for the header
	// Stop stops the daemon and removes its device and namespace.
	Stop func() error
}

// Options are what Run needs.
type Options struct {
	Out     io.Writer
	Verbose bool // every segment, not a line for a run of data segments
	// Steps are the names of the steps to run, in order; all when empty.
	Steps []string
	Tools Installer
	Start func(Setup) (*Daemon, error)
}

// List writes the steps' names and what each shows.
func List(w io.Writer) {
	for _, st := range steps {
		fmt.Fprintf(w, "%-20s %s\n", st.name, st.title)
	}
}

// CheckSteps checks that every name is a step's.
func CheckSteps(names []string) error {
	_, err := selectSteps(names)
	return err
}

func selectSteps(names []string) ([]step, error) {
	if len(names) == 0 {
		return steps, nil
	}
	var out []step
	for _, name := range names {
		i := stepIndex(name)
		if i < 0 {
			known := make([]string, len(steps))
			for j, st := range steps {
				known[j] = st.name
			}
			return nil, fmt.Errorf("%w %q (the steps: %s)", ErrUnknownStep, name, strings.Join(known, ", "))
		}
		out = append(out, steps[i])
	}
	return out, nil
}

// Run runs the tour. Everything it creates is removed before it returns.
func Run(ctx context.Context, opts Options) error {
	chosen, err := selectSteps(opts.Steps)
	if err != nil {
		return err
	}
	w := opts.Out
	if err := opts.Tools.ensure(ctx, w, demoTools); err != nil {
		return err
	}
	// A demo killed before it could clean up left its namespace behind.
	if stale, err := tundev.RemoveStaleNetNS(NetNSPrefix); err == nil && len(stale) > 0 {
		fmt.Fprintf(w, "removed %d namespace(s) left by an earlier demo that was killed: %s\n", len(stale), strings.Join(stale, ", "))
	}
	sub, err := takeSubnet()
	if err != nil {
		return err
	}
	defer sub.release()
	s := &session{out: w, verbose: opts.Verbose}
	s.setup = Setup{
		NetNS:  tundev.UniqueNetNSName(NetNSPrefix),
		Kernel: sub.kernel(), StackIP: sub.stack(),
		Kernel6: sub.kernel6(), StackIP6: sub.stack6(),
		MSL: MSL,
		WrapLink: func(l stack.Link) stack.Link {
			s.link = newLink(l)
			return s.link
		},
	}
	d, err := opts.Start(s.setup)
	if err != nil {
		return err
	}
	s.daemon = d
	passed, runErr := s.run(ctx, chosen)
	stopErr := d.Stop()
	if _, err := os.Stat("/run/netns/" + s.setup.NetNS); err == nil {
		stopErr = errors.Join(stopErr, tundev.DeleteNetNS(s.setup.NetNS))
	}
	if runErr == nil && stopErr == nil {
		fmt.Fprintf(w, "\ntunstack: demo done: %d of %d steps passed; daemon, device %s, namespace %s and trace instance removed\n",
			passed, len(chosen), d.Dev, s.setup.NetNS)
	}
	switch {
	case errors.Is(runErr, ErrInterrupted) && stopErr == nil:
		return fmt.Errorf("%w: daemon, device and namespace removed", runErr)
	case runErr != nil:
		return errors.Join(runErr, stopErr)
	case stopErr != nil:
		return fmt.Errorf("demo cleanup: %w", stopErr)
	case passed < len(chosen):
		return fmt.Errorf("demo: %d of %d steps failed", len(chosen)-passed, len(chosen))
	}
	return nil
}
