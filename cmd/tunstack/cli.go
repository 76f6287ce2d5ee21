package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/flags"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/version"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed: no privileges, connection refused, ...
	exitUsage   = 2 // the command line is wrong: unknown flag, malformed address, ...
)

// cli holds what the commands reach outside themselves, so tests can run
// a command as a function with their own streams and a fake privilege check.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// capabilities reports the process's effective capabilities.
	capabilities func() (capabilitySet, error)
	// secondSignal, if not nil, returns a channel that a second SIGINT or
	// SIGTERM closes (signals.go): up then resets what is still open.
	secondSignal func() <-chan struct{}
}

func newCLI(stdin io.Reader, stdout, stderr io.Writer) *cli {
	return &cli{stdin: stdin, stdout: stdout, stderr: stderr, capabilities: effectiveCapabilities}
}

// commandError marks an error returned by a command's body, as opposed to
// one cobra found while parsing the command line.
type commandError struct{ err error }

func (e *commandError) Error() string { return e.err.Error() }
func (e *commandError) Unwrap() error { return e.err }

// body wraps a command's RunE so that run can tell its errors from cobra's.
func body(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := f(cmd, args); err != nil {
			return &commandError{err}
		}
		return nil
	}
}

// run executes the command line args and returns the exit code. Errors are
// printed as one line on stderr, prefixed "tunstack: ".
func (c *cli) run(ctx context.Context, args []string) int {
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(c.stderr, "tunstack: %s\n", oneLine(err.Error()))
	var fromBody *commandError
	switch {
	case usage.Is(err):
		return exitUsage
	case errors.As(err, &fromBody):
		return exitFailure
	default:
		// cobra's own parse errors: point at the help rather than dump it.
		fmt.Fprintf(c.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
}

// oneLine keeps a message to one line whatever an error below us put in it.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "tunstack",
		Short: "A userspace TCP/IP stack on a Linux TUN device",
		Long: `tunstack answers TCP and ICMP for a virtual IP address with its own TCP/IP
stack, on a TUN device that the kernel routes to. Start with 'sudo tunstack demo'.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Get().String(), // --version, as `tunstack version`
		// A bare "tunstack" or "tunstack nosuchcommand" is a usage error.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usage.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return usage.Errorf("missing command: one of up, dial, ss, trace, demo, bench, cleanup (see 'tunstack --help')")
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usage.Wrap(flags.ValueError(err))
	})
	root.AddCommand(c.upCommand(), c.dialCommand(), c.demoCommand(), c.benchCommand(), c.ssCommand(), c.traceCommand(), c.versionCommand(), c.cleanupCommand(), c.faultCommand(), c.forwardCommand())
	refuseRepeats(root)
	return root
}

// refuseRepeats makes every single-valued flag of cmd and its
// subcommands refuse to be given twice (flags.RefuseRepeats).
func refuseRepeats(cmd *cobra.Command) {
	flags.RefuseRepeats(cmd.Flags())
	flags.RefuseRepeats(cmd.PersistentFlags())
	for _, sub := range cmd.Commands() {
		refuseRepeats(sub)
	}
}

// exactArgs is cobra.ExactArgs as a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			got := "none"
			if len(args) > 0 {
				got = strings.Join(args, " ")
			}
			return usage.Errorf("%s takes %s; got: %s", cmd.CommandPath(), what, got)
		}
		return nil
	}
}

// controlError adds to an error from the control client what the user can do
// about it.
func controlError(err error, invokedAs string) error {
	var refused *control.RequestError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &refused):
		return fmt.Errorf("the daemon refused: %s", refused.Msg)
	case errors.Is(err, control.ErrNoDaemon):
		return fmt.Errorf("%w (start one with: sudo tunstack up)", err)
	case errors.Is(err, control.ErrDenied):
		return usage.RunAsRoot(err, invokedAs)
	}
	return err
}
