package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/flags"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/kernelstates"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/trace"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

// traceFlags are trace's flags.
type traceFlags struct {
	device flags.Device
	trace.Options
}

func (c *cli) traceCommand() *cobra.Command {
	var o traceFlags
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Watch segments, state changes and drops live, with the RFC rule behind each",
		Long: `trace asks a running daemon for its events and prints them as they happen:
every segment in and out (flags, sequence and acknowledgment numbers relative
to each side's ISN and absolute, window, length, options), every state change,
and every dropped segment, each with the reason the engine gave and the RFC
rule it follows. It runs until Ctrl-C, or --count.

--json prints each event as one JSON object per line, with stable field names.
--ladder draws each connection once its last segment is seen (when it reaches
CLOSED, goes back to LISTEN, or enters TIME-WAIT: what happens in TIME-WAIT
is left out) as a ladder diagram: client and server side
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
			if err := o.Check(); err != nil {
				return usage.Wrap(err)
			}
			return c.trace(cmd.Context(), &o)
		}),
	}
	fs := cmd.Flags()
	o.device.Register(fs, "network namespace of the daemon's device (to find its control socket)")
	fs.StringSliceVarP(&o.States, "state", "s", nil, "only connections in these states (ss's names or the RFC's; repeat or separate with commas)")
	registerEndFlags(fs, &o.Filter)
	fs.BoolVar(&o.JSON, "json", false, "print one JSON object per event")
	fs.BoolVar(&o.Ladder, "ladder", false, "draw each finished connection as a ladder diagram")
	fs.StringVar(&o.SVG, "svg", "", "with --ladder: also write the ladders to this SVG file")
	fs.BoolVarP(&o.Verbose, "verbose", "v", false, "with --ladder: show every segment, not a summary of the data")
	fs.IntVar(&o.Count, "count", 0, "stop after this many events (with --ladder: connections); 0 for no limit")
	fs.BoolVar(&o.KernelStates, "kernel-states", false, "with --ladder: the kernel's own states, from its tracepoint sock:inet_sock_set_state (root)")
	return cmd
}

// trace streams events until ctx ends, --count is reached, or the daemon
// stops.
func (c *cli) trace(ctx context.Context, o *traceFlags) error {
	session, err := control.Open(ctx, o.device.ControlPath(), o.Request(), control.ReplyWait)
	if err := controlError(err, "tunstack trace"); err != nil {
		return err
	}
	defer session.Close()
	stop := context.AfterFunc(ctx, func() { session.Close() })
	defer stop()
	var kernel *kernelstates.Tracer
	if o.KernelStates {
		if kernel, err = trace.StartKernel(o.device.NetNS, o.device.Dev); err != nil {
			fmt.Fprintf(c.stderr, "tunstack trace: the kernel's states are inferred from its segments (~): %s\n", oneLine(err.Error()))
		} else {
			defer kernel.Close()
		}
	}
	// The daemon subscribed before it answered, and the kernel's
	// tracepoint is on: from now on nothing is missed. (Said before the
	// tracepoint was on, a connection opened at once had its kernel
	// states inferred.)
	fmt.Fprintf(c.stderr, "tunstack trace: watching %s (Ctrl-C to stop)\n", o.device.ControlPath())
	return o.Run(ctx, session.Reader, kernel, c.stdout, c.stderr)
}
