package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/flags"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

func (c *cli) dialCommand() *cobra.Command {
	var device flags.Device
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "dial HOST:PORT",
		Short: "Open a TCP connection from the stack, like nc",
		Long: `dial asks a running daemon to open a TCP connection from the stack's address
to HOST:PORT, then copies standard input to the connection and the connection
to standard output. End of input sends FIN while the reply is still read.`,
		Example: "  echo hello | sudo tunstack dial 10.77.0.1:9000",
		Args:    exactArgs(1, "one HOST:PORT"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if err := device.Validate(); err != nil {
				return err
			}
			target, err := control.ParseDialTarget(args[0])
			if err != nil {
				return usage.Wrap(err)
			}
			if timeout <= 0 || timeout > control.MaxDialTimeout {
				return usage.Errorf("--timeout %v: want more than 0 and at most %v", timeout, control.MaxDialTimeout)
			}
			return c.dial(cmd.Context(), device.ControlPath(), target.String(), timeout)
		}),
	}
	device.Register(cmd.Flags(), "network namespace of the daemon's device (to find its control socket)")
	cmd.Flags().DurationVar(&timeout, "timeout", control.DefaultDialTimeout, "give up connecting after this long")
	return cmd
}

// dial connects through the daemon at controlPath and relays stdin and
// stdout until both directions are done.
func (c *cli) dial(ctx context.Context, controlPath, target string, timeout time.Duration) error {
	req := control.Request{Op: control.OpDial, Addr: target, Timeout: timeout.String()}
	session, err := control.Open(ctx, controlPath, req, timeout+control.ReplySlack)
	var refused *control.RequestError
	if errors.As(err, &refused) {
		return fmt.Errorf("dial %s: %s", target, refused.Msg)
	}
	if err := controlError(err, "tunstack dial "+target); err != nil {
		return err
	}
	defer session.Close()
	if err := session.Relay(ctx, c.stdin, c.stdout); err != nil {
		return fmt.Errorf("dial %s: %w", target, err)
	}
	return nil
}
