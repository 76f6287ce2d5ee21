package services

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/clitest"
	"github.com/tunstack/tunstack/tests/testkit"
)

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

func TestEveryNameHasAService(t *testing.T) {
	for _, name := range Names {
		if Handler(name) == nil && PacketHandler(name) == nil {
			t.Errorf("--serve knows %q but there is no such service", name)
		}
	}
	if Handler("gopher") != nil {
		t.Error("a service for an unknown name")
	}
	if got := List([]Spec{{"http", 80}, {"echo", 7}}); got != "http:80, echo:7" {
		t.Errorf("List = %q", got)
	}
	if got := List(nil); got != "none" {
		t.Errorf("List(nil) = %q", got)
	}
}

// TestOneShotClosesFirst checks the property the TIME-WAIT figure rests
// on: the service answers one byte and sends its FIN without waiting for
// the client's.
func TestOneShotClosesFirst(t *testing.T) {
	c := dial(t, clitest.ServeLoopback(t, ServeOneShot).String())
	c.Write([]byte("z"))
	got, err := io.ReadAll(c) // returns at the service's FIN
	if err != nil || !bytes.Equal(got, []byte("z")) {
		t.Errorf("read %q, %v; want %q and the service's FIN", got, err, "z")
	}
}

func TestSourceSendsUntilThePeerCloses(t *testing.T) {
	c := dial(t, clitest.ServeLoopback(t, ServeSource).String())
	buf := make([]byte, 3*sourceChunk)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("reading three chunks: %v", err)
	}
	if buf[0] != '!' || buf[94] != '!' || buf[1] != '"' {
		t.Errorf("the bytes do not follow the pattern: %q", buf[:96])
	}
}

// TestHoldKeepsConnections: hold counts what it holds, keeps each
// connection open, and closes them all when its listener closes.
func TestHoldKeepsConnections(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	before := Held()
	go func() { done <- ServeHold(ln) }()
	conns := []net.Conn{dial(t, ln.Addr().String()), dial(t, ln.Addr().String())}
	testkit.Eventually(t, "hold to hold both connections", func() bool { return Held()-before == 2 })
	conns[0].SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	var timeout net.Error
	if _, err := conns[0].Read(make([]byte, 1)); !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Errorf("a held connection: read %v, want nothing (open and idle)", err)
	}
	ln.Close()
	if err := <-done; err != nil {
		t.Errorf("ServeHold after its listener closed = %v, want nil", err)
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("connection %d after hold stopped: %v, want EOF", i, err)
		}
	}
	if Held() != before {
		t.Errorf("hold still counts %d connections", Held()-before)
	}
}
