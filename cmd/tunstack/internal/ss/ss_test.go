package ss

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

func TestWaitingFor(t *testing.T) {
	rtx := []control.TimerStatus{{Name: control.TimerRetransmit, Left: "1.6s", Backoff: 3}}
	for _, tt := range []struct {
		c    control.ConnStatus
		want string
	}{
		{control.ConnStatus{State: "CLOSE-WAIT"}, "the application to close: the peer has sent its FIN"},
		{control.ConnStatus{State: "CLOSE-WAIT", RecvQ: 12}, "the application to close: the peer has sent its FIN, 12 bytes before it are unread"},
		{control.ConnStatus{State: "CLOSE-WAIT", AppClosed: true, SendQ: 4096}, "the peer to take 4096 bytes queued before our FIN (its window is 0)"},
		{control.ConnStatus{State: "FIN-WAIT-2"}, "the peer's FIN (no time-out while the application holds the connection open)"},
		{control.ConnStatus{State: "FIN-WAIT-2", Timers: []control.TimerStatus{{Name: control.TimerFinWait2, Left: "42.25s"}}}, "the peer's FIN (the application has closed: gives up in 42.3s)"},
		{control.ConnStatus{State: "LAST-ACK", Timers: rtx, Backoff: 3}, "the ACK of our FIN (retransmitting, backoff 3, next in 1.6s)"},
		{control.ConnStatus{State: "SYN-RECEIVED", Timers: []control.TimerStatus{{Name: control.TimerRetransmit, Left: "800ms"}}}, "the ACK of our SYN-ACK (retransmission in 800ms)"},
	} {
		if got := WaitingFor(&tt.c); got != tt.want {
			t.Errorf("waitingFor(%s) = %q, want %q", tt.c.State, got, tt.want)
		}
	}
}

func TestStuckNeedsAgeAndState(t *testing.T) {
	for _, tt := range []struct {
		state, age string
		want       bool
	}{
		{"CLOSE-WAIT", "11s", true},
		{"CLOSE-WAIT", "9s", false},
		{"ESTABLISHED", "1h", false},
		{"LAST-ACK", "", false}, // a listener's or an unknown age
	} {
		if got := stuck(&control.ConnStatus{State: tt.state, Age: tt.age}, 10*time.Second); got != tt.want {
			t.Errorf("stuck(%s for %q) = %v, want %v", tt.state, tt.age, got, tt.want)
		}
	}
}

// TestWaitingForFromAStatus: what a status built from the engine's timers
// says the connection waits for.
func TestWaitingForFromAStatus(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	id := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	c := control.NewConnStatus(stack.ConnInfo{
		Status: tcp.Status{ID: id, State: tcp.LastAck, Backoff: 2, RetransmitAt: at.Add(time.Second),
			DelayedACKAt: at.Add(40 * time.Millisecond), SendQueue: 10, RecvQueue: 3, SendWindowScale: 7, RecvWindowScale: 9},
		States: []tcp.State{tcp.Listen, tcp.SynReceived, tcp.Established, tcp.CloseWait, tcp.LastAck},
		Since:  at.Add(-12 * time.Second), At: at, Unsent: 5, Unread: 4, AppClosed: true,
	})
	if got := WaitingFor(&c); got != "the ACK of our FIN (retransmitting, backoff 2, next in 1s)" {
		t.Errorf("waitingFor = %q", got)
	}
}

