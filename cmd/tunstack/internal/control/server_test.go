package control_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/clitest"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// request sends one request line and returns the connection and reply.
func request(t *testing.T, path, line string) (*net.UnixConn, *bufio.Reader, control.Reply) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	conn := c.(*net.UnixConn)
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, line+"\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	reply, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatalf("reading reply to %s: %v", line, err)
	}
	var parsed control.Reply
	if err := json.Unmarshal(reply, &parsed); err != nil {
		t.Fatalf("reply %q: %v", reply, err)
	}
	return conn, r, parsed
}

func TestControlDialErrors(t *testing.T) {
	path, _, _ := clitest.StartFakeControl(t, nil)
	for _, tt := range []struct{ request, wantErr string }{
		{`{"op":"dial","addr":"10.77.0.1:9"}`, "connection refused"},
		{`{"op":"dial","addr":"10.77.0.1:10","timeout":"50ms"}`, "connection timed out"},
		{`{"op":"dial","addr":"10.77.0.1:80","timeout":"soon"}`, `bad timeout "soon"`},
		{`{"op":"dial","addr":"10.77.0.1:80","timeout":"-1s"}`, `bad timeout "-1s"`},
		{`{"op":"dial","addr":"nowhere"}`, `bad address: "nowhere": want HOST:PORT`},
		{`{"op":"reboot"}`, `unknown op "reboot"`},
		{`{"op":`, "malformed request"},
	} {
		t.Run(tt.request, func(t *testing.T) {
			conn, r, reply := request(t, path, tt.request)
			if reply.OK || !strings.Contains(reply.Error, tt.wantErr) {
				t.Errorf("reply = %+v, want error %q", reply, tt.wantErr)
			}
			// The daemon closes the connection after an error.
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
				t.Errorf("after the error: read %q, %v; want EOF", rest, err)
			}
		})
	}
}

func TestControlStatus(t *testing.T) {
	path, _, _ := clitest.StartFakeControl(t, nil)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintln(c, `{"op":"status"}`)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	// The names tests/ and `tunstack ss` read.
	for _, want := range []string{
		`"ok":true`,
		`"counters":{"packets_in":3,`,
		`"drops":{"no-listener":1}`,
		`"connections":[{"local":"10.77.0.2:80","remote":"10.77.0.1:40000","state":"ESTABLISHED","states":["LISTEN","SYN-RECEIVED","ESTABLISHED"],`,
		`"snd_nxt":1001`,
		`"rto":"1s"`,
	} {
		if !strings.Contains(line, want) {
			t.Errorf("status reply lacks %s:\n%s", want, line)
		}
	}
}

func TestControlEvents(t *testing.T) {
	path, backend, _ := clitest.StartFakeControl(t, nil)
	conn, r, reply := request(t, path, `{"op":"events"}`)
	if !reply.OK {
		t.Fatalf("events reply = %+v", reply)
	}
	id := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	syn := stack.SegmentSummary{Flags: tcp.FlagSYN, Seq: 1000, Window: 64240, Options: tcp.Options{MSS: 1460, HasWindowScale: true, WindowScale: 7}}
	isn := stack.ISNs{Remote: 1000, RemoteKnown: true}
	backend.Events <- stack.Event{Time: at, Kind: stack.EventSegmentIn, Conn: id, State: tcp.Listen, Seg: syn, ISN: isn}
	backend.Events <- stack.Event{Time: at, Kind: stack.EventStateChange, Conn: id, State: tcp.SynReceived, From: tcp.Listen, To: tcp.SynReceived, Reason: tcp.ReasonListenSYN}
	want := []string{
		`{"time":"2025-01-02T03:04:05Z","kind":"segment-in","local":"10.77.0.2:80","remote":"10.77.0.1:40000","state":"LISTEN","seg":{"flags":"SYN","seq":1000,"ack":0,"rel_seq":0,"win":64240,"len":0,"options":{"mss":1460,"wscale":7}},"irs":1000}`,
		`{"time":"2025-01-02T03:04:05Z","kind":"state","local":"10.77.0.2:80","remote":"10.77.0.1:40000","state":"SYN-RECEIVED","from":"LISTEN","to":"SYN-RECEIVED","reason":"listen-syn","rule":"rfc9293:3.10.7.2","rfc":"RFC 9293 §3.10.7.2","why":"SYN in LISTEN: send SYN-ACK, enter SYN-RECEIVED"}`,
	}
	for _, w := range want {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(line) != w {
			t.Errorf("event line\n got %s\nwant %s", strings.TrimSpace(line), w)
		}
		var back control.Event
		if err := json.Unmarshal([]byte(line), &back); err != nil {
			t.Errorf("event line does not parse back: %v", err)
		}
	}
	// Hanging up ends the subscription.
	conn.Close()
	select {
	case <-backend.Unsubscribed:
	case <-time.After(5 * time.Second):
		t.Fatal("the events stream did not unsubscribe after the client hung up")
	}
}

// TestEventsFilterIsChecked: the filter travels in the request and a bad
// one is refused at the daemon.
func TestEventsFilterIsChecked(t *testing.T) {
	path, _, _ := clitest.StartFakeControl(t, nil)
	_, _, reply := request(t, path, `{"op":"events","filter":{"states":["HALF-OPEN"]}}`)
	if reply.OK || !strings.Contains(reply.Error, "bad filter") {
		t.Errorf("reply %+v, want a bad filter error", reply)
	}
}
