package ss

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack/tcp"
)

// The -i line and the -o timer are written as iproute2's ss writes them
// for the kernel's sockets (tcp_stats_print and print_timer in ss.c):
// the same field names in the same order, times in milliseconds with C's
// %g, counts of segments where ss counts segments, and a field only when
// it is not zero. Fields the engine has no figure for are left out, as ss
// leaves out what the kernel does not report:
//
//	ato, pmtu, rcvmss, advmss: the engine keeps no delayed-ACK
//	  time-out per connection, no path MTU apart from MSS, no MSS
//	  estimate of the peer's segments;
//	data_segs_out, data_segs_in, bytes_retrans, lastsnd, lastrcv,
//	  lastack, delivered, app_limited, busy, rcv_space, rcv_ssthresh,
//	  reordering: not counted;
//	pacing_rate, delivery_rate: the stack does not pace or sample its
//	  delivery rate.
//
// retrans:?/N gives the total N; the engine does not count the
// retransmitted segments still in flight, the number ss puts first.

// infoFields are the fields of ss -i's line for c, in ss's order; none
// for a connection without a TCB (LISTEN, TIME-WAIT), for which the kernel
// reports none either. numeric and options are ss's -n and -o.
func infoFields(c *control.ConnStatus, numeric, options bool) []string {
	if !hasTCB(c.State) {
		return nil
	}
	var f []string
	add := func(format string, args ...any) { f = append(f, fmt.Sprintf(format, args...)) }
	// ss shows the options the connection uses only with -o.
	if options && c.Timestamps {
		add("ts")
	}
	if options && c.SACK {
		add("sack")
	}
	if c.Congestion != "" {
		add("%s", kernelCongestionName(c.Congestion))
	}
	if c.SndWScale >= 0 {
		add("wscale:%d,%d", c.SndWScale, c.RcvWScale)
	}
	rto, _ := time.ParseDuration(c.RTO)
	srtt, _ := time.ParseDuration(c.SRTT)
	rttvar, _ := time.ParseDuration(c.RTTVar)
	minRTT, _ := time.ParseDuration(c.MinRTT)
	if rto > 0 {
		add("rto:%s", millis(rto))
	}
	if c.Backoff > 0 {
		add("backoff:%d", c.Backoff)
	}
	if srtt > 0 {
		add("rtt:%s/%s", millis(srtt), millis(rttvar))
	}
	mss := uint32(c.MSS)
	if mss > 0 {
		add("mss:%d", mss)
		if c.Cwnd > 0 {
			add("cwnd:%d", c.Cwnd/mss)
		}
		// ss shows ssthresh once it is below its initial "infinity"
		// (the kernel's 0x7fffffff segments; ss prints it below 0xffff).
		if s := c.Ssthresh / mss; s < 0xffff {
			add("ssthresh:%d", s)
		}
	}
	sent, acked, received := byteCounts(c)
	if sent > 0 {
		add("bytes_sent:%d", sent)
	}
	if acked > 0 {
		add("bytes_acked:%d", acked)
	}
	if received > 0 {
		add("bytes_received:%d", received)
	}
	if c.SegsOut > 0 {
		add("segs_out:%d", c.SegsOut)
	}
	if c.SegsIn > 0 {
		add("segs_in:%d", c.SegsIn)
	}
	if srtt > 0 && mss > 0 && c.Cwnd > 0 {
		// ss works the sending rate out itself: cwnd × MSS per RTT.
		add("send %sbps", bandwidth(float64(c.Cwnd/mss)*float64(mss)*8e6/float64(srtt.Microseconds()), numeric))
	}
	if outstanding := c.SndNxt - c.SndUna; outstanding > 0 && mss > 0 {
		add("unacked:%d", segments(outstanding, mss)) // a SYN or FIN counts as one, as Linux counts
	}
	if c.Retransmits > 0 {
		add("retrans:?/%d", c.Retransmits)
	}
	if c.LostBytes > 0 && mss > 0 {
		add("lost:%d", segments(c.LostBytes, mss))
	}
	if c.SackedBytes > 0 && mss > 0 {
		add("sacked:%d", segments(c.SackedBytes, mss))
	}
	if notSent := notSent(c); notSent > 0 {
		add("notsent:%d", notSent)
	}
	if minRTT > 0 {
		add("minrtt:%s", millis(minRTT))
	}
	if c.SndWnd > 0 {
		add("snd_wnd:%d", c.SndWnd)
	}
	if c.RcvWnd > 0 {
		add("rcv_wnd:%d", c.RcvWnd)
	}
	return f
}

