package stack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// listen listens on the server stack or fails the test; the listener
// closes when the test ends.
func listen(t *testing.T, s *running, address string) net.Listener {
	t.Helper()
	ln, err := s.Listen("tcp", address)
	if err != nil {
		t.Fatalf("Listen(%q): %v", address, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func dial(t *testing.T, s *running, address string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := s.DialContext(ctx, "tcp", address)
	if err != nil {
		t.Fatalf("Dial(%q): %v", address, err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*Conn)
}

func randomBytes(n int) []byte {
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// stateOf returns the state of the stack's connection id, Closed if it is
// gone, as the loop sees it.
func stateOf(s *running, id tcp.ID) tcp.State {
	for _, info := range s.Connections() {
		if info.Status.ID == id {
			return info.Status.State
		}
	}
	return tcp.Closed
}

func TestEchoOneMebibyte(t *testing.T) {
	for _, server := range []netip.Addr{stackAddr4, stackAddr6} {
		t.Run(server.String(), func(t *testing.T) {
			client, srv := startPair(t)
			ln := listen(t, srv, ":7")
			go ServeEcho(ln)
			c := dial(t, client, netip.AddrPortFrom(server, 7).String())

			want := randomBytes(1 << 20)
			writeErr := make(chan error, 1)
			go func() {
				_, err := c.Write(want)
				if err == nil {
					err = c.CloseWrite()
				}
				writeErr <- err
			}()
			got, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("reading the echo: %v", err)
			}
			if err := <-writeErr; err != nil {
				t.Fatalf("writing: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("echo differs: got %d bytes, want %d", len(got), len(want))
			}
			// The client closed first: it ends in TIME-WAIT, the server
			// went through LAST-ACK to CLOSED.
			testkit.Eventually(t, "client TIME-WAIT", func() bool { return stateOf(client, c.ID()) == tcp.TimeWait })
			serverID := tcp.ID{Local: c.ID().Remote, Remote: c.ID().Local}
			testkit.Eventually(t, "server CLOSED", func() bool { return stateOf(srv, serverID) == tcp.Closed })
			wantClient := []tcp.State{tcp.Closed, tcp.SynSent, tcp.Established, tcp.FinWait1, tcp.FinWait2, tcp.TimeWait}
			if got := c.States(); !slices.Equal(got, wantClient) {
				t.Errorf("client states %v, want %v", got, wantClient)
			}
		})
	}
}

func TestServerClosesFirst(t *testing.T) {
	client, srv := startPair(t)
	ln := listen(t, srv, ":9000")
	want := randomBytes(300 << 10)
	serverConn := make(chan *Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Errorf("Accept: %v", err)
			close(serverConn)
			return
		}
		serverConn <- c.(*Conn)
		if _, err := c.Write(want); err != nil {
			t.Errorf("server Write: %v", err)
		}
		c.Close()
	}()
	c := dial(t, client, "10.77.0.2:9000")
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadAll = %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	sc := <-serverConn
	if sc == nil {
		t.FailNow()
	}
	wantServer := []tcp.State{tcp.Closed, tcp.Listen, tcp.SynReceived, tcp.Established, tcp.FinWait1, tcp.FinWait2, tcp.TimeWait}
	testkit.Eventually(t, "server TIME-WAIT", func() bool { return slices.Equal(sc.States(), wantServer) })
	wantClient := []tcp.State{tcp.Closed, tcp.SynSent, tcp.Established, tcp.CloseWait, tcp.LastAck, tcp.Closed}
	testkit.Eventually(t, "client CLOSED", func() bool { return slices.Equal(c.States(), wantClient) })
}

func TestDialClosedPortIsRefused(t *testing.T) {
	client, _ := startPair(t)
	_, err := client.DialContext(context.Background(), "tcp", "10.77.0.2:81")
	var opErr *net.OpError
	if !errors.As(err, &opErr) || !errors.Is(err, syscall.ECONNREFUSED) || !errors.Is(err, tcp.ErrConnectionRefused) {
		t.Fatalf("Dial = %v, want a *net.OpError that is ECONNREFUSED", err)
	}
}

func TestDialTimesOut(t *testing.T) {
	link, _ := newMemLinkPair() // nobody on the other end
	opts := stackOptions(peerAddr4)
	opts.TCP.InitialRTO = 5 * time.Millisecond
	opts.TCP.SynRetries = 2
	s := startStack(t, link, opts)
	_, err := s.DialContext(context.Background(), "tcp4", "10.77.0.2:80")
	if !errors.Is(err, syscall.ETIMEDOUT) || !errors.Is(err, tcp.ErrTimedOut) {
		t.Fatalf("Dial = %v, want ETIMEDOUT", err)
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("Dial error %v is not a net.Error time-out", err)
	}
}

func TestDialContextCancelled(t *testing.T) {
	link, peer := newMemLinkPair()
	s := startStack(t, link, stackOptions(peerAddr4))
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		_, err := s.DialContext(ctx, "tcp", "10.77.0.2:80")
		result <- err
	}()
	peer.recv(t, testTimeout) // the SYN
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial = %v, want context.Canceled", err)
	}
	testkit.Eventually(t, "the connection gone", func() bool { return len(s.Connections()) == 0 })
}

func TestShutdownClosesConnectionsWithFIN(t *testing.T) {
	client, srv := startPair(t)
	ln := listen(t, srv, ":7")
	go ServeEcho(ln)
	c := dial(t, client, "[fd00:77::2]:7")
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		shutdown <- srv.Shutdown(ctx)
	}()
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read = %d, %v; want the server's FIN (EOF)", n, err)
	}
	c.Close()
	if err := <-shutdown; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-srv.runErr; err != nil {
		t.Fatalf("Run after Shutdown: %v", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Shutdown = %v, want net.ErrClosed", err)
	}
	want := []tcp.State{tcp.Closed, tcp.SynSent, tcp.Established, tcp.CloseWait, tcp.LastAck, tcp.Closed}
	testkit.Eventually(t, "client CLOSED", func() bool { return slices.Equal(c.States(), want) })
}

func TestReadDeadline(t *testing.T) {
	client, srv := startPair(t)
	listen(t, srv, ":9")
	c := dial(t, client, "10.77.0.2:9")
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %v, want os.ErrDeadlineExceeded", err)
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("%v is not a net.Error time-out", err)
	}
	c.SetReadDeadline(time.Time{})
	c.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write = %v, want os.ErrDeadlineExceeded", err)
	}
}

