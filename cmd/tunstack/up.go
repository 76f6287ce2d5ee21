package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/flags"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/sdnotify"
)

func (c *cli) upCommand() *cobra.Command {
	var f flags.Up
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the stack on a TUN device, in the foreground",
		Long: `up creates the TUN device, gives the kernel its side of the link, and answers
for the stack's addresses with tunstack's own TCP/IP stack and built-in services
until SIGINT or SIGTERM. Open connections are then closed with FIN, those
still open after --shutdown-grace are reset (at once on a second signal), and
the device (and the namespace, if up created it) is removed.`,
		Example: "  sudo tunstack up\n  sudo tunstack up --netns lab --serve http:8080,echo:7",
		Args:    exactArgs(0, "no arguments"),
		RunE: body(func(cmd *cobra.Command, args []string) error {
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			if err := c.requirePrivileges("tunstack up", cfg.NetNS != ""); err != nil {
				return err
			}
			return c.up(cmd.Context(), cfg, daemon.NewLogger(c.stderr, cfg.Log))
		}),
	}
	f.Register(cmd.Flags())
	return cmd
}

// up runs the daemon until ctx is done (a signal) or the stack fails.
func (c *cli) up(ctx context.Context, cfg daemon.Config, log *slog.Logger) error {
	var force <-chan struct{} // a second signal: reset at once
	if c.secondSignal != nil {
		force = c.secondSignal()
	}
	d, err := daemon.Start(cfg, log, "tunstack up", nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, d.ReadyLine())
	sdnotify.Send(log, sdnotify.Ready+"\nSTATUS="+d.ReadyLine()) // the device is up and serving
	var loopErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "cause", context.Cause(ctx), "grace", cfg.ShutdownGrace)
	case <-d.Done():
		if cause := d.Cause(); daemon.Expected(cause) {
			// Someone removed the device or the control socket: the
			// daemon cannot serve, and stopping is the answer.
			log.Warn("shutting down", "cause", cause)
		} else {
			loopErr = fmt.Errorf("the stack stopped: %w", cause)
			log.Error("shutting down", "cause", loopErr)
		}
	}
	sdnotify.Send(log, sdnotify.Stopping)
	report, stopErr := d.Shutdown(force)
	if loopErr != nil {
		return loopErr
	}
	if stopErr != nil {
		return stopErr
	}
	log.Info("stopped", "closed", report.Closed, "reset", report.Reset)
	return nil
}
