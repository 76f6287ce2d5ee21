package ss

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack/tcp"
)

// Display says which parts of each connection to print, as ss's flags
// do: -i (Info), -o (Timer), -e (Extended), -H (NoHeader), -n (Numeric).
type Display struct {
	Info     bool // ss -i's line of TCP figures
	Timer    bool // ss -o's timer:(...) on the connection's line
	Extended bool // the engine's own view: every timer, flags, the states passed through
	NoHeader bool
	Numeric  bool // rates as bare figures (send 1234bps), as ss -n prints them
}

// writeSS prints connections as ss does: a line of columns per
// connection (with -o its timer at the end), then, tab-indented, ss -i's
// line and the engine's own view.
func writeSS(w io.Writer, conns []control.ConnStatus, d Display) {
	rows := [][]string{{"State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "Age"}}
	for _, c := range conns {
		row := []string{c.State, strconv.Itoa(c.RecvQ), strconv.Itoa(c.SendQ), c.Local, peerColumn(&c), shortDuration(c.Age)}
		if timer := timerField(&c); d.Timer && timer != "" {
			row = append(row, timer)
		}
		rows = append(rows, row)
	}
	lines := columns(rows)
	if !d.NoHeader {
		fmt.Fprintln(w, lines[0])
	}
	for i, c := range conns {
		fmt.Fprintln(w, lines[i+1])
		if f := infoFields(&c, d.Numeric, d.Timer); d.Info && len(f) > 0 {
			fmt.Fprintf(w, "\t %s\n", strings.Join(f, " "))
		}
		if !d.Extended || c.State == tcp.Listen.String() {
			continue
		}
		if f := extendedFields(&c); len(f) > 0 {
			fmt.Fprintf(w, "\t %s\n", strings.Join(f, " "))
		}
		states := c.States
		if len(states) > 1 && states[0] == tcp.Closed.String() && states[1] == tcp.Listen.String() {
			states = states[1:] // a passive open's TCB: the listener was there before
		}
		if len(states) > 0 {
			fmt.Fprintf(w, "\t states: %s\n", strings.Join(states, " → "))
		}
	}
}

// peerColumn is the peer's end as ss writes it: a listener's is the
// wildcard address of its family and port "*" (0.0.0.0:*, [::]:*).
func peerColumn(c *control.ConnStatus) string {
	if c.Remote != "*" {
		return c.Remote
	}
	if local, err := netip.ParseAddrPort(c.Local); err == nil && local.Addr().Is6() && !local.Addr().Is4In6() {
		return "[::]:*"
	}
	return "0.0.0.0:*"
}

// extendedFields are the engine's own view, which ss has no fields for:
// loss recovery, the TCB's queues and flags, and every running timer with
// its time left.
func extendedFields(c *control.ConnStatus) []string {
	var f []string
	add := func(format string, args ...any) { f = append(f, fmt.Sprintf(format, args...)) }
	if c.Upstream != "" {
		add("upstream:%s", c.Upstream) // the server a relay copies it to
	}
	if c.InRecovery {
		add("recovery")
	}
	if c.SACKHoles > 0 || c.LostBytes > 0 {
		add("sack_holes:%d lost_bytes:%d", c.SACKHoles, c.LostBytes)
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
	return f
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
