package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/flags"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/forward"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

func (c *cli) forwardCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "forward",
		Short: "Add, list and remove forwards to real servers while the daemon runs",
	}
	cmd.AddCommand(c.forwardAddCommand(), c.forwardListCommand(), c.forwardRemoveCommand())
	return cmd
}

func (c *cli) forwardAddCommand() *cobra.Command {
	var device flags.Device
	cmd := &cobra.Command{
		Use:     "add [ADDR:]PORT=HOST:PORT",
		Short:   "Relay a port of the stack to a real server, as up --forward does",
		Example: "  sudo tunstack forward add 8080=10.77.0.1:8000",
		Args:    exactArgs(1, "one [ADDR:]PORT=HOST:PORT"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if err := device.Validate(); err != nil {
				return err
			}
			if _, err := forward.Parse(args[0]); err != nil {
				return usage.Wrap(err)
			}
			_, err := c.manage(cmd.Context(), device, control.Request{Op: control.OpForwardAdd, Forward: args[0]})
			return err
		}),
	}
	device.Register(cmd.Flags(), "network namespace of the daemon's device (to find its control socket)")
	return cmd
}

func (c *cli) forwardListCommand() *cobra.Command {
	return c.listCommand("List the forwards", control.OpForwardList, func(r control.Reply) (any, []string) {
		lines := make([]string, 0, len(r.Forwards))
		for _, f := range r.Forwards {
			lines = append(lines, fmt.Sprintf("%-24s -> %-24s %d active, %d relayed", f.Listen, f.Upstream, f.Active, f.Total))
		}
		if r.Forwards == nil {
			r.Forwards = []control.ForwardStatus{} // [] in JSON, not null
		}
		return r.Forwards, lines
	})
}

func (c *cli) forwardRemoveCommand() *cobra.Command {
	var device flags.Device
	cmd := &cobra.Command{
		Use:   "rm PORT",
		Short: "Stop a forward; connections being relayed go on until they end",
		Args:  exactArgs(1, "one PORT"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if err := device.Validate(); err != nil {
				return err
			}
			port, err := strconv.ParseUint(args[0], 10, 16)
			if err != nil || port == 0 {
				return usage.Errorf("port %q: want 1-65535", args[0])
			}
			_, err = c.manage(cmd.Context(), device, control.Request{Op: control.OpForwardRm, Port: uint16(port)})
			return err
		}),
	}
	device.Register(cmd.Flags(), "network namespace of the daemon's device (to find its control socket)")
	return cmd
}
