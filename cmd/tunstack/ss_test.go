package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

func TestParseStates(t *testing.T) {
	for _, tt := range []struct {
		in      []string
		want    []string
		wantErr bool
	}{
		{[]string{"established"}, []string{"ESTABLISHED"}, false},
		{[]string{"time-wait,syn-recv", "LISTEN"}, []string{"TIME-WAIT", "SYN-RECEIVED", "LISTEN"}, false},
		{[]string{"bucket"}, []string{"SYN-RECEIVED", "TIME-WAIT"}, false},
		{[]string{"synchronized"}, []string{"SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"}, false},
		{[]string{"established", "estab"}, []string{"ESTABLISHED"}, false},
		{[]string{"half-open"}, nil, true},
	} {
		got, err := parseStates(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("parseStates(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if _, err := parseStateArgs([]string{"state", "established", "sport"}); err == nil {
		t.Error("parseStateArgs accepted a stray word")
	}
	if got, _ := parseStateArgs([]string{"state", "time-wait", "state", "last-ack"}); !slices.Equal(got, []string{"time-wait", "last-ack"}) {
		t.Errorf("parseStateArgs = %q", got)
	}
}

func TestConnFilter(t *testing.T) {
	server := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	client := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:49152"), Remote: netip.MustParseAddrPort("10.77.0.1:9000")}
	for _, tt := range []struct {
		name   string
		filter connFilter
		id     tcp.ID
		state  tcp.State
		want   bool
	}{
		{"empty", connFilter{}, server, tcp.Established, true},
		{"sport is the stack's", connFilter{SPort: 80}, server, tcp.Established, true},
		{"sport of the other end", connFilter{SPort: 40000}, server, tcp.Established, false},
		{"dport is the peer's", connFilter{DPort: 9000}, client, tcp.Established, true},
		{"port at either end", connFilter{Port: 9000}, client, tcp.Established, true},
		{"state", connFilter{States: []string{"TIME-WAIT"}}, server, tcp.Established, false},
		{"local address", connFilter{Local: "10.77.0.2"}, server, tcp.Established, true},
		{"local :port", connFilter{Local: ":80"}, server, tcp.Established, true},
		{"remote addr:port", connFilter{Remote: "10.77.0.1:40000"}, server, tcp.Established, true},
		{"remote other", connFilter{Remote: "10.77.0.3"}, server, tcp.Established, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.filter.compile()
			if err != nil {
				t.Fatal(err)
			}
			e := stack.Event{Kind: stack.EventSegmentIn, Conn: tt.id, State: tt.state}
			if got := m.matchEvent(&e); got != tt.want {
				t.Errorf("matchEvent = %v, want %v", got, tt.want)
			}
			c := connStatus{Local: tt.id.Local.String(), Remote: tt.id.Remote.String(), State: tt.state.String()}
			if got := m.matchConn(&c); got != tt.want {
				t.Errorf("matchConn = %v, want %v", got, tt.want)
			}
		})
	}
	// A state change matches the state it leaves and the one it enters.
	m, _ := (&connFilter{States: []string{"LAST-ACK"}}).compile()
	leave := stack.Event{Kind: stack.EventStateChange, Conn: server, From: tcp.LastAck, To: tcp.Closed, State: tcp.Closed}
	if !m.matchEvent(&leave) {
		t.Error("LAST-ACK → CLOSED does not match state LAST-ACK")
	}
	// A drop before demultiplexing matches only an empty filter.
	drop := stack.Event{Kind: stack.EventDrop, Detail: "ip-bad-checksum"}
	if m.matchEvent(&drop) {
		t.Error("a drop without a connection matches a state filter")
	}
	if all, _ := (&connFilter{}).compile(); !all.matchEvent(&drop) {
		t.Error("a drop without a connection does not match the empty filter")
	}
	// A listener has no peer: a remote filter never matches it.
	listener := connStatus{Local: "10.77.0.2:80", Remote: "*", State: "LISTEN"}
	if m, _ := (&connFilter{DPort: 80}).compile(); m.matchConn(&listener) {
		t.Error("--dport matched a listener")
	}
	if m, _ := (&connFilter{SPort: 80}).compile(); !m.matchConn(&listener) {
		t.Error("--sport did not match a listener on that port")
	}
	for _, bad := range []connFilter{{Local: "nowhere"}, {Remote: ":0"}, {States: []string{"SYN-RCVD"}}} {
		if _, err := bad.compile(); err == nil {
			t.Errorf("%+v compiled", bad)
		}
	}
}

func TestWaitingFor(t *testing.T) {
	rtx := []timerStatus{{Name: timerRetransmit, Left: "1.6s", Backoff: 3}}
	for _, tt := range []struct {
		c    connStatus
		want string
	}{
		{connStatus{State: "CLOSE-WAIT"}, "the application to close: the peer has sent its FIN"},
		{connStatus{State: "CLOSE-WAIT", RecvQ: 12}, "the application to close: the peer has sent its FIN, 12 bytes before it are unread"},
		{connStatus{State: "CLOSE-WAIT", AppClosed: true, SendQ: 4096}, "the peer to take 4096 bytes queued before our FIN (its window is 0)"},
		{connStatus{State: "FIN-WAIT-2"}, "the peer's FIN (no time-out while the application holds the connection open)"},
		{connStatus{State: "FIN-WAIT-2", Timers: []timerStatus{{Name: timerFinWait2, Left: "42.25s"}}}, "the peer's FIN (the application has closed: gives up in 42.3s)"},
		{connStatus{State: "LAST-ACK", Timers: rtx, Backoff: 3}, "the ACK of our FIN (retransmitting, backoff 3, next in 1.6s)"},
		{connStatus{State: "SYN-RECEIVED", Timers: []timerStatus{{Name: timerRetransmit, Left: "800ms"}}}, "the ACK of our SYN-ACK (retransmission in 800ms)"},
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
		if got := stuck(&connStatus{State: tt.state, Age: tt.age}, 10*time.Second); got != tt.want {
			t.Errorf("stuck(%s for %q) = %v, want %v", tt.state, tt.age, got, tt.want)
		}
	}
}

func TestNewConnStatusTimers(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	id := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	c := newConnStatus(stack.ConnInfo{
		Status: tcp.Status{ID: id, State: tcp.LastAck, Backoff: 2, RetransmitAt: at.Add(time.Second),
			DelayedACKAt: at.Add(40 * time.Millisecond), SendQueue: 10, RecvQueue: 3, SendWindowScale: 7, RecvWindowScale: 9},
		States: []tcp.State{tcp.Listen, tcp.SynReceived, tcp.Established, tcp.CloseWait, tcp.LastAck},
		Since:  at.Add(-12 * time.Second), At: at, Unsent: 5, Unread: 4, AppClosed: true,
	})
	want := []timerStatus{{Name: timerDelayedACK, Left: "40ms"}, {Name: timerRetransmit, Left: "1s", Backoff: 2}}
	if diff := cmp.Diff(want, c.Timers); diff != "" {
		t.Errorf("timers (-want +got):\n%s", diff)
	}
	if c.Age != "12s" || c.RecvQ != 7 || c.SendQ != 15 || c.SndWScale != 7 || c.RcvWScale != 9 {
		t.Errorf("age %q recv-q %d send-q %d wscale %d,%d; want 12s, 7, 15, 7,9", c.Age, c.RecvQ, c.SendQ, c.SndWScale, c.RcvWScale)
	}
	if got := waitingFor(&c); got != "the ACK of our FIN (retransmitting, backoff 2, next in 1s)" {
		t.Errorf("waitingFor = %q", got)
	}
}

// startControlOnStack serves a control socket for the stack and returns
// its path.
func startControlOnStack(t *testing.T, st *stack.Stack) (string, *controlServer) {
	t.Helper()
	path := filepath.Join(shortTempDir(t), "ctl.sock")
	ln, err := listenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	server := newControlServer(ln, stackBackend{st}, slog.New(slog.DiscardHandler))
	go server.serve()
	t.Cleanup(server.close)
	return path, server
}

// TestSSOverRealStack lists a real stack's connections: one held open,
// one the peer has closed and the application has not (CLOSE-WAIT).
func TestSSOverRealStack(t *testing.T) {
	pair := newStackPair(t)
	ln, err := pair.ours.Listen("tcp", ":7")
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
	path, _ := startControlOnStack(t, pair.ours)
	held := dialPeer(t, pair, "10.77.0.2:7")
	closing := dialPeer(t, pair, "10.77.0.2:7")
	for range 2 {
		c := <-accepted
		defer c.Close()
	}
	held.Write([]byte("unread"))
	closing.Close()

	var conns []connStatus
	waitUntil(t, "one ESTABLISHED and one CLOSE-WAIT connection", func() bool {
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

// dialPeer opens a connection from the peer stack (the kernel's part).
func dialPeer(t *testing.T, pair stackPair, addr string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pair.peer.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSSUsageErrors(t *testing.T) {
	missing := filepath.Join(shortTempDir(t), "none.sock")
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
