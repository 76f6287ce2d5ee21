package control_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/clitest"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
)

// openDial opens a dial session to the fake backend's peer.
func openDial(t *testing.T, path string) *control.Session {
	t.Helper()
	s, err := control.Open(context.Background(), path, control.Request{Op: control.OpDial, Addr: "10.77.0.1:9000"}, 10*time.Second)
	if err != nil {
		t.Fatalf("opening a dial session: %#v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// relayResult runs Relay in the background and returns its outcome.
func relayResult(s *control.Session, in io.Reader, out io.Writer) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Relay(context.Background(), in, out) }()
	return done
}

func waitRelay(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Relay did not return")
		return nil
	}
}

// TestDialSessionHalfClose: the byte stream both ways, and each side's
// half-close reaching the other: the peer reads to EOF before it answers,
// and the client reads the answer up to the peer's FIN and ends cleanly.
func TestDialSessionHalfClose(t *testing.T) {
	path, _, _ := clitest.StartFakeControl(t, func(conn net.Conn) {
		got, err := io.ReadAll(conn) // ends only with the client's FIN
		if err != nil {
			return
		}
		fmt.Fprintf(conn, "got %q", got)
		conn.(*net.TCPConn).CloseWrite()
	})
	var out strings.Builder
	err := waitRelay(t, relayResult(openDial(t, path), strings.NewReader("hello"), &out))
	if err != nil {
		t.Fatalf("Relay = %v, want nil", err)
	}
	if want := `got "hello"`; out.String() != want {
		t.Errorf("read %q, want %q", out.String(), want)
	}
}

// TestControlCloseEndsSessions: stopping the server ends, at once, a dial
// session whose client has sent its FIN and whose peer stays silent (the
// stack's side in FIN-WAIT-2), telling the client why, and an event
// stream; the peer's connection is closed.
func TestControlCloseEndsSessions(t *testing.T) {
	peerDone := make(chan struct{})
	silent := make(chan struct{})
	t.Cleanup(func() { close(silent) })
	path, _, server := clitest.StartFakeControl(t, func(conn net.Conn) {
		io.Copy(io.Discard, conn) // the client's FIN
		close(peerDone)
		<-silent
	})
	dial := relayResult(openDial(t, path), strings.NewReader(""), io.Discard)
	select {
	case <-peerDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the client's FIN did not reach the peer")
	}
	eventsConn, eventsReader, reply := request(t, path, `{"op":"events"}`)
	if !reply.OK {
		t.Fatalf("events reply = %+v", reply)
	}
	closed := make(chan struct{})
	go func() {
		server.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not return while a peer stays silent")
	}
	var ended *control.SessionEnded
	if err := waitRelay(t, dial); !errors.As(err, &ended) || ended.Reason != "the daemon is shutting down" {
		t.Errorf("Relay = %v, want the session ended because the daemon is shutting down", err)
	}
	if _, err := io.ReadAll(eventsReader); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Logf("events session: %v", err)
	}
	eventsConn.Close()
	if _, err := net.Dial("unix", path); err == nil {
		t.Error("the socket still accepts connections after close")
	}
}

// TestDialSessionPeerReset: a reset from the peer ends the session with
// an error that says so, not with a clean end of stream.
func TestDialSessionPeerReset(t *testing.T) {
	path, _, _ := clitest.StartFakeControl(t, func(conn net.Conn) {
		io.WriteString(conn, "partial")
		io.ReadFull(conn, make([]byte, 2)) // the client's "go"
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	})
	var out strings.Builder
	err := waitRelay(t, relayResult(openDial(t, path), strings.NewReader("go"), &out))
	var ended *control.SessionEnded
	if !errors.As(err, &ended) || ended.Reason != "connection reset by peer" {
		t.Errorf("Relay = %v, want the session ended by a reset", err)
	}
	if out.String() != "partial" {
		t.Errorf("read %q before the reset, want %q", out.String(), "partial")
	}
}

// TestDialSessionInputOpenAfterFIN: the peer's FIN while the client still
// has input to send is not the end: the session goes on until the client
// ends its input too.
func TestDialSessionInputOpenAfterFIN(t *testing.T) {
	got := make(chan string, 1)
	path, _, _ := clitest.StartFakeControl(t, func(conn net.Conn) {
		conn.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(conn)
		got <- string(b)
	})
	in, feed := io.Pipe()
	done := relayResult(openDial(t, path), in, io.Discard)
	select {
	case err := <-done:
		t.Fatalf("Relay returned %v after the peer's FIN, while input is still open", err)
	case <-time.After(200 * time.Millisecond):
	}
	io.WriteString(feed, "late")
	feed.Close()
	if err := waitRelay(t, done); err != nil {
		t.Errorf("Relay = %v, want nil", err)
	}
	if s := <-got; s != "late" {
		t.Errorf("peer read %q, want %q", s, "late")
	}
}
