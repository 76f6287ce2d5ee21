package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/flags"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/ss"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

// ssFlags are ss's flags.
type ssFlags struct {
	device flags.Device
	ss.Options
	udp bool // -u: UDP sockets instead of TCP connections
}

func (c *cli) ssCommand() *cobra.Command {
	var o ssFlags
	cmd := &cobra.Command{
		Use:   "ss [state STATE]...",
		Short: "List the stack's connections with their timers, like ss -tani",
		Long: `ss asks a running daemon for its TCP connections and prints them as ss -tani
does: state, Recv-Q and Send-Q, both ends, how long the connection has been in
its state, and below each one the engine's view: congestion control, window
scales, RTO, RTT and its variance, MSS, cwnd and ssthresh (in segments),
SACK holes, every running timer with its time left (retransmit and persist
with their backoff, keepalive, time-wait, fin-wait-2, delayed-ack, ...), and
the states the connection went through.

Without a state filter it lists every connection but listeners; -l lists the
listeners, -a everything. States take ss's names (established, syn-recv,
time-wait, ..., and the groups connected, synchronized, bucket, big) or the
RFC's. As in ss, the source port (--sport) is the stack's end and the
destination port (--dport) the peer's.

--stuck lists the connections that have stayed longer than --min-age in
SYN-RECEIVED, FIN-WAIT-2, CLOSE-WAIT or LAST-ACK, and what each waits for.

-u lists UDP sockets instead, as ss -uan does: connected ones (ESTAB), with
-a the unconnected ones (UNCONN) too, with -l those only; each with the
bytes and datagrams waiting to be read and the datagrams its full receive
queue dropped.`,
		Example: `  sudo tunstack ss
  sudo tunstack ss state time-wait
  sudo tunstack ss -s established --sport 80 --json
  sudo tunstack ss --stuck --min-age 30s
  sudo tunstack ss -ua`,
		Args: func(cmd *cobra.Command, args []string) error {
			states, err := ss.ParseStateArgs(args)
			o.States = append(o.States, states...)
			return usage.Wrap(err)
		},
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if err := o.device.Validate(); err != nil {
				return err
			}
			matcher, err := o.Matcher()
			if err != nil {
				return usage.Wrap(err)
			}
			status, err := control.FetchStatus(cmd.Context(), o.device.ControlPath())
			if err := controlError(err, "tunstack ss"); err != nil {
				return err
			}
			if o.udp {
				return o.PrintUDP(c.stdout, status.UDPSockets)
			}
			return o.Print(c.stdout, status.Connections, matcher)
		}),
	}
	fs := cmd.Flags()
	o.device.Register(fs, "network namespace of the daemon's device (to find its control socket)")
	fs.StringSliceVarP(&o.States, "state", "s", nil, "only connections in these states (repeat or separate with commas)")
	fs.BoolVarP(&o.All, "all", "a", false, "list listeners too")
	fs.BoolVarP(&o.Listening, "listening", "l", false, "list only listeners")
	registerEndFlags(fs, &o.Ends)
	fs.BoolVar(&o.JSON, "json", false, "print a JSON array, one object per connection")
	fs.BoolVarP(&o.udp, "udp", "u", false, "list UDP sockets (connected ones; with -a all, with -l unconnected ones)")
	fs.BoolVar(&o.Stuck, "stuck", false, "only connections stuck in SYN-RECEIVED, FIN-WAIT-2, CLOSE-WAIT or LAST-ACK, and what they wait for")
	fs.DurationVar(&o.MinAge, "min-age", ss.DefaultStuckAge, "with --stuck: how long in the state makes a connection stuck")
	return cmd
}

// registerEndFlags adds the filter's flags for the ends of a connection
// (--sport, --dport, --port, --local, --remote), which ss and trace share.
func registerEndFlags(fs *pflag.FlagSet, f *control.Filter) {
	fs.Uint16Var(&f.SPort, "sport", 0, "only connections whose stack end has this port")
	fs.Uint16Var(&f.DPort, "dport", 0, "only connections whose peer end has this port")
	fs.Uint16Var(&f.Port, "port", 0, "only connections with this port at either end")
	fs.StringVar(&f.Local, "local", "", "only connections whose stack end is ADDR, ADDR:PORT or :PORT")
	fs.StringVar(&f.Remote, "remote", "", "only connections whose peer end is ADDR, ADDR:PORT or :PORT")
}
