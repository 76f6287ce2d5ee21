package demo

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/ladder"
	"github.com/tunstack/tunstack/stack/tcp"
)

// Builders of the events a recorder sees, from the stack's point of view.
func segIn(flags tcp.Flags, seq, ack uint32, n int) stack.Event {
	return stack.Event{Kind: stack.EventSegmentIn, Conn: httpID,
		Seg: stack.SegmentSummary{Flags: flags, Seq: tcp.Seq(seq), Ack: tcp.Seq(ack), Window: 64240, Len: n}}
}

func segOut(flags tcp.Flags, seq, ack uint32, n int) stack.Event {
	e := segIn(flags, seq, ack, n)
	e.Kind = stack.EventSegmentOut
	return e
}

func stateChange(from, to tcp.State, why tcp.Reason) stack.Event {
	return stack.Event{Kind: stack.EventStateChange, Conn: httpID, From: from, To: to, State: to, Reason: why}
}

// caused marks a state change as caused by a segment.
func caused(e stack.Event, by stack.Event) stack.Event {
	e.Seg = by.Seg
	return e
}

// withISNs sets what the stack knows of the ISNs on every event, and
// times them a millisecond apart.
func withISNs(events []stack.Event, local, remote uint32) []stack.Event {
	for i := range events {
		events[i].ISN = stack.ISNs{Local: tcp.Seq(local), Remote: tcp.Seq(remote), LocalKnown: true, RemoteKnown: true}
		events[i].Time = epoch.Add(time.Duration(i) * time.Millisecond)
	}
	return events
}

var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	syn    = tcp.FlagSYN
	ack    = tcp.FlagACK
	synAck = tcp.FlagSYN | tcp.FlagACK
	pshAck = tcp.FlagPSH | tcp.FlagACK
	finAck = tcp.FlagFIN | tcp.FlagACK
	rstAck = tcp.FlagRST | tcp.FlagACK
)

var httpID = tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:43210")}

// httpGet is a passive open, a request and a response, and a close by
// the client: what curl does to the HTTP service.
func httpGet() []stack.Event {
	syn1000 := segIn(syn, 1000, 0, 0)
	ack1001 := segIn(ack, 1001, 5001, 0)
	fin := segIn(finAck, 1078, 5301, 0)
	lastACK := segIn(ack, 1079, 5302, 0)
	return withISNs([]stack.Event{
		syn1000,
		stateChange(tcp.Closed, tcp.Listen, tcp.ReasonUserOpenPassive),
		caused(stateChange(tcp.Listen, tcp.SynReceived, tcp.ReasonListenSYN), syn1000),
		segOut(synAck, 5000, 1001, 0),
		ack1001,
		caused(stateChange(tcp.SynReceived, tcp.Established, tcp.ReasonSynReceivedACK), ack1001),
		segIn(pshAck, 1001, 5001, 77),
		segOut(pshAck, 5001, 1078, 300),
		segIn(ack, 1078, 5301, 0),
		fin,
		caused(stateChange(tcp.Established, tcp.CloseWait, tcp.ReasonFinReceived), fin),
		segOut(ack, 5301, 1079, 0),
		stateChange(tcp.CloseWait, tcp.LastAck, tcp.ReasonUserClose),
		segOut(finAck, 5301, 1079, 0),
		lastACK,
		caused(stateChange(tcp.LastAck, tcp.Closed, tcp.ReasonLastAckDone), lastACK),
	}, 5000, 1000)
}

// show draws a connection as the demo does, without a kernel report
// unless one is given.
func show(t *testing.T, c connTrace, kernel *ladder.PeerReport, verbose bool) string {
	t.Helper()
	dr, err := draw(c, kernel, nil, verbose)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	dr.write(&b)
	return b.String()
}

