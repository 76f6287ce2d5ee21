package ss

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack/tcp"
)

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
