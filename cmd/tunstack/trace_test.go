package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/clitest"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

func TestTraceLine(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.Local)
	id := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	isns := stack.ISNs{Local: 5000, Remote: 1000, LocalKnown: true, RemoteKnown: true}
	for _, tt := range []struct {
		e    stack.Event
		want string
	}{
		{stack.Event{Time: at, Kind: stack.EventSegmentIn, Conn: id, State: tcp.Listen, ISN: stack.ISNs{Remote: 1000, RemoteKnown: true},
			Seg: stack.SegmentSummary{Flags: tcp.FlagSYN, Seq: 1000, Window: 64240, Options: tcp.Options{MSS: 1460, SACKPermitted: true, HasWindowScale: true, WindowScale: 7}}},
			"03:04:05.000006 in    10.77.0.1:40000 > 10.77.0.2:80  SYN seq=0 (1000) win=64240 len=0 <mss 1460,sackOK,wscale 7> [LISTEN]"},
		{stack.Event{Time: at, Kind: stack.EventStateChange, Conn: id, State: tcp.SynReceived, From: tcp.Listen, To: tcp.SynReceived, Reason: tcp.ReasonListenSYN},
			"03:04:05.000006 state 10.77.0.2:80 - 10.77.0.1:40000  LISTEN → SYN-RECEIVED: RFC 9293 §3.10.7.2: SYN in LISTEN: send SYN-ACK, enter SYN-RECEIVED [listen-syn]"},
		{stack.Event{Time: at, Kind: stack.EventSegmentOut, Conn: id, State: tcp.Established, ISN: isns, Reason: tcp.ReasonRSTInWindowChallenge,
			Seg: stack.SegmentSummary{Flags: tcp.FlagACK, Seq: 5001, Ack: 1001, Window: 2048}},
			"03:04:05.000006 out   10.77.0.2:80 > 10.77.0.1:40000  ACK seq=1 (5001) ack=1 (1001) win=2048 len=0 [ESTABLISHED] RFC 9293 §3.10.7.4: RST in window but not exact: challenge ACK, RFC 5961 §3.2 [rst-in-window]"},
		{stack.Event{Time: at, Kind: stack.EventDrop, Conn: id, State: tcp.Established, ISN: isns, Reason: tcp.ReasonUnacceptable,
			Seg: stack.SegmentSummary{Flags: tcp.FlagACK | tcp.FlagPSH, Seq: 900, Ack: 5001, Len: 10, Options: tcp.Options{NumSACK: 1, SACK: [4]tcp.SACKBlock{{Left: 5101, Right: 5201}}}}},
			"03:04:05.000006 drop  10.77.0.1:40000 > 10.77.0.2:80  PSH-ACK seq=4294967196 (900) ack=1 (5001) win=0 len=10 <sack 1 {101 (5101):201 (5201)}> [ESTABLISHED] dropped: RFC 9293 §3.10.7.4: segment not acceptable: send ACK, drop [unacceptable]"},
		{stack.Event{Time: at, Kind: stack.EventDrop, Detail: "ip-bad-checksum"},
			"03:04:05.000006 drop  dropped: ip-bad-checksum"},
		{stack.Event{Time: at, Kind: stack.EventDrop, Detail: "martian-source-loopback",
			Src: netip.MustParseAddr("127.0.0.1"), Dst: netip.MustParseAddr("10.77.0.2")},
			"03:04:05.000006 drop  127.0.0.1 > 10.77.0.2  dropped: RFC 1122 §3.2.1.3: martian source: a loopback address [martian-source-loopback]"},
		{stack.Event{Time: at, Kind: stack.EventDrop, Detail: "not-our-address",
			Src: netip.MustParseAddr("fd00:77::1"), Dst: netip.MustParseAddr("fd00:77::9")},
			"03:04:05.000006 drop  fd00:77::1 > fd00:77::9  dropped: not addressed to the stack [not-our-address]"},
		{stack.Event{Time: at, Kind: stack.EventDrop, Conn: id, State: tcp.Established, ISN: isns, Reason: tcp.ReasonInvalidRateLimited,
			Seg: stack.SegmentSummary{Flags: tcp.FlagSYN, Seq: 77777}},
			"03:04:05.000006 drop  10.77.0.1:40000 > 10.77.0.2:80  SYN seq=76777 (77777) win=0 len=0 [ESTABLISHED] dropped: RFC 5961 §7: unacceptable segment: drop, no ACK: the connection sent one too recently (ACK throttling) [invalid-ratelimit]"},
	} {
		if got := traceLine(&tt.e); got != tt.want {
			t.Errorf("traceLine:\n got %s\nwant %s", got, tt.want)
		}
	}
}