func TestDrawPassiveClose(t *testing.T) {
	out := show(t, connTrace{Events: httpGet()}, nil, false)
	for _, want := range []string{
		"client 10.77.0.1:43210 → server 10.77.0.2:80",
		"x = 1000 (client's ISN), y = 5000 (server's ISN)",
		"--- SYN seq=x win=64240 ---",
		"<-- SYN-ACK seq=y ack=x+1 win=64240 ---",
		"RFC 9293 §3.10.7.2: SYN in LISTEN: send SYN-ACK, enter SYN-RECEIVED",
		"… 3 segments: 77 bytes →, 300 bytes ←",
		"FIN-WAIT-1~",
		"--- FIN-ACK seq=x+78 ack=y+301 win=64240 ---",
		"LAST-ACK",
		"TIME-WAIT~",
		"the stack's states:  LISTEN → SYN-RECEIVED → ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED",
		"the kernel's states: CLOSED~ → SYN-SENT~ → ESTABLISHED~ → FIN-WAIT-1~ → FIN-WAIT-2~ → TIME-WAIT~ (inferred from its segments)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ladder lacks %q:\n%s", want, out)
		}
	}
	verbose := show(t, connTrace{Events: httpGet()}, nil, true)
	if strings.Contains(verbose, "… 3 segments") || !strings.Contains(verbose, "len=300") {
		t.Errorf("verbose ladder does not show every segment:\n%s", verbose)
	}
}

// TestDrawKernelStates: with the kernel's report, the kernel's column and
// path are its own: no "~", and the path the report gives.
func TestDrawKernelStates(t *testing.T) {
	events := httpGet()
	at := func(i int) time.Time { return events[i].Time.Add(time.Microsecond) }
	kernel := &ladder.PeerReport{Name: "kernel", Source: "sock:inet_sock_set_state", Changes: []ladder.PeerChange{
		{Time: events[0].Time.Add(-time.Microsecond), From: tcp.Closed, To: tcp.SynSent},
		{Time: at(3), From: tcp.SynSent, To: tcp.Established},
		{Time: at(8), From: tcp.Established, To: tcp.FinWait1},
		{Time: at(11), From: tcp.FinWait1, To: tcp.FinWait2},
		{Time: at(13), From: tcp.FinWait2, To: tcp.TimeWait},
	}}
	out := show(t, connTrace{Events: events}, kernel, false)
	for _, want := range []string{
		"the client is the kernel, with its own states (from sock:inet_sock_set_state)",
		"the kernel's states: CLOSED → SYN-SENT → ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT (its own, from sock:inet_sock_set_state)",
		"kernel: FIN-WAIT-2 → TIME-WAIT: RFC 9293 §3.10.7.4: FIN in FIN-WAIT-2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ladder lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "~") {
		t.Errorf("a state is marked inferred:\n%s", out)
	}
}

func TestDrawRefused(t *testing.T) {
	rst := segIn(rstAck, 0, 0xfffffff1, 0)
	events := []stack.Event{
		stateChange(tcp.Closed, tcp.SynSent, tcp.ReasonUserOpenActive),
		segOut(syn, 0xfffffff0, 0, 0),
		rst,
		caused(stateChange(tcp.SynSent, tcp.Closed, tcp.ReasonSynSentRefused), rst),
	}
	for i := range events {
		events[i].Conn = tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:49152"), Remote: netip.MustParseAddrPort("10.77.0.1:9")}
		events[i].ISN = stack.ISNs{Local: 0xfffffff0, LocalKnown: true}
	}
	kernel := &ladder.PeerReport{Name: "kernel", Source: "sock:inet_sock_set_state"}
	out := show(t, connTrace{Events: events}, kernel, false)
	for _, want := range []string{
		"client 10.77.0.2:49152 → server 10.77.0.1:9: tunstack is the client",
		"x = 4294967280 (client's ISN)",
		"RFC 9293 §3.10.1: active OPEN: send SYN, enter SYN-SENT",
		"<-- RST-ACK seq=0 ack=x+1 ---",
		"RFC 9293 §3.10.7.3: RST with acceptable ACK in SYN-SENT: connection refused",
		"the stack's states:  CLOSED → SYN-SENT → CLOSED",
		"the kernel's states: CLOSED (its own",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ladder lacks %q:\n%s", want, out)
		}
	}
	if _, err := verifyRefused(connTrace{Events: events}); err != nil {
		t.Errorf("verifyRefused: %v", err)
	}
	if _, err := verifyRefused(connTrace{Events: events[:2]}); err == nil {
		t.Error("verifyRefused passed a connection without RST")
	}
}

