package kernelstates

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// event is the tracepoint this package reads.
const event = "inet_sock_set_state"

// markerEvent is how trace_pipe shows a line written to trace_marker.
const markerEvent = "tracing_mark_write"

// Change is one state change of a kernel socket, as the tracepoint
// reported it.
type Change struct {
	// At is the time on the trace clock (CLOCK_MONOTONIC), microseconds.
	At time.Duration
	// Local and Remote are the kernel socket's ends; a socket that is
	// connecting has no local port yet (0).
	Local, Remote netip.AddrPort
	// From and To are RFC 9293's names for Linux's states; Linux's own
	// names are kept for notes.
	From, To         tcp.State
	LinuxFrom, Linux string
}

// line is one parsed line of trace_pipe: a state change or a marker.
type line struct {
	change Change
	marker string // the text written to trace_marker; "" for a change
}

var errNotOurs = errors.New("not a line of " + event)

// linuxStates are Linux's TCP states (include/net/tcp_states.h) as the
// tracepoint prints them, by RFC name. TCP_NEW_SYN_RECV is a request
// socket: a connection in SYN-RECEIVED that has no full socket yet.
var linuxStates = map[string]tcp.State{
	"TCP_ESTABLISHED":  tcp.Established,
	"TCP_SYN_SENT":     tcp.SynSent,
	"TCP_SYN_RECV":     tcp.SynReceived,
	"TCP_NEW_SYN_RECV": tcp.SynReceived,
	"TCP_FIN_WAIT1":    tcp.FinWait1,
	"TCP_FIN_WAIT2":    tcp.FinWait2,
	"TCP_TIME_WAIT":    tcp.TimeWait,
	"TCP_CLOSE":        tcp.Closed,
	"TCP_CLOSE_WAIT":   tcp.CloseWait,
	"TCP_LAST_ACK":     tcp.LastAck,
	"TCP_LISTEN":       tcp.Listen,
	"TCP_CLOSING":      tcp.Closing,
}

// parseLine reads one line of trace_pipe in the tracepoint's own format:
//
//	nc-15827 [001] ..s2. 548.074190: inet_sock_set_state: family=AF_INET
//	protocol=IPPROTO_TCP sport=5555 dport=53952 saddr=10.77.0.1
//	daddr=10.77.0.2 saddrv6=... daddrv6=... oldstate=TCP_LISTEN
//	newstate=TCP_SYN_RECV
//
// (one line), or a marker written to trace_marker. Lines of other events
// give errNotOurs.
func parseLine(s string) (line, error) {
	s = strings.TrimRight(s, "\r\n")
	head, body, name, ok := cutEvent(s)
	if !ok {
		return line{}, errNotOurs
	}
	at, err := timestamp(head)
	if err != nil {
		return line{}, err
	}
	if name == markerEvent {
		return line{marker: strings.TrimSpace(body), change: Change{At: at}}, nil
	}
	fields := map[string]string{}
	for _, f := range strings.Fields(body) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return line{}, fmt.Errorf("%s: field %q is not KEY=VALUE", event, f)
		}
		fields[k] = v
	}
	if p := fields["protocol"]; p != "IPPROTO_TCP" {
		return line{}, fmt.Errorf("%s: protocol %q, want IPPROTO_TCP", event, p)
	}
	c := Change{At: at, LinuxFrom: fields["oldstate"], Linux: fields["newstate"]}
	var okFrom, okTo bool
	c.From, okFrom = linuxStates[c.LinuxFrom]
	c.To, okTo = linuxStates[c.Linux]
	if !okFrom || !okTo {
		return line{}, fmt.Errorf("%s: unknown state in %q → %q", event, c.LinuxFrom, c.Linux)
	}
	src, dst := "saddr", "daddr"
	switch fields["family"] {
	case "AF_INET":
	case "AF_INET6":
		src, dst = "saddrv6", "daddrv6"
	default:
		return line{}, fmt.Errorf("%s: family %q", event, fields["family"])
	}
	if c.Local, err = addrPort(fields[src], fields["sport"]); err != nil {
		return line{}, err
	}
	if c.Remote, err = addrPort(fields[dst], fields["dport"]); err != nil {
		return line{}, err
	}
	return line{change: c}, nil
}

// cutEvent splits a trace line at ": NAME: " after the timestamp.
func cutEvent(s string) (head, body, name string, ok bool) {
	for _, n := range []string{event, markerEvent} {
		if h, b, found := strings.Cut(s, ": "+n+":"); found {
			return h, b, n, true
		}
	}
	return "", "", "", false
}

// timestamp reads the seconds.microseconds that end the line's head.
func timestamp(head string) (time.Duration, error) {
	fields := strings.Fields(head)
	if len(fields) == 0 {
		return 0, fmt.Errorf("%s: no timestamp", event)
	}
	secs, micros, ok := strings.Cut(fields[len(fields)-1], ".")
	s, err1 := strconv.ParseUint(secs, 10, 63)
	us, err2 := strconv.ParseUint(micros, 10, 32)
	if !ok || err1 != nil || err2 != nil || len(micros) != 6 {
		return 0, fmt.Errorf("%s: bad timestamp %q", event, fields[len(fields)-1])
	}
	return time.Duration(s)*time.Second + time.Duration(us)*time.Microsecond, nil
}

func addrPort(addr, port string) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%s: address %q: %w", event, addr, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%s: port %q: %w", event, port, err)
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), nil
}
