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
	var tcpOnly, memory bool
	cmd := &cobra.Command{
		Use:   "ss [-tanilmeoH46] [state STATE | exclude STATE]... [EXPRESSION]",
		Short: "List the stack's connections with their timers, like ss -tanieo",
		Long: `ss asks a running daemon for its TCP connections and prints them as
iproute2's ss prints the kernel's: state, Recv-Q and Send-Q, both ends, and
how long the connection has been in its state; with -o the timer ss would
show (timer:(on,204ms,0)); with -i ss's line of TCP figures, with ss's names,
order and units (ts sack cubic wscale:7,7 rto:204 rtt:0.479/0.239 mss:1448
cwnd:10 bytes_sent:... bytes_acked:... bytes_received:... segs_out:...
send ...bps ... minrtt:0.4 snd_wnd:...; times in milliseconds, cwnd and
ssthresh in segments, a field only when it is not zero, none for LISTEN and
TIME-WAIT); with -e the engine's own view: loss recovery, every running
timer with its time left (retransmit and persist with their backoff,
keepalive, time-wait, fin-wait-2, delayed-ack, tlp, rack, user-timeout)
and the states the connection went through. Without any of -t, -n, -i,
-o, -e, -m it prints all three; typed as ss is (-tan, -tni), it prints
what ss would.

The figures ss -i shows that the engine does not keep are left out: ato,
pmtu, rcvmss, advmss, data_segs_out/in, bytes_retrans, lastsnd, lastrcv,
lastack, pacing_rate, delivery_rate, delivered, app_limited, busy,
rcv_space, rcv_ssthresh. bytes_sent counts data once (retransmissions not
again), and retrans:?/N gives only the total N: the engine does not count
the retransmissions in flight, ss's first number.

ss's flags: -t, -n and -m are accepted and change nothing (the stack has
only TCP, addresses and ports are always numeric, and it keeps no socket
memory figures for -m), except that -n prints rates as ss -n does (send
1234567bps). -a lists listeners too, -l only listeners, -H leaves out the
header, -4 and -6 keep one address family.

Without a state filter it lists every connection but listeners (ss -t also
leaves out TIME-WAIT and SYN-RECEIVED; tunstack ss shows them). States take
ss's names (established, syn-recv, time-wait, ..., and the groups all,
connected, synchronized, bucket, big) or the RFC's; "exclude STATE" leaves
one out. The expression is ss's: src and dst (ADDR, ADDR/LEN, ADDR:PORT,
[ADDR]:PORT, :PORT), sport and dport with = != > < >= <= (or eq ne gt lt ge
le) and a :PORT, joined by and, or, not and parentheses. As in ss, the
source (src, sport, --sport) is the stack's end and the destination (dst,
dport, --dport) the peer's.

--stuck lists the connections that have stayed longer than --min-age in
SYN-RECEIVED, FIN-WAIT-2, CLOSE-WAIT or LAST-ACK, and what each waits for.

-u lists UDP sockets instead, as ss -uan does: connected ones (ESTAB), with
-a the unconnected ones (UNCONN) too, with -l those only; each with the
bytes and datagrams waiting to be read and the datagrams its full receive
queue dropped.`,
		Example: `  sudo tunstack ss
  sudo tunstack ss -tni
  sudo tunstack ss -tan state time-wait
  sudo tunstack ss -o state established '( dport = :80 or sport = :80 )'
  sudo tunstack ss sport gt :1024 and dst 10.77.0.1
  sudo tunstack ss -s established --sport 80 --json
  sudo tunstack ss --stuck --min-age 30s
  sudo tunstack ss -ua`,
		Args: func(cmd *cobra.Command, args []string) error {
			return usage.Wrap(o.AddFilter(args))
		},
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if err := o.device.Validate(); err != nil {
				return err
			}
			// Bare, it shows everything; typed as ss is (-tan, -tni),
			// what ss would.
			if d := &o.Display; !d.Info && !d.Timer && !d.Extended && !memory && !tcpOnly && !d.Numeric {
				d.Info, d.Timer, d.Extended = true, true, true
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
	fs.BoolVarP(&tcpOnly, "tcp", "t", false, "TCP sockets: accepted for ss's sake; the stack has only TCP")
	fs.BoolVarP(&o.Display.Numeric, "numeric", "n", false, "accepted for ss's sake (addresses are always numeric); rates as bare figures")
	fs.BoolVarP(&o.Display.Info, "info", "i", false, "ss -i's line of TCP figures (rto, rtt, mss, cwnd, bytes, ...)")
	fs.BoolVarP(&o.Display.Timer, "options", "o", false, "the timer ss would show: timer:(on|persist|keepalive|timewait,TIME,BACKOFF)")
	fs.BoolVarP(&o.Display.Extended, "extended", "e", false, "the engine's own view: every timer, loss recovery, the states passed through")
	fs.BoolVarP(&memory, "memory", "m", false, "accepted for ss's sake: the stack keeps no socket memory figures (skmem)")
	fs.BoolVarP(&o.Display.NoHeader, "no-header", "H", false, "leave out the header line")
	fs.BoolVarP(&o.IPv4, "ipv4", "4", false, "only IPv4 connections")
	fs.BoolVarP(&o.IPv6, "ipv6", "6", false, "only IPv6 connections")
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
