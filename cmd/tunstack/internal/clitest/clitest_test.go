package clitest

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack"
)

// TestStackPairCarriesAConnection: the peer reaches a service on our
// stack over the in-memory link.
func TestStackPairCarriesAConnection(t *testing.T) {
	pair := NewStackPair(t)
	ln, err := pair.Ours.Listen("tcp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go stack.ServeEcho(ln)
	c := pair.DialFromPeer(t, "10.77.0.2:7")
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "ping")
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping" {
		t.Errorf("echo over the pair: %q, %v", got, err)
	}
}

// TestFakeControlAnswers: the fake's status, and its dial to the test's
// peer, through a real control socket.
func TestFakeControlAnswers(t *testing.T) {
	path, _, _ := StartFakeControl(t, func(c net.Conn) { io.WriteString(c, "hello") })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	status, err := control.FetchStatus(ctx, path)
	if err != nil || len(status.Connections) != 1 || status.Connections[0].State != "ESTABLISHED" {
		t.Fatalf("status %+v, %v; want one ESTABLISHED connection", status, err)
	}
	s, err := control.Open(ctx, path, control.Request{Op: control.OpDial, Addr: "10.77.0.1:9000"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out strings.Builder
	if err := s.Relay(ctx, strings.NewReader(""), &out); err != nil || out.String() != "hello" {
		t.Errorf("relay: %q, %v; want hello", out.String(), err)
	}
	if _, err := control.Open(ctx, path, control.Request{Op: control.OpDial, Addr: "10.77.0.1:9"}, 10*time.Second); err == nil || err.Error() != "connection refused" {
		t.Errorf("dial to port 9 = %v, want connection refused", err)
	}
}
