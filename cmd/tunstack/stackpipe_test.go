package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/ladder"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tundev"
)

// stackPair is two stacks joined by an in-memory link: ours at 10.77.0.2
// (the daemon's) and a peer at 10.77.0.1 (the kernel's part).
type stackPair struct {
	ours, peer *stack.Stack
}

func startStack(t *testing.T, link stack.Link, addr string) *stack.Stack {
	t.Helper()
	// A short MSL lets the side that closes first leave TIME-WAIT quickly.
	st, err := stack.New(link, stack.Options{Addrs: []netip.Addr{netip.MustParseAddr(addr)}, TCP: tcp.Config{MSL: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- st.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownBudget)
		defer cancel()
		st.Shutdown(ctx)
		link.Close()
		<-done
	})
	return st
}

func newStackPair(t *testing.T) stackPair {
	t.Helper()
	mem, peer := tundev.NewPipe(1500, 16)
	return stackPair{
		ours: startStack(t, mem, "10.77.0.2"),
		peer: startStack(t, peer.Link(1500), "10.77.0.1"),
	}
}

// TestControlOverRealStack drives the control socket against a real stack:
// dial through it to an echo service on the peer stack, with a half-close,
// then check status and the events of the connection.
func TestControlOverRealStack(t *testing.T) {
	pair := newStackPair(t)
	ln, err := pair.peer.Listen("tcp", ":9000")
	if err != nil {
		t.Fatal(err)
	}
	go stack.ServeEcho(ln)

	path := filepath.Join(shortTempDir(t), "ctl.sock")
	controlLn, err := listenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	server := newControlServer(controlLn, stackBackend{pair.ours}, slog.New(slog.DiscardHandler))
	go server.serve()
	t.Cleanup(server.close)

	var (
		finishedMu sync.Mutex
		finished   []ladder.Connection
	)
	events, unsubscribe := pair.ours.Subscribe(8192)
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

	conn, r, reply := request(t, path, `{"op":"dial","addr":"10.77.0.1:9000","timeout":"5s"}`)
	if !reply.OK {
		t.Fatalf("dial reply = %+v", reply)
	}
	if reply.Remote != "10.77.0.1:9000" {
		t.Errorf("reply remote = %q", reply.Remote)
	}
	payload := make([]byte, 100_000)
	for i := range payload {
		payload[i] = byte(i)
	}
	go func() {
		conn.Write(payload)
		conn.CloseWrite()
	}()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("echo returned %d bytes, sent %d", len(got), len(payload))
	}

	_, _, reply = request(t, path, `{"op":"dial","addr":"10.77.0.1:9","timeout":"5s"}`)
	if reply.Error != "connection refused" {
		t.Errorf("dial to a closed port: reply %+v, want connection refused", reply)
	}

	// Our end closed first (the client's half-close), so it ends in TIME-WAIT.
	wantPath := []string{"CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"}
	waitUntil(t, "the dialed connection to close", func() bool {
		finishedMu.Lock()
		defer finishedMu.Unlock()
		return len(finished) == 2
	})
	unsubscribe()
	<-consumed
	// The refused connection ends first; the dialed one after 2MSL.
	refused, dialed := finished[0], finished[1]
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

// waitUntil polls cond until it holds, failing the test after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