func TestVerifyRetransmission(t *testing.T) {
	first := segOut(syn, 100, 0, 0)
	again := segOut(syn, 100, 0, 0)
	again.Time = first.Time.Add(1001 * time.Millisecond)
	again.Reason = tcp.ReasonRetransmitSYN
	lines, err := verifyRetransmission(connTrace{Events: []stack.Event{first, again}})
	if err != nil || len(lines) != 1 || !strings.Contains(lines[0], "1001.0 ms after the first") {
		t.Errorf("verifyRetransmission = %q, %v", lines, err)
	}
	again.Reason = tcp.ReasonTailLossProbe
	if _, err := verifyRetransmission(connTrace{Events: []stack.Event{first, again}}); err == nil {
		t.Error("a SYN sent again for another reason passed")
	}
	if _, err := verifyRetransmission(connTrace{Events: []stack.Event{first}}); err == nil {
		t.Error("a single SYN passed")
	}
}

func TestRecorderGroupsByStepAndReuse(t *testing.T) {
	r := newRecorder()
	r.beginStep(0)
	r.add(segIn(syn, 1, 0, 0))
	r.add(stack.Event{Kind: stack.EventDrop, Detail: "ip-bad-checksum"}) // no connection: ignored
	r.add(stateChange(tcp.TimeWait, tcp.Closed, tcp.ReasonTimeWaitExpired))
	r.beginStep(1)
	r.add(segIn(syn, 2, 0, 0)) // the same 4-tuple, a new connection
	first, done := r.connections(0)
	if len(first) != 1 || len(first[0].Events) != 2 || !done || first[0].ID != httpID {
		t.Errorf("step 0: %d connections, done %v: %+v", len(first), done, first)
	}
	second, done := r.connections(1)
	if len(second) != 1 || len(second[0].Events) != 1 || done {
		t.Errorf("step 1: %d connections, done %v: %+v", len(second), done, second)
	}
}

// TestRecorderWaitState: waitState returns once the state change has
// been recorded, and gives up after its time.
func TestRecorderWaitState(t *testing.T) {
	r := newRecorder()
	r.add(stateChange(tcp.Closed, tcp.SynSent, tcp.ReasonUserOpenActive))
	go r.add(stateChange(tcp.SynSent, tcp.Established, tcp.ReasonSynSentSynAck))
	if err := r.waitState(context.Background(), same(httpID), tcp.Established); err != nil {
		t.Fatal(err)
	}
	err := r.waitFor(context.Background(), time.Millisecond, "FIN-WAIT-2", func() bool { return r.reached(same(httpID), tcp.FinWait2) })
	if err == nil {
		t.Error("waitFor a state never reached returned nil")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.waitState(ctx, same(httpID), tcp.FinWait2); err != ErrInterrupted {
		t.Errorf("waitState after cancel = %v, want ErrInterrupted", err)
	}
}

func TestCheckPing(t *testing.T) {
	ping := `PING 10.77.0.2 (10.77.0.2) 56(84) bytes of data.
64 bytes from 10.77.0.2: icmp_seq=1 ttl=64 time=0.05 ms

--- 10.77.0.2 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 1001ms
rtt min/avg/max/mdev = 0.041/0.045/0.050/0.004 ms
`
	lines, err := checkPing(ping)
	if err != nil || len(lines) != 2 || !strings.HasPrefix(lines[0], "2 packets transmitted") {
		t.Errorf("checkPing = %q, %v", lines, err)
	}
	if _, err := checkPing("2 packets transmitted, 0 received, 100% packet loss, time 1001ms\n"); err == nil {
		t.Error("checkPing(no replies) passed")
	}
}
