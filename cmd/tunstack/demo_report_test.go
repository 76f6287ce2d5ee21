package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/stack/tcp"
)

// Builders of the events a recorder sees, from the stack's point of view.
func segIn(flags tcp.Flags, seq, ack uint32, n int) wireEvent {
	return wireEvent{Kind: wireSegmentIn, Seg: &wireSegment{Flags: wireFlags(flags), Seq: seq, Ack: ack, Window: 64240, Len: n}}
}

func segOut(flags tcp.Flags, seq, ack uint32, n int) wireEvent {
	e := segIn(flags, seq, ack, n)
	e.Kind = wireSegmentOut
	return e
}

func stateChange(from, to tcp.State, why tcp.Reason) wireEvent {
	return wireEvent{Kind: wireState, From: from.String(), To: to.String(), Reason: why.Code(), Rule: why.Rule(), Why: why.Text()}
}

const (
	syn    = tcp.FlagSYN
	ack    = tcp.FlagACK
	synAck = tcp.FlagSYN | tcp.FlagACK
	pshAck = tcp.FlagPSH | tcp.FlagACK
	finAck = tcp.FlagFIN | tcp.FlagACK
	rstAck = tcp.FlagRST | tcp.FlagACK
)

// httpGet is a passive open, a request and a response, and a close by
// the client: what curl does to the HTTP service.
var httpGet = []wireEvent{
	stateChange(tcp.Closed, tcp.Listen, tcp.ReasonUserOpenPassive),
	segIn(syn, 1000, 0, 0),
	stateChange(tcp.Listen, tcp.SynReceived, tcp.ReasonListenSYN),
	segOut(synAck, 5000, 1001, 0),
	segIn(ack, 1001, 5001, 0),
	stateChange(tcp.SynReceived, tcp.Established, tcp.ReasonSynReceivedACK),
	segIn(pshAck, 1001, 5001, 77),
	segOut(pshAck, 5001, 1078, 300),
	segIn(ack, 1078, 5301, 0),
	segIn(finAck, 1078, 5301, 0),
	stateChange(tcp.Established, tcp.CloseWait, tcp.ReasonFinReceived),
	segOut(ack, 5301, 1079, 0),
	stateChange(tcp.CloseWait, tcp.LastAck, tcp.ReasonUserClose),
	segOut(finAck, 5301, 1079, 0),
	segIn(ack, 1079, 5302, 0),
	stateChange(tcp.LastAck, tcp.Closed, tcp.ReasonLastAckDone),
}

func TestWriteConnectionPassiveClose(t *testing.T) {
	var b strings.Builder
	writeConnection(&b, connTrace{Local: "10.77.0.2:80", Remote: "10.77.0.1:43210", Events: httpGet}, false)
	want := `connection 10.77.0.1:43210 → 10.77.0.2:80
  x = 1000 (client's ISN), y = 5000 (stack's ISN)
  client → stack  SYN      seq=x                          (seq=1000)
                  LISTEN → SYN-RECEIVED: SYN in LISTEN: send SYN-ACK, enter SYN-RECEIVED [listen-syn]
  stack → client  SYN-ACK  seq=y ack=x+1                  (seq=5000 ack=1001)
  client → stack  ACK      seq=x+1 ack=y+1                (seq=1001 ack=5001)
                  SYN-RECEIVED → ESTABLISHED: ACK of our SYN in SYN-RECEIVED: enter ESTABLISHED [synrcvd-ack]
  …               3 segments of data and ACKs: 77 bytes client → stack, 300 bytes stack → client
  client → stack  FIN-ACK  seq=x+78 ack=y+301             (seq=1078 ack=5301)
                  ESTABLISHED → CLOSE-WAIT: FIN: send ACK, enter CLOSE-WAIT [fin]
  stack → client  ACK      seq=y+301 ack=x+79             (seq=5301 ack=1079)
                  CLOSE-WAIT → LAST-ACK: CLOSE: queue FIN after pending data [close]
  stack → client  FIN-ACK  seq=y+301 ack=x+79             (seq=5301 ack=1079)
  client → stack  ACK      seq=x+79 ack=y+302             (seq=1079 ack=5302)
                  LAST-ACK → CLOSED: ACK of our FIN in LAST-ACK: delete TCB [last-ack-done]
  states: LISTEN → SYN-RECEIVED → ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("ladder (-want +got):\n%s", diff)
	}

	b.Reset()
	writeConnection(&b, connTrace{Local: "10.77.0.2:80", Remote: "10.77.0.1:43210", Events: httpGet}, true)
	if strings.Contains(b.String(), "segments of data") || !strings.Contains(b.String(), "len=300") {
		t.Errorf("verbose ladder does not show every segment:\n%s", b.String())
	}
}

func TestWriteConnectionRefused(t *testing.T) {
	events := []wireEvent{
		stateChange(tcp.Closed, tcp.SynSent, tcp.ReasonUserOpenActive),
		segOut(syn, 0xfffffff0, 0, 0),
		segIn(rstAck, 0, 0xfffffff1, 0),
		stateChange(tcp.SynSent, tcp.Closed, tcp.ReasonSynSentRefused),
	}
	var b strings.Builder
	writeConnection(&b, connTrace{Local: "10.77.0.2:49152", Remote: "10.77.0.1:9", Events: events}, false)
	want := `connection 10.77.0.2:49152 → 10.77.0.1:9
  x = 4294967280 (stack's ISN)
                  CLOSED → SYN-SENT: active OPEN: send SYN, enter SYN-SENT [open-active]
  stack → server  SYN      seq=x                          (seq=4294967280)
  server → stack  RST-ACK  seq=0 ack=x+1                  (seq=0 ack=4294967281)
                  SYN-SENT → CLOSED: RST with acceptable ACK in SYN-SENT: connection refused [synsent-refused]
  states: CLOSED → SYN-SENT → CLOSED
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("ladder (-want +got):\n%s", diff)
	}
}

