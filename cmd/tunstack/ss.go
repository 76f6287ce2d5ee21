package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/flags"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack/tcp"
)

// ssOptions are ss's flags.
type ssOptions struct {
	device    flags.Device
	filter    control.Filter
	states    []string
	all       bool
	listening bool
	json      bool
	stuck     bool
	minAge    time.Duration
}

func (c *cli) ssCommand() *cobra.Command {
	var o ssOptions
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
SYN-RECEIVED, FIN-WAIT-2, CLOSE-WAIT or LAST-ACK, and what each waits for.`,
		Example: `  sudo tunstack ss
  sudo tunstack ss state time-wait
  sudo tunstack ss -s established --sport 80 --json
  sudo tunstack ss --stuck --min-age 30s`,
		Args: func(cmd *cobra.Command, args []string) error {
			states, err := parseStateArgs(args)
			o.states = append(o.states, states...)
			return err
		},
		RunE: body(func(cmd *cobra.Command, args []string) error {
			if err := o.device.Validate(); err != nil {
				return err
			}
			matcher, err := o.matcher()
			if err != nil {
				return err
			}
			return c.ss(cmd.Context(), &o, matcher)
		}),
	}
	fs := cmd.Flags()
	o.device.Register(fs, "network namespace of the daemon's device (to find its control socket)")
	fs.StringSliceVarP(&o.states, "state", "s", nil, "only connections in these states (repeat or separate with commas)")
	fs.BoolVarP(&o.all, "all", "a", false, "list listeners too")
	fs.BoolVarP(&o.listening, "listening", "l", false, "list only listeners")
	registerEndFlags(fs, &o.filter)
	fs.BoolVar(&o.json, "json", false, "print a JSON array, one object per connection")
	fs.BoolVar(&o.stuck, "stuck", false, "only connections stuck in SYN-RECEIVED, FIN-WAIT-2, CLOSE-WAIT or LAST-ACK, and what they wait for")
	fs.DurationVar(&o.minAge, "min-age", defaultStuckAge, "with --stuck: how long in the state makes a connection stuck")
	return cmd
}

// parseStateArgs reads ss's positional filter: "state NAME", repeated.
func parseStateArgs(args []string) ([]string, error) {
	var states []string
	for i := 0; i < len(args); i += 2 {
		if args[i] != "state" || i+1 == len(args) {
			return nil, usage.Errorf("unexpected %q: the only positional filter is: state STATE", strings.Join(args[i:], " "))
		}
		states = append(states, args[i+1])
	}
	return states, nil
}

// matcher turns the flags into a filter.
func (o *ssOptions) matcher() (*control.Matcher, error) {
	states, err := parseStateNames(o.states)
	if err != nil {
		return nil, err
	}
	switch {
	case o.listening:
		states = []string{tcp.Listen.String()}
	case len(states) == 0 && !o.all:
		all, _ := parseStateNames([]string{"all"})
		for _, st := range all {
			if st != tcp.Listen.String() {
				states = append(states, st)
			}
		}
	}
	if o.stuck {
		states = intersect(states, stuckStates)
		if len(states) == 0 {
			return nil, usage.Errorf("--stuck looks at SYN-RECEIVED, FIN-WAIT-2, CLOSE-WAIT and LAST-ACK only")
		}
	}
	if o.minAge < 0 {
		return nil, usage.Errorf("--min-age %v: want 0 or more", o.minAge)
	}
	f := o.filter
	f.States = states
	m, err := f.Compile()
	return m, usage.Wrap(err)
}

// intersect keeps the elements of a that are in b; an empty a is all of b.
func intersect(a, b []string) []string {
	if len(a) == 0 {
		return b
	}
	var out []string
	for _, s := range a {
		for _, t := range b {
			if s == t {
				out = append(out, s)
			}
		}
	}
	return out
}

// ss asks the daemon for its connections and prints those that match.
func (c *cli) ss(ctx context.Context, o *ssOptions, m *control.Matcher) error {
	status, err := control.FetchStatus(ctx, o.device.ControlPath())
	if err := controlError(err, "tunstack ss"); err != nil {
		return err
	}
	conns := status.Connections
	var shown []control.ConnStatus
	for _, conn := range conns {
		if !m.MatchConn(&conn) || o.stuck && !stuck(&conn, o.minAge) {
			continue
		}
		if o.stuck {
			conn.WaitingFor = waitingFor(&conn)
		}
		shown = append(shown, conn)
	}
	switch {
	case o.json:
		if shown == nil {
			shown = []control.ConnStatus{}
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(shown)
	case o.stuck:
		writeStuck(c.stdout, shown, o.minAge)
	default:
		writeSS(c.stdout, shown)
	}
	return nil
}

// controlError adds to an error from controlRequestTo what the user can do
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

// writeSS prints connections as ss -tani does: a line of columns, then a
// tab-indented line of details.
func writeSS(w io.Writer, conns []control.ConnStatus) {
	rows := [][]string{{"State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "Age"}}
	for _, c := range conns {
		rows = append(rows, []string{c.State, strconv.Itoa(c.RecvQ), strconv.Itoa(c.SendQ), c.Local, c.Remote, shortDuration(c.Age)})
	}
	lines := columns(rows)
	fmt.Fprintln(w, lines[0])
	for i, c := range conns {
		fmt.Fprintln(w, lines[i+1])
		if c.State == tcp.Listen.String() {
			continue
		}
		fmt.Fprintf(w, "\t %s\n", details(&c))
		states := c.States
		if len(states) > 1 && states[0] == tcp.Closed.String() && states[1] == tcp.Listen.String() {
			states = states[1:] // a passive open's TCB: the listener was there before
		}
		if len(states) > 0 {
			fmt.Fprintf(w, "\t states: %s\n", strings.Join(states, " → "))
		}
	}
}

// writeStuck prints stuck connections and what each waits for.
func writeStuck(w io.Writer, conns []control.ConnStatus, minAge time.Duration) {
	if len(conns) == 0 {
		fmt.Fprintf(w, "no connection has been in SYN-RECEIVED, FIN-WAIT-2, CLOSE-WAIT or LAST-ACK for %v or more\n", minAge)
		return
	}
	rows := [][]string{{"State", "For", "Local Address:Port", "Peer Address:Port", "Waiting for"}}
	for _, c := range conns {
		rows = append(rows, []string{c.State, shortDuration(c.Age), c.Local, c.Remote, c.WaitingFor})
	}
	for _, line := range columns(rows) {
		fmt.Fprintln(w, line)
	}
}

// details is ss -i's line: congestion control, window scales, RTO, RTT,
// MSS, cwnd, ssthresh, SACK, counters and the running timers.
func details(c *control.ConnStatus) string {
	var f []string
	add := func(format string, args ...any) { f = append(f, fmt.Sprintf(format, args...)) }
	if c.Congestion != "" {
		add("%s", c.Congestion)
	}
	if c.SndWScale >= 0 {
		add("wscale:%d,%d", c.SndWScale, c.RcvWScale)
	}
	add("rto:%s", shortDuration(c.RTO))
	add("rtt:%s/%s", shortDuration(c.SRTT), shortDuration(c.RTTVar))
	if c.MinRTT != "" && c.MinRTT != "0s" {
		add("minrtt:%s", shortDuration(c.MinRTT))
	}
	add("mss:%d", c.MSS)
	if c.MSS > 0 {
		add("cwnd:%d", c.Cwnd/uint32(c.MSS))
		if c.Ssthresh < 1<<30 {
			add("ssthresh:%d", c.Ssthresh/uint32(c.MSS))
		}
	}
	if c.InFlight > 0 {
		add("unacked:%d", c.InFlight)
	}
	if c.SACK {
		add("sack")
	}
	if c.Timestamps {
		add("ts")
	}
	if c.SACKHoles > 0 || c.SackedBytes > 0 || c.LostBytes > 0 {
		add("sack_holes:%d sacked:%d lost:%d", c.SACKHoles, c.SackedBytes, c.LostBytes)
	}
	if c.InRecovery {
		add("recovery")
	}
	add("snd_wnd:%d rcv_wnd:%d", c.SndWnd, c.RcvWnd)
	add("segs_in:%d segs_out:%d retrans:%d", c.SegsIn, c.SegsOut, c.Retransmits)
	if c.Backoff > 0 {
		add("backoff:%d", c.Backoff)
	}
	for _, flag := range []struct {
		on   bool
		name string
	}{{c.PeerClosed, "peer-closed"}, {c.AppClosed, "app-closed"}, {c.Orphaned, "orphaned"}} {
		if flag.on {
			add("%s", flag.name)
		}
	}
	if len(c.Timers) > 0 {
		var t strings.Builder
		for _, timer := range c.Timers {
			t.WriteString("(" + timer.Name + "," + shortDuration(timer.Left))
			if timer.Backoff > 0 {
				t.WriteString(",backoff " + strconv.Itoa(timer.Backoff))
			}
			t.WriteString(")")
		}
		add("timers:%s", t.String())
	}
	return strings.Join(f, " ")
}

// columns lays rows out in left-aligned columns two spaces apart.
func columns(rows [][]string) []string {
	var widths []int
	for _, r := range rows {
		for i, cell := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	lines := make([]string, len(rows))
	for j, r := range rows {
		var b strings.Builder
		for i, cell := range r {
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		lines[j] = strings.TrimRight(b.String(), " ")
	}
	return lines
}

// shortDuration rounds a Go duration string for people: to a tenth of a
// second from 1s, to a microsecond below; "-" for none.
func shortDuration(s string) string {
	d, err := time.ParseDuration(s)
	switch {
	case s == "" || err != nil:
		return "-"
	case d >= time.Minute:
		d = d.Round(time.Second)
	case d >= time.Second:
		d = d.Round(100 * time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(time.Microsecond)
	}
	return d.String()
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

// parseStateNames reads state names as ss takes them (control.ParseStates).
func parseStateNames(values []string) ([]string, error) {
	names, err := control.ParseStates(values)
	return names, usage.Wrap(err)
}
