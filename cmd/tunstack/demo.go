package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/demo"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/flags"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/services"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

func (c *cli) demoCommand() *cobra.Command {
	var verbose, list bool
	cmd := &cobra.Command{
		Use:   "demo [STEP...]",
		Short: "Show TCP's states on both ends of real connections, in a private network namespace",
		Long: `demo creates a network namespace of its own, starts the stack on a TUN device
in it, and makes connections between the stack and the Linux kernel there, one
lesson per step: the kernel closing first, the stack closing first and waiting
out 2MSL, both closing at once through CLOSING, a RST from a closed port, and a
lost SYN sent again by the retransmission timer; then ping over IPv4 and IPv6.
Each connection is drawn as a ladder diagram: every segment, the stack's states
with the RFC rule of each change, and beside them the kernel's own states, read
from its tracepoint sock:inet_sock_set_state (tracefs, mounted if need be), or
inferred from its segments (marked ~) where tracefs cannot be used. Each step
checks both state paths against RFC 9293's Figure 5.

With STEP names it runs only those (--list names them). It removes the daemon,
the device, the namespace and its trace instance when it ends, also on failure
and on Ctrl-C. Missing tools (nc, ping, ip) are installed with apt-get.`,
		Example: "  sudo tunstack demo\n  sudo tunstack demo simultaneous-close\n  tunstack demo --list",
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if list {
				demo.List(c.stdout)
				return nil
			}
			if err := demo.CheckSteps(args); err != nil {
				return usage.Wrap(err)
			}
			if err := c.requirePrivileges("tunstack demo", true); err != nil {
				return err
			}
			return c.demo(cmd.Context(), demo.SystemInstaller, args, verbose)
		}),
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show every segment, not only the handshake and the teardown")
	cmd.Flags().BoolVar(&list, "list", false, "name the steps and what each shows")
	return cmd
}

// demo runs the tour on a daemon started as the demo asks.
func (c *cli) demo(ctx context.Context, tools demo.Installer, steps []string, verbose bool) error {
	// Warnings only: the report is the output.
	log := daemon.NewLogger(c.stderr, daemon.LogConfig{Level: slog.LevelWarn, Format: "text"})
	return demo.Run(ctx, demo.Options{
		Out: c.stdout, Verbose: verbose, Steps: steps, Tools: tools,
		Start: func(s demo.Setup) (*demo.Daemon, error) {
			f := flags.DefaultUp()
			f.Device.NetNS = s.NetNS
			f.Addr, f.IP = s.Kernel.String(), s.StackIP.String()
			f.Addr6, f.IP6 = s.Kernel6.String(), s.StackIP6.String()
			f.MSL = s.MSL
			cfg, err := f.Config()
			if err != nil {
				return nil, err
			}
			d, err := daemon.Start(cfg, log, "tunstack demo", s.WrapLink)
			if err != nil {
				return nil, err
			}
			return &demo.Daemon{Stack: d.Stack(), Dev: cfg.Dev, Services: services.List(cfg.Services), Stop: d.Stop}, nil
		},
	})
}