// TestMatcherDefaults: without states ss lists all but listeners, -l
// listeners only, -a everything, and --stuck only the states where a
// connection can be stuck.
func TestMatcherDefaults(t *testing.T) {
	for _, tt := range []struct {
		name    string
		o       Options
		listen  bool // matches LISTEN
		estab   bool // matches ESTABLISHED
		closeWt bool // matches CLOSE-WAIT
	}{
		{"default", Options{}, false, true, true},
		{"-l", Options{Listening: true}, true, false, false},
		{"-a", Options{All: true}, true, true, true},
		{"--stuck", Options{Stuck: true}, false, false, true},
		{"-s established", Options{States: []string{"established"}}, false, true, false},
		{"exclude close-wait", Options{Excluded: []string{"close-wait"}}, true, true, false},
		{"-l state established", Options{Listening: true, States: []string{"established"}}, false, true, false},
	} {
		m, err := tt.o.Matcher()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if m.MatchState(tcp.Listen) != tt.listen || m.MatchState(tcp.Established) != tt.estab || m.MatchState(tcp.CloseWait) != tt.closeWt {
			t.Errorf("%s: LISTEN %v ESTABLISHED %v CLOSE-WAIT %v; want %v %v %v", tt.name,
				m.MatchState(tcp.Listen), m.MatchState(tcp.Established), m.MatchState(tcp.CloseWait), tt.listen, tt.estab, tt.closeWt)
		}
	}
	for _, bad := range []Options{{Stuck: true, States: []string{"established"}}, {MinAge: -time.Second}, {States: []string{"half-open"}},
		{IPv4: true, IPv6: true}, {Excluded: []string{"all"}}, {Excluded: []string{"half-open"}}} {
		if _, err := bad.Matcher(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestWriteSS: a header, a line per connection with ss -o's timer, and
// below each but a listener ss -i's line, the engine's view and the
// states it went through; a TIME-WAIT row has no ss -i line.
func TestWriteSS(t *testing.T) {
	conns := []control.ConnStatus{
		{State: "LISTEN", Local: "10.77.0.2:80", Remote: "*", SendQ: 4096},
		{State: "ESTABLISHED", Local: "10.77.0.2:80", Remote: "10.77.0.1:40000", Upstream: "192.0.2.10:8000", RecvQ: 6, Age: "1.234567s",
			States: []string{"CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED"}, MSS: 1460, Cwnd: 14600, Ssthresh: 1 << 30,
			RTO: "201ms", SRTT: "150µs", RTTVar: "75µs", MinRTT: "100µs", SndWScale: 7, RcvWScale: 7, SACK: true, Congestion: "cubic",
			ISS: 1000, SndUna: 1101, SndNxt: 1101, IRS: 5000, RcvNxt: 5007, SegsIn: 4, SegsOut: 3, SndWnd: 65535, RcvWnd: 65535,
			Timers: []control.TimerStatus{{Name: control.TimerKeepAlive, Left: "1h59m59.5s"}}},
		{State: "TIME-WAIT", Local: "10.77.0.2:80", Remote: "10.77.0.1:40001", Age: "3s", RTO: "0s", SRTT: "0s", RTTVar: "0s",
			States: []string{"CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"},
			Timers: []control.TimerStatus{{Name: control.TimerTimeWait, Left: "57.25s"}}},
	}
	var b strings.Builder
	writeSS(&b, conns, Display{Info: true, Timer: true, Extended: true, Numeric: true})
	want := "State        Recv-Q  Send-Q  Local Address:Port  Peer Address:Port  Age\n" +
		"LISTEN       0       4096    10.77.0.2:80        0.0.0.0:*          -\n" +
		"ESTABLISHED  6       0       10.77.0.2:80        10.77.0.1:40000    1.2s  timer:(keepalive,119min,0)\n" +
		"\t sack cubic wscale:7,7 rto:201 rtt:0.15/0.075 mss:1460 cwnd:10 bytes_sent:100 bytes_acked:100 bytes_received:6 segs_out:3 segs_in:4 send 778666667bps minrtt:0.1 snd_wnd:65535 rcv_wnd:65535\n" +
		"\t upstream:192.0.2.10:8000 timers:(keepalive,2h0m0s)\n" +
		"\t states: LISTEN → SYN-RECEIVED → ESTABLISHED\n" +
		"TIME-WAIT    0       0       10.77.0.2:80        10.77.0.1:40001    3s    timer:(timewait,57sec,0)\n" +
		"\t timers:(time-wait,57.3s)\n" +
		"\t states: CLOSED → SYN-SENT → ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT\n"
	if b.String() != want {
		t.Errorf("writeSS:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	writeSS(&b, conns[1:2], Display{Info: true, NoHeader: true})
	if got := b.String(); strings.Count(got, "\n") != 2 || strings.Contains(got, "State") || !strings.Contains(got, "\t cubic wscale:7,7 ") || !strings.Contains(got, "send 778.7Mbps") {
		t.Errorf("ss -iH printed:\n%s", got)
	}
}

// TestSSTimeFormats: times as ss prints them: milliseconds with C's %g
// for -i, print_ms_timer's units for -o.
func TestSSTimeFormats(t *testing.T) {
	for d, want := range map[time.Duration]string{
		479 * time.Microsecond: "0.479", 204 * time.Millisecond: "204", 1500 * time.Nanosecond: "0.001",
		120 * time.Second: "120000", 1234567 * time.Millisecond: "1.23457e+06",
	} {
		if got := millis(d); got != want {
			t.Errorf("millis(%v) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		204 * time.Millisecond: "204ms", 1500 * time.Millisecond: "1.500ms", 59 * time.Second: "59sec",
		12*time.Second + 300*time.Millisecond: "12sec", 2*time.Minute + 3*time.Second: "2min3sec", 119 * time.Minute: "119min", 0: "",
	} {
		if got := msTimer(d); got != want {
			t.Errorf("msTimer(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestInfoFieldsByState: a connection shows only the figures its state
// has: none in LISTEN and TIME-WAIT, no bytes received in SYN-SENT, and
// retransmissions, losses and backoff only when there are some.
func TestInfoFieldsByState(t *testing.T) {
	for _, st := range []string{"LISTEN", "TIME-WAIT"} {
		if f := infoFields(&control.ConnStatus{State: st, MSS: 1460, RTO: "1s", SndWScale: 7}, false, true); f != nil {
			t.Errorf("%s: %q, want no ss -i line", st, f)
		}
	}
	synSent := control.ConnStatus{State: "SYN-SENT", MSS: 1460, Cwnd: 14600, Ssthresh: 1 << 30, RTO: "1s", SRTT: "0s", SndWScale: -1,
		ISS: 7, SndUna: 7, SndNxt: 8, SegsOut: 1, Backoff: 2, Retransmits: 2}
	got := strings.Join(infoFields(&synSent, false, true), " ")
	if want := "rto:1000 backoff:2 mss:1460 cwnd:10 segs_out:1 unacked:1 retrans:?/2"; got != want {
		t.Errorf("SYN-SENT: %q, want %q", got, want)
	}
	recovering := control.ConnStatus{State: "ESTABLISHED", MSS: 1000, Cwnd: 5000, Ssthresh: 5000, RTO: "300ms", SRTT: "100ms", RTTVar: "50ms",
		SndWScale: -1, ISS: 0, SndUna: 10001, SndNxt: 20001, SendQueue: 15000, LostBytes: 2500, SackedBytes: 1000, Retransmits: 3}
	got = strings.Join(infoFields(&recovering, false, true), " ")
	if want := "reno"; strings.Contains(got, want) {
		t.Errorf("no congestion control named, yet %q", got)
	}
	if want := "rto:300 rtt:100/50 mss:1000 cwnd:5 ssthresh:5 bytes_sent:20000 bytes_acked:10000 send 400.0Kbps unacked:10 retrans:?/3 lost:3 sacked:1 notsent:5000"; got != want {
		t.Errorf("in recovery:\n got %q\nwant %q", got, want)
	}
}
