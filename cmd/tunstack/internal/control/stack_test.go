package control_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/clitest"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/ladder"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// TestControlOverRealStack drives the control socket against a real stack:
// dial through it to an echo service on the peer stack, with a half-close,
// then check status and the events of the connection.
func TestControlOverRealStack(t *testing.T) {
	pair := clitest.NewStackPair(t)
	ln, err := pair.Peer.Listen("tcp", ":9000")
	if err != nil {
		t.Fatal(err)
	}
	go stack.ServeEcho(ln)

	path, _ := clitest.ServeControl(t, control.StackBackend{Stack: pair.Ours})

	var (
		finishedMu sync.Mutex
		finished   []ladder.Connection
	)
	events, unsubscribe := pair.Ours.Subscribe(8192)
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		var c ladder.Collector
		for e := range events {
			if conn, done := c.Add(e); done {
				finishedMu.Lock()
				finished = append(finished, conn)
				finishedMu.Unlock()
			}
		}
	}()

	session, err := control.Open(context.Background(), path, control.Request{Op: control.OpDial, Addr: "10.77.0.1:9000", Timeout: "5s"}, 10*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer session.Close()
	if session.Reply.Remote != "10.77.0.1:9000" {
		t.Errorf("reply remote = %q", session.Reply.Remote)
	}
	payload := make([]byte, 100_000)
	for i := range payload {
		payload[i] = byte(i)
	}
	var got bytes.Buffer
	if err := session.Relay(context.Background(), bytes.NewReader(payload), &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), payload) {
		t.Fatalf("echo returned %d bytes, sent %d", got.Len(), len(payload))
	}

	_, _, reply := request(t, path, `{"op":"dial","addr":"10.77.0.1:9","timeout":"5s"}`)
	if reply.Error != "connection refused" {
		t.Errorf("dial to a closed port: reply %+v, want connection refused", reply)
	}

	// Our end closed first (the client's half-close), so it ends in
	// TIME-WAIT, and is handed back as it enters it.
	wantPath := []string{"CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"}
	testkit.Eventually(t, "the dialed connection to close", func() bool {
		finishedMu.Lock()
		defer finishedMu.Unlock()
		return len(finished) == 2
	})
	unsubscribe()
	<-consumed
	// The dialed one is handed back as it enters TIME-WAIT, which may
	// come before or after the refused one ends.
	dialed, refused := finished[0], finished[1]
	if dialed.Events[0].Conn.Remote.Port() != 9000 {
		dialed, refused = refused, dialed
	}
	if st := stateNames(dialed.Events); !slices.Equal(st, wantPath) {
		t.Errorf("states of the dialed connection = %v, want %v", st, wantPath)
	}
	if st, want := stateNames(refused.Events), []string{"CLOSED", "SYN-SENT", "CLOSED"}; !slices.Equal(st, want) {
		t.Errorf("states of the refused connection = %v, want %v", st, want)
	}
	var diagrams strings.Builder
	for _, conn := range finished {
		d, err := ladder.New(conn, ladder.Options{Collapse: true})
		if err != nil {
			t.Fatal(err)
		}
		d.WriteText(&diagrams)
	}
	t.Logf("ladder:\n%s", diagrams.String())
}

// TestMemstatsFromAStack: a StackBackend's memstats count the stack's
// connections by state and the connections the hold service keeps.
func TestMemstatsFromAStack(t *testing.T) {
	pair := clitest.NewStackPair(t)
	ln, err := pair.Ours.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	path, _ := clitest.ServeControl(t, control.StackBackend{Stack: pair.Ours, Held: func() int64 { return 7 }})
	m, err := control.FetchMemstats(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if m.StateCount(tcp.Listen) != 1 || m.Held != 7 {
		t.Errorf("memstats states %v, held %d; want one LISTEN and 7 held", m.States, m.Held)
	}
}

// stateNames is every state a connection's events went through.
func stateNames(events []stack.Event) []string {
	var names []string
	for _, e := range events {
		if e.Kind != stack.EventStateChange {
			continue
		}
		if len(names) == 0 {
			names = append(names, e.From.String())
		}
		names = append(names, e.To.String())
	}
	return names
}

// TestStatusListsUDPSockets: a native stack's status carries its UDP
// sockets.
func TestStatusListsUDPSockets(t *testing.T) {
	pair := clitest.NewStackPair(t)
	pc, err := pair.Ours.ListenPacket("udp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	reply := control.StackBackend{Stack: pair.Ours}.Status()
	want := []control.UDPSocket{{Local: "0.0.0.0:7"}} // the stack has IPv4 only
	if !slices.Equal(reply.UDPSockets, want) {
		t.Errorf("UDP sockets %+v, want %+v", reply.UDPSockets, want)
	}
}