// hasTCB reports whether a connection in state has the figures of ss -i:
// not a listener, and not one in TIME-WAIT, which keeps only what
// TIME-WAIT needs.
func hasTCB(state string) bool {
	return state != tcp.Listen.String() && state != tcp.TimeWait.String()
}

// kernelCongestionName is the name Linux gives the algorithm.
func kernelCongestionName(name string) string {
	if name == tcp.NewReno.String() {
		return "reno"
	}
	return name
}

// byteCounts are ss's bytes_sent, bytes_acked and bytes_received, from
// the TCB's sequence numbers: data sent (once: the engine counts no
// retransmitted bytes), acknowledged (data and FIN, as Linux counts), and
// received in order (data and FIN).
func byteCounts(c *control.ConnStatus) (sent, acked, received uint32) {
	st, _ := control.ParseState(c.State)
	if span := c.SndNxt - c.ISS; span > 0 && st != tcp.SynSent && st != tcp.SynReceived {
		sent = span - 1 // the SYN
		if finSent(st) && sent > 0 {
			sent--
		}
	}
	if span := c.SndUna - c.ISS; span > 0 {
		acked = span - 1
	}
	if span := c.RcvNxt - c.IRS; span > 0 && st.Synchronized() {
		received = span - 1 // the SYN
	}
	return sent, acked, received
}

// finSent reports whether our FIN has been sent in state st.
func finSent(st tcp.State) bool {
	switch st {
	case tcp.FinWait1, tcp.FinWait2, tcp.Closing, tcp.LastAck, tcp.TimeWait:
		return true
	}
	return false
}

// notSent is ss's notsent: bytes written and not yet sent.
func notSent(c *control.ConnStatus) int {
	inFlight := int(c.SndNxt - c.SndUna)
	return max(c.SendQueue-inFlight, 0) + c.Unsent
}

// segments is bytes in segments of mss, rounded up.
func segments(bytes, mss uint32) uint32 { return (bytes + mss - 1) / mss }

// millis writes d in milliseconds to the microsecond as ss does (C's
// %g of the kernel's microseconds over 1000): "0.479", "204", "1.2e+06".
func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'g', 6, 64)
}

// bandwidth writes a rate in bits per second as ss's sprint_bw does: the
// bare figure with -n, else with a unit.
func bandwidth(bps float64, numeric bool) string {
	switch {
	case numeric:
		return strconv.FormatFloat(bps, 'f', 0, 64)
	case bps > 1e9:
		return strconv.FormatFloat(bps/1e9, 'f', 1, 64) + "G"
	case bps > 1e6:
		return strconv.FormatFloat(bps/1e6, 'f', 1, 64) + "M"
	case bps > 1e3:
		return strconv.FormatFloat(bps/1e3, 'f', 1, 64) + "K"
	}
	return strconv.FormatFloat(bps, 'g', 6, 64)
}

// timerField is ss -o's "timer:(NAME,TIME,COUNT)" for the timer the
// kernel would report (inet_diag: the retransmission timer and its kin
// as "on", then persist, then keepalive; TIME-WAIT and an orphan's
// FIN-WAIT-2 as "timewait"), or "" when none runs. COUNT is the backoff.
func timerField(c *control.ConnStatus) string {
	for _, k := range []struct {
		names []string
		ss    string
	}{
		{[]string{control.TimerRetransmit, control.TimerTLP, control.TimerRACK}, "on"},
		{[]string{control.TimerPersist}, "persist"},
		{[]string{control.TimerKeepAlive}, "keepalive"},
		{[]string{control.TimerTimeWait, control.TimerFinWait2}, "timewait"},
	} {
		for _, t := range c.Timers { // soonest first
			if !contains(k.names, t.Name) {
				continue
			}
			left, _ := time.ParseDuration(t.Left)
			return fmt.Sprintf("timer:(%s,%s,%d)", k.ss, msTimer(left), t.Backoff)
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// msTimer writes a time left as ss's print_ms_timer does: "204ms",
// "1.500ms" (one second and a half), "59sec", "2min3sec", "119min".
func msTimer(d time.Duration) string {
	ms := d.Milliseconds()
	secs, minutes, msecs := ms/1000%60, ms/60000, ms%1000
	var b strings.Builder
	if minutes > 0 {
		msecs = 0
		b.WriteString(strconv.FormatInt(minutes, 10) + "min")
		if minutes > 9 {
			secs = 0
		}
	}
	if secs > 0 {
		if secs > 9 {
			msecs = 0
		}
		b.WriteString(strconv.FormatInt(secs, 10))
		if msecs > 0 {
			b.WriteString(".")
		} else {
			b.WriteString("sec")
		}
	}
	if msecs > 0 {
		fmt.Fprintf(&b, "%03dms", msecs)
	}
	return b.String()
}