func TestRelative(t *testing.T) {
	for _, tt := range []struct {
		v, isn uint32
		want   string
	}{
		{1000, 1000, "x"},
		{1001, 1000, "x+1"},
		{999, 1000, "x-1"},
		{3, 0xfffffffe, "x+5"}, // across the wrap
		{42, 0, "42"},          // ISN unknown
	} {
		if got := relative(tt.v, tt.isn, "x"); got != tt.want {
			t.Errorf("relative(%d, %d) = %q, want %q", tt.v, tt.isn, got, tt.want)
		}
	}
}

func TestRecorderGroupsByStepAndReuse(t *testing.T) {
	r := newRecorder()
	tuple := func(e wireEvent) wireEvent {
		e.Local, e.Remote = "10.77.0.2:7", "10.77.0.1:5000"
		return e
	}
	r.beginStep(0)
	r.add(tuple(segIn(syn, 1, 0, 0)))
	r.add(wireEvent{Kind: wireDrop, Detail: "ip-bad-checksum"}) // no connection: ignored
	r.add(tuple(stateChange(tcp.TimeWait, tcp.Closed, tcp.ReasonTimeWaitExpired)))
	r.beginStep(1)
	r.add(tuple(segIn(syn, 2, 0, 0))) // the same 4-tuple, a new connection
	first, done := r.connections(0)
	if len(first) != 1 || len(first[0].Events) != 2 || !done {
		t.Errorf("step 0: %d connections, done %v: %+v", len(first), done, first)
	}
	second, done := r.connections(1)
	if len(second) != 1 || len(second[0].Events) != 1 || done {
		t.Errorf("step 1: %d connections, done %v: %+v", len(second), done, second)
	}
}

func TestWireFlagsRoundTrip(t *testing.T) {
	for _, f := range []tcp.Flags{0, syn, synAck, finAck | tcp.FlagPSH, rstAck, tcp.FlagECE | tcp.FlagCWR} {
		text, _ := wireFlags(f).MarshalText()
		var back wireFlags
		if err := back.UnmarshalText(text); err != nil || tcp.Flags(back) != f {
			t.Errorf("flags %v → %q → %v, %v", f, text, tcp.Flags(back), err)
		}
	}
}

func TestCheckers(t *testing.T) {
	if lines, err := checkHTTP("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"); err != nil || lines[0] != "HTTP/1.1 200 OK  (5 bytes of body)" {
		t.Errorf("checkHTTP(200) = %q, %v", lines, err)
	}
	if _, err := checkHTTP("HTTP/1.1 404 Not Found\r\n\r\n"); err == nil {
		t.Error("checkHTTP(404) passed")
	}
	if _, err := checkHTTP(""); err == nil {
		t.Error("checkHTTP(nothing) passed")
	}
	if _, err := checkEcho(demoEcho); err != nil {
		t.Errorf("checkEcho(same) = %v", err)
	}
	if _, err := checkEcho("x"); err == nil {
		t.Error("checkEcho(other) passed")
	}
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
