package main

import (
	"encoding/json"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/clitest"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

func TestParseStateArgs(t *testing.T) {
	if _, err := parseStateArgs([]string{"state", "established", "sport"}); err == nil {
		t.Error("parseStateArgs accepted a stray word")
	}
	if got, _ := parseStateArgs([]string{"state", "time-wait", "state", "last-ack"}); !slices.Equal(got, []string{"time-wait", "last-ack"}) {
		t.Errorf("parseStateArgs = %q", got)
	}
}

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
		if got := waitingFor(&tt.c); got != tt.want {
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
	if got := waitingFor(&c); got != "the ACK of our FIN (retransmitting, backoff 2, next in 1s)" {
		t.Errorf("waitingFor = %q", got)
	}
}

// TestSSOverRealStack lists a real stack's connections: one held open,
// one the peer has closed and the application has not (CLOSE-WAIT).
func TestSSOverRealStack(t *testing.T) {
	pair := clitest.NewStackPair(t)
	ln, err := pair.Ours.Listen("tcp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open: never read, never closed
		}
	}()
	path, _ := clitest.ServeControl(t, control.StackBackend{Stack: pair.Ours})
	held := pair.DialFromPeer(t, "10.77.0.2:7")
	closing := pair.DialFromPeer(t, "10.77.0.2:7")
	for range 2 {
		c := <-accepted
		defer c.Close()
	}
	held.Write([]byte("unread"))
	closing.Close()

	var conns []control.ConnStatus
	clitest.WaitUntil(t, "one ESTABLISHED and one CLOSE-WAIT connection", func() bool {
		code, out, errOut := runCLI(t, noCapabilities, nil, "ss", "--control", path, "--json")
		if code != exitOK {
			t.Fatalf("ss --json exited %d: %s", code, errOut)
		}
		conns = nil
		if err := json.Unmarshal([]byte(out), &conns); err != nil {
			t.Fatalf("ss --json printed %q: %v", out, err)
		}
		var states []string
		for _, c := range conns {
			states = append(states, c.State)
		}
		slices.Sort(states)
		return slices.Equal(states, []string{"CLOSE-WAIT", "ESTABLISHED"})
	})
	for _, c := range conns {
		if c.Local != "10.77.0.2:7" || c.Since == nil || c.Age == "" || c.MSS == 0 || c.RTO == "" || len(c.States) < 3 {
			t.Errorf("connection %+v lacks its ends, age, MSS, RTO or states", c)
		}
		if c.State == "ESTABLISHED" && c.RecvQ != len("unread") {
			t.Errorf("ESTABLISHED Recv-Q = %d, want %d", c.RecvQ, len("unread"))
		}
	}

	code, out, _ := runCLI(t, noCapabilities, nil, "ss", "--control", path, "-a")
	for _, want := range []string{"State", "Recv-Q", "LISTEN", "10.77.0.2:7", "ESTABLISHED", "CLOSE-WAIT", "rto:", "mss:", "states: LISTEN → SYN-RECEIVED → ESTABLISHED"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("ss -a (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	code, out, _ = runCLI(t, noCapabilities, nil, "ss", "--control", path, "state", "close-wait")
	if code != exitOK || strings.Contains(out, "\nESTABLISHED") || !strings.Contains(out, "\nCLOSE-WAIT") {
		t.Errorf("ss state close-wait (exit %d):\n%s", code, out)
	}
	code, out, _ = runCLI(t, noCapabilities, nil, "ss", "--control", path, "--stuck", "--min-age", "0s")
	if code != exitOK || !strings.Contains(out, "\nCLOSE-WAIT") || !strings.Contains(out, "the application to close") || strings.Contains(out, "\nESTABLISHED") {
		t.Errorf("ss --stuck (exit %d):\n%s", code, out)
	}
	code, out, _ = runCLI(t, noCapabilities, nil, "ss", "--control", path, "--stuck")
	if code != exitOK || !strings.Contains(out, "no connection has been") {
		t.Errorf("ss --stuck with the default age (exit %d):\n%s", code, out)
	}
}

func TestSSUsageErrors(t *testing.T) {
	missing := filepath.Join(clitest.ShortTempDir(t), "none.sock")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ss", "--control", missing, "-s", "half-open"}, exitUsage, `unknown state "half-open"`},
		{[]string{"ss", "--control", missing, "state"}, exitUsage, "the only positional filter is: state STATE"},
		{[]string{"ss", "--control", missing, "--stuck", "-s", "established"}, exitUsage, "--stuck looks at"},
		{[]string{"ss", "--control", missing, "--remote", "nowhere"}, exitUsage, `remote "nowhere"`},
		{[]string{"ss", "--control", missing}, exitFailure, "no tunstack daemon is running there"},
		{[]string{"trace", "--control", missing, "--json", "--ladder"}, exitUsage, "do not go together"},
		{[]string{"trace", "--control", missing}, exitFailure, "no tunstack daemon is running there"},
	} {
		code, _, errOut := runCLI(t, noCapabilities, nil, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}