// A Read that blocked before any deadline was set ends when one is set
// in the past (connections make their deadline channels only when a
// deadline is first set).
func TestDeadlineSetWhileBlocked(t *testing.T) {
	client, srv := startPair(t)
	listen(t, srv, ":9")
	c := dial(t, client, "10.77.0.2:9")
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	testkit.Eventually(t, "the Read to block", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.changed != nil
	})
	c.SetReadDeadline(time.Now().Add(-time.Second))
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read = %v, want os.ErrDeadlineExceeded", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("the blocked Read did not see the deadline")
	}
}

func TestPeerResetSurfacesAsError(t *testing.T) {
	client, srv := startPair(t)
	ln := listen(t, srv, ":9001")
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.ReadFull(c, make([]byte, 1))
		c.Close() // unread data left: the stack resets
	}()
	c := dial(t, client, "10.77.0.2:9001")
	if _, err := c.Write([]byte("xy")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	_, err := c.Read(make([]byte, 1))
	var opErr *net.OpError
	if !errors.As(err, &opErr) || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read = %v, want a *net.OpError that is ECONNRESET", err)
	}
}

func TestListenErrors(t *testing.T) {
	_, srv := startPair(t)
	listen(t, srv, "10.77.0.2:80")
	tests := []struct {
		network, address string
		want             error
	}{
		{"tcp", "10.77.0.2:80", syscall.EADDRINUSE},
		{"tcp4", ":80", syscall.EADDRINUSE},
		{"tcp", "10.77.0.3:80", syscall.EADDRNOTAVAIL},
		{"udp", ":80", net.UnknownNetworkError("udp")},
	}
	for _, tt := range tests {
		_, err := srv.Listen(tt.network, tt.address)
		if !errors.Is(err, tt.want) {
			t.Errorf("Listen(%q, %q) = %v, want %v", tt.network, tt.address, err, tt.want)
		}
	}
	ln := listen(t, srv, "[fd00:77::2]:0")
	if port := ln.(*Listener).Port(); port < ephemeralFirst {
		t.Errorf("port 0 gave %d, want one from %d", port, ephemeralFirst)
	}
}

func TestCallsAfterClose(t *testing.T) {
	client, srv := startPair(t)
	listen(t, srv, ":9")
	tests := []struct {
		name  string
		close func(c *Conn) error
		call  func(c *Conn) error
		want  error
	}{
		{"Read after Close", (*Conn).Close, func(c *Conn) error { _, err := c.Read(make([]byte, 1)); return err }, net.ErrClosed},
		{"Write after Close", (*Conn).Close, func(c *Conn) error { _, err := c.Write([]byte("x")); return err }, net.ErrClosed},
		{"Close after Close", (*Conn).Close, (*Conn).Close, net.ErrClosed},
		{"Write after CloseWrite", (*Conn).CloseWrite, func(c *Conn) error { _, err := c.Write([]byte("x")); return err }, syscall.EPIPE},
		{"Read after CloseRead", (*Conn).CloseRead, func(c *Conn) error { _, err := c.Read(make([]byte, 1)); return err }, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, client, "10.77.0.2:9")
			if err := tt.close(c); err != nil {
				t.Fatalf("closing: %v", err)
			}
			if err := tt.call(c); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestShutdownAbortsWhenItsContextEnds(t *testing.T) {
	client, srv := startPair(t)
	ln := listen(t, srv, ":7")
	go ServeEcho(ln)
	c := dial(t, client, "10.77.0.2:7")
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatalf("Read: %v", err)
	}
	// The client never closes: the server waits in FIN-WAIT-2 until the
	// context ends, then resets.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	// The server's FIN, then its RST: Read says EOF until the RST arrives.
	testkit.Eventually(t, "the client reset", func() bool {
		_, err := c.Read(make([]byte, 1))
		return errors.Is(err, syscall.ECONNRESET)
	})
	want := []tcp.State{tcp.Closed, tcp.SynSent, tcp.Established, tcp.CloseWait, tcp.Closed}
	if got := c.States(); !slices.Equal(got, want) {
		t.Errorf("client states %v, want %v", got, want)
	}
}
