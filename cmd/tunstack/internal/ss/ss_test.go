package ss

import (
	"net/netip"
	"slices"
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

func TestParseStateArgs(t *testing.T) {
	if _, err := ParseStateArgs([]string{"state", "established", "sport"}); err == nil {
		t.Error("parseStateArgs accepted a stray word")
	}
	if got, _ := ParseStateArgs([]string{"state", "time-wait", "state", "last-ack"}); !slices.Equal(got, []string{"time-wait", "last-ack"}) {
		t.Errorf("parseStateArgs = %q", got)
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
	for _, bad := range []Options{{Stuck: true, States: []string{"established"}}, {MinAge: -time.Second}, {States: []string{"half-open"}}} {
		if _, err := bad.Matcher(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestWriteSS: a header, a line per connection, and below each but a
// listener its details and the states it went through.
func TestWriteSS(t *testing.T) {
	conns := []control.ConnStatus{
		{State: "LISTEN", Local: "10.77.0.2:80", Remote: "*", SendQ: 4096},
		{State: "ESTABLISHED", Local: "10.77.0.2:80", Remote: "10.77.0.1:40000", RecvQ: 6, Age: "1.234567s",
			States: []string{"CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED"}, MSS: 1460, Cwnd: 14600, Ssthresh: 1 << 30,
			RTO: "201ms", SRTT: "150µs", RTTVar: "75µs", SndWScale: 7, RcvWScale: 7, SACK: true,
			Timers: []control.TimerStatus{{Name: control.TimerKeepAlive, Left: "1h59m59.5s"}}},
	}
	var b strings.Builder
	writeSS(&b, conns)
	want := "State        Recv-Q  Send-Q  Local Address:Port  Peer Address:Port  Age\n" +
		"LISTEN       0       4096    10.77.0.2:80        *                  -\n" +
		"ESTABLISHED  6       0       10.77.0.2:80        10.77.0.1:40000    1.2s\n" +
		"\t wscale:7,7 rto:201ms rtt:150µs/75µs mss:1460 cwnd:10 sack snd_wnd:0 rcv_wnd:0 segs_in:0 segs_out:0 retrans:0 timers:(keepalive,2h0m0s)\n" +
		"\t states: LISTEN → SYN-RECEIVED → ESTABLISHED\n"
	if b.String() != want {
		t.Errorf("writeSS:\n%s\nwant:\n%s", b.String(), want)
	}
}
