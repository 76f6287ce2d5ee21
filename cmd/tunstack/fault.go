package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/flags"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack/fault"
)

func (c *cli) faultCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fault",
		Short: "Add, list and remove faults on the stack's ports while the daemon runs",
		Long: `fault changes what a running daemon does to the segments of a port: refuse
or drop SYNs, hold the SYN-ACK or the accept, lose, delay, duplicate, reorder,
slice or pace segments, close the window, never send the FIN, reset or forget
connections, unplug the cable. See "Disturbing a connection" in the README.`,
	}
	cmd.AddCommand(c.faultAddCommand(), c.faultListCommand(), c.faultRemoveCommand())
	return cmd
}

func (c *cli) faultAddCommand() *cobra.Command {
	var device flags.Device
	var spec control.FaultSpec
	var toxicity float64
	var replace bool
	types := make([]string, 0, len(fault.Types()))
	for _, t := range fault.Types() {
		types = append(types, string(t))
	}
	cmd := &cobra.Command{
		Use:   "add PORT TYPE [ATTR=VALUE...]",
		Short: "Put a fault in force on one of the stack's ports",
		Long: "add puts a fault in force on PORT at once; new connections draw whether it\n" +
			"applies to them (--toxicity). TYPE is one of:\n  " + strings.Join(types, ", ") + ".",
		Example: "  sudo tunstack fault add 80 drop_syn count=2\n  sudo tunstack fault add 8080 latency latency=200ms jitter=20ms --stream downstream",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usage.Errorf("%s wants PORT TYPE [ATTR=VALUE...]", cmd.CommandPath())
			}
			return nil
		},
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if err := device.Validate(); err != nil {
				return err
			}
			port, err := strconv.ParseUint(args[0], 10, 16)
			if err != nil || port == 0 {
				return usage.Errorf("port %q: want 1-65535", args[0])
			}
			spec.Port, spec.Type = uint16(port), args[1]
			spec.Attrs = map[string]string{}
			for _, kv := range args[2:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usage.Errorf("%q: want ATTR=VALUE", kv)
				}
				spec.Attrs[k] = v
			}
			if cmd.Flags().Changed("toxicity") {
				spec.Toxicity = &toxicity
			}
			if _, err := spec.Fault(); err != nil {
				return usage.Wrap(err)
			}
			reply, err := c.manage(cmd.Context(), device, control.Request{Op: control.OpFaultAdd, Fault: &spec, Replace: replace})
			if err != nil {
				return err
			}
			for _, f := range reply.Faults {
				fmt.Fprintln(c.stdout, f)
			}
			return nil
		}),
	}
	device.Register(cmd.Flags(), "network namespace of the daemon's device (to find its control socket)")
	cmd.Flags().StringVar(&spec.Name, "name", "", "the fault's name (default TYPE_STREAM)")
	cmd.Flags().StringVar(&spec.Stream, "stream", "downstream", "the data it acts on: downstream (to the client), upstream (to the server) or both")
	cmd.Flags().Float64Var(&toxicity, "toxicity", 1, "the share of new connections it applies to, 0 to 1")
	cmd.Flags().BoolVar(&replace, "replace", false, "change the fault of the same name instead of failing")
	return cmd
}

func (c *cli) faultListCommand() *cobra.Command {
	return c.listCommand("List the faults in force", control.OpFaultList, func(r control.Reply) (any, []string) {
		lines := make([]string, 0, len(r.Faults))
		for _, f := range r.Faults {
			lines = append(lines, fmt.Sprint(f))
		}
		if r.Faults == nil {
			r.Faults = []control.FaultSpec{} // [] in JSON, not null
		}
		return r.Faults, lines
	})
}

func (c *cli) faultRemoveCommand() *cobra.Command {
	var device flags.Device
	var all bool
	cmd := &cobra.Command{
		Use:     "rm NAME... | --all",
		Short:   "Take faults out of force",
		Example: "  sudo tunstack fault rm drop_syn_downstream\n  sudo tunstack fault rm --all",
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if err := device.Validate(); err != nil {
				return err
			}
			if all == (len(args) > 0) {
				return usage.Errorf("%s wants fault names or --all", cmd.CommandPath())
			}
			if all {
				_, err := c.manage(cmd.Context(), device, control.Request{Op: control.OpFaultRemove, All: true})
				return err
			}
			for _, name := range args {
				if _, err := c.manage(cmd.Context(), device, control.Request{Op: control.OpFaultRemove, Name: name}); err != nil {
					return err
				}
			}
			return nil
		}),
	}
	device.Register(cmd.Flags(), "network namespace of the daemon's device (to find its control socket)")
	cmd.Flags().BoolVar(&all, "all", false, "remove every fault")
	return cmd
}

// manage sends one request of fault or forward to the daemon.
// listCommand is the list subcommand of fault and forward: it sends op to
// the daemon and prints the reply's items, a line each or (--json) as
// one JSON array.
func (c *cli) listCommand(short, op string, items func(control.Reply) (asJSON any, lines []string)) *cobra.Command {
	var device flags.Device
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: short,
		Args:  exactArgs(0, "no arguments"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if err := device.Validate(); err != nil {
				return err
			}
			reply, err := c.manage(cmd.Context(), device, control.Request{Op: op})
			if err != nil {
				return err
			}
			all, lines := items(reply)
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(all)
			}
			for _, line := range lines {
				fmt.Fprintln(c.stdout, line)
			}
			return nil
		}),
	}
	device.Register(cmd.Flags(), "network namespace of the daemon's device (to find its control socket)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (c *cli) manage(ctx context.Context, device flags.Device, req control.Request) (control.Reply, error) {
	session, err := control.Open(ctx, device.ControlPath(), req, control.ReplyWait)
	if err := controlError(err, "tunstack "+strings.ReplaceAll(req.Op, "-", " ")); err != nil {
		return control.Reply{}, err
	}
	session.Close()
	return session.Reply, nil
}