// runningTrace is `tunstack trace` running in the test.
type runningTrace struct {
	stdout, stderr lockedBuffer
	exited         chan struct{} // closed when it has returned code
	code           int
}

// startTrace runs `tunstack trace args...` until it ends or the test
// does, and waits until it watches: from then on it misses nothing.
func startTrace(t *testing.T, args ...string) *runningTrace {
	t.Helper()
	r := &runningTrace{exited: make(chan struct{})}
	c := newCLI(strings.NewReader(""), &r.stdout, &r.stderr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	go func() {
		defer close(r.exited)
		r.code = c.run(ctx, append([]string{"trace"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		<-r.exited
	})
	clitest.WaitUntil(t, "trace to watch", func() bool {
		select {
		case <-r.exited:
			t.Fatalf("trace exited %d: %s", r.code, r.stderr.String())
		default:
		}
		return strings.Contains(r.stderr.String(), "watching")
	})
	return r
}

// TestTraceOverRealStack traces a connection to a real stack's discard
// service three ways at once: text, JSON, and a ladder with its SVG.
func TestTraceOverRealStack(t *testing.T) {
	pair := clitest.NewStackPair(t)
	ln, err := pair.Ours.Listen("tcp", ":9")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go stack.ServeDiscard(ln)
	path, _ := clitest.ServeControl(t, control.StackBackend{Stack: pair.Ours})
	svg := filepath.Join(t.TempDir(), "ladder.svg")

	text := startTrace(t, "--control", path, "--sport", "9", "--count", "3")
	jsonOut := startTrace(t, "--control", path, "--json", "--port", "9")
	ladderOut := startTrace(t, "--control", path, "--ladder", "--svg", svg, "--count", "1")
	other := startTrace(t, "--control", path, "--dport", "9") // the peer's port is not 9: nothing

	c := pair.DialFromPeer(t, "10.77.0.2:9")
	io.WriteString(c, "hello")
	c.Close()

	select {
	case <-ladderOut.exited:
		if ladderOut.code != exitOK {
			t.Fatalf("trace --ladder exited %d: %s", ladderOut.code, ladderOut.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("trace --ladder --count 1 did not end; printed:\n%s", ladderOut.stdout.String())
	}
	for _, want := range []string{"tunstack is the server", "--- SYN seq=x", "<-- SYN-ACK seq=y ack=x+1", "LAST-ACK", "TIME-WAIT~", "RFC 9293 §3.10.7.4: ACK of our FIN in LAST-ACK: delete TCB"} {
		if !strings.Contains(ladderOut.stdout.String(), want) {
			t.Errorf("ladder lacks %q:\n%s", want, ladderOut.stdout.String())
		}
	}
	f, err := os.Open(svg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for dec := xml.NewDecoder(f); ; {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s is not well-formed: %v", svg, err)
		}
	}

	clitest.WaitUntil(t, "the JSON trace to reach CLOSED", func() bool { return strings.Contains(jsonOut.stdout.String(), `"to":"CLOSED"`) })
	var states []string
	for _, line := range strings.Split(strings.TrimSpace(jsonOut.stdout.String()), "\n") {
		var e control.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("JSON line %q: %v", line, err)
		}
		if e.Kind == control.KindState {
			states = append(states, e.From+">"+e.To+":"+e.Reason)
		}
	}
	want := []string{"CLOSED>LISTEN:open-passive", "LISTEN>SYN-RECEIVED:listen-syn", "SYN-RECEIVED>ESTABLISHED:synrcvd-ack",
		"ESTABLISHED>CLOSE-WAIT:fin", "CLOSE-WAIT>LAST-ACK:close", "LAST-ACK>CLOSED:last-ack-done"}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("state changes (-want +got):\n%s", diff)
	}
	<-text.exited // --count 3
	if lines := text.stdout.String(); text.code != exitOK || strings.Count(lines, "\n") != 3 ||
		!strings.Contains(lines, "in    10.77.0.1:") || !strings.Contains(lines, "SYN seq=0 (") {
		t.Errorf("text trace (exit %d):\n%s", text.code, lines)
	}
	if out := other.stdout.String(); out != "" {
		t.Errorf("trace --dport 9 printed events of a connection from another port:\n%s", out)
	}
}
