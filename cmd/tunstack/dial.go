package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

func (c *cli) dialCommand() *cobra.Command {
	var device deviceFlags
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
			if err := device.validate(); err != nil {
				return err
			}
			target, err := validateDialTarget(args[0])
			if err != nil {
				return err
			}
			if timeout <= 0 || timeout > maxDialTimeout {
				return usageErrorf("--timeout %v: want more than 0 and at most %v", timeout, maxDialTimeout)
			}
			return c.dial(cmd.Context(), device.controlPath(), target.String(), timeout)
		}),
	}
	device.register(cmd.Flags(), "network namespace of the daemon's device (to find its control socket)")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultDialTimeout, "give up connecting after this long")
	return cmd
}

// dial connects through the daemon at controlPath and relays stdin and
// stdout until both directions are done.
func (c *cli) dial(ctx context.Context, controlPath, target string, timeout time.Duration) error {
	req := controlRequest{Op: opDial, Addr: target, Timeout: timeout.String()}
	session, err := controlRequestTo(ctx, controlPath, req, timeout+replySlack)
	var refused *requestError
	switch {
	case errors.As(err, &refused):
		return fmt.Errorf("dial %s: %s", target, refused.msg)
	case errors.Is(err, errNoDaemon):
		return fmt.Errorf("%w (start one with: sudo tunstack up)", err)
	case errors.Is(err, errControlDenied):
		return permissionHint(err, "tunstack dial "+target)
	case err != nil:
		return err
	}
	defer session.Close()
	return relayStdio(ctx, session, c.stdin, c.stdout, target)
}

// relayStdio copies stdin to the session, then half-closes it, while it
// copies the session to stdout.
func relayStdio(ctx context.Context, session *controlSession, stdin io.Reader, stdout io.Writer, target string) error {
	var (
		wg       sync.WaitGroup
		sendErr  error
		recvErr  error
		bothDone = make(chan struct{})
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if _, err := io.Copy(session.conn, stdin); err != nil {
			sendErr = err
			return
		}
		sendErr = session.conn.CloseWrite()
	}()
	go func() {
		defer wg.Done()
		_, recvErr = io.Copy(stdout, session.reader)
	}()
	go func() {
		wg.Wait()
		close(bothDone)
	}()
	select {
	case <-bothDone:
	case <-ctx.Done():
		return fmt.Errorf("dial %s: interrupted", target)
	}
	if recvErr != nil {
		return fmt.Errorf("dial %s: receiving: %w", target, recvErr)
	}
	if sendErr != nil {
		return fmt.Errorf("dial %s: sending: connection closed: %w", target, sendErr)
	}
	return nil
}
