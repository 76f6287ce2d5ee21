package kernelstates

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// Lines as Linux 6.18 writes them to trace_pipe.
const (
	lineConnect  = `              nc-15827   [001] .....   548.074040: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=0 dport=7 saddr=10.77.100.1 daddr=10.77.100.2 saddrv6=::ffff:10.77.100.1 daddrv6=::ffff:10.77.100.2 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT`
	lineChild    = `  Web Content-2201   [000] ..s2.   548.074190: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=40000 dport=49152 saddr=10.77.100.1 daddr=10.77.100.2 saddrv6=::ffff:10.77.100.1 daddrv6=::ffff:10.77.100.2 oldstate=TCP_LISTEN newstate=TCP_SYN_RECV`
	lineIPv6     = `          <idle>-0       [001] ..s1.   12.000001: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=80 dport=43400 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=fd00:77::1 daddrv6=fd00:77::2 oldstate=TCP_NEW_SYN_RECV newstate=TCP_SYN_RECV`
	lineMarker   = `        tunstack-9999    [000] .....   549.000100: tracing_mark_write: tunstack-sync-3`
	lineOther    = `              nc-15827   [001] .....   548.074040: tcp_destroy_sock: family=AF_INET sport=1 dport=2`
	lineBadState = `              nc-15827   [001] .....   548.074040: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=0 dport=7 saddr=10.77.100.1 daddr=10.77.100.2 saddrv6=:: daddrv6=:: oldstate=TCP_CLOSE newstate=TCP_BOUND_INACTIVE`
)

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want line
	}{
		{"connect, no port yet", lineConnect, line{change: Change{
			At:    548*time.Second + 74040*time.Microsecond,
			Local: netip.MustParseAddrPort("10.77.100.1:0"), Remote: netip.MustParseAddrPort("10.77.100.2:7"),
			From: tcp.Closed, To: tcp.SynSent, LinuxFrom: "TCP_CLOSE", Linux: "TCP_SYN_SENT",
		}}},
		{"a listener's child, from a task with a space in its name", lineChild, line{change: Change{
			At:    548*time.Second + 74190*time.Microsecond,
			Local: netip.MustParseAddrPort("10.77.100.1:40000"), Remote: netip.MustParseAddrPort("10.77.100.2:49152"),
			From: tcp.Listen, To: tcp.SynReceived, LinuxFrom: "TCP_LISTEN", Linux: "TCP_SYN_RECV",
		}}},
		{"IPv6, the request socket's state", lineIPv6, line{change: Change{
			At:    12*time.Second + time.Microsecond,
			Local: netip.MustParseAddrPort("[fd00:77::1]:80"), Remote: netip.MustParseAddrPort("[fd00:77::2]:43400"),
			From: tcp.SynReceived, To: tcp.SynReceived, LinuxFrom: "TCP_NEW_SYN_RECV", Linux: "TCP_SYN_RECV",
		}}},
		{"marker", lineMarker, line{marker: "tunstack-sync-3", change: Change{At: 549*time.Second + 100*time.Microsecond}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLine(tc.line + "\n")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("parseLine =\n%+v, want\n%+v", got, tc.want)
			}
		})
	}
}

func TestParseLineRejects(t *testing.T) {
	if _, err := parseLine(lineOther); !errors.Is(err, errNotOurs) {
		t.Errorf("another event: %v, want errNotOurs", err)
	}
	for _, bad := range []string{
		lineBadState,
		"",
		"548.074040: inet_sock_set_state: family=AF_INET protocol=IPPROTO_UDP sport=1 dport=2 saddr=1.2.3.4 daddr=1.2.3.4 oldstate=TCP_CLOSE newstate=TCP_LISTEN",
		"x 548.07: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=1 dport=2 saddr=1.2.3.4 daddr=1.2.3.4 oldstate=TCP_CLOSE newstate=TCP_LISTEN",
		"x 548.074040: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=70000 dport=2 saddr=1.2.3.4 daddr=1.2.3.4 oldstate=TCP_CLOSE newstate=TCP_LISTEN",
		"x 548.074040: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=1 dport=2 saddr=nope daddr=1.2.3.4 oldstate=TCP_CLOSE newstate=TCP_LISTEN",
		"x 548.074040: inet_sock_set_state: family=AF_PACKET protocol=IPPROTO_TCP sport=1 dport=2 oldstate=TCP_CLOSE newstate=TCP_LISTEN",
		"x 548.074040: inet_sock_set_state: garbage",
	} {
		if l, err := parseLine(bad); err == nil {
			t.Errorf("parseLine(%q) = %+v, want an error", bad, l)
		}
	}
}

// FuzzParseLine: no line makes the parser panic, and what it accepts is
// a TCP state change with known states, or a marker.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{lineConnect, lineChild, lineIPv6, lineMarker, lineOther, lineBadState} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseLine(s)
		if err != nil || l.marker != "" {
			return
		}
		if l.change.From.String() == "UNKNOWN" || l.change.To.String() == "UNKNOWN" {
			t.Errorf("parseLine(%q) accepted unknown states: %+v", s, l)
		}
	})
}
