package forward

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// pipeConn is one end of an in-memory connection with a half-close: what
// it writes, its peer reads.
type pipeConn struct {
	r       *io.PipeReader
	w       *io.PipeWriter
	aborted atomic.Bool
}

// connPair makes two connected ends.
func connPair() (*pipeConn, *pipeConn) {
	ar, bw := io.Pipe()
	br, aw := io.Pipe()
	return &pipeConn{r: ar, w: aw}, &pipeConn{r: br, w: bw}
}

var errAborted = errors.New("connection reset")

func (c *pipeConn) Read(b []byte) (int, error)  { return c.r.Read(b) }
func (c *pipeConn) Write(b []byte) (int, error) { return c.w.Write(b) }
func (c *pipeConn) CloseWrite() error           { return c.w.Close() }
func (c *pipeConn) Close() error                { c.r.Close(); return c.w.Close() }
func (c *pipeConn) Abort() error {
	c.aborted.Store(true)
	c.r.CloseWithError(errAborted)
	return c.w.CloseWithError(errAborted)
}
func (c *pipeConn) ID() tcp.ID                       { return tcp.ID{} }
func (c *pipeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *pipeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *pipeConn) SetDeadline(time.Time) error      { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }

// startRelay relays a client and a backend connection; it returns their
// peers (the client program, the server) and a channel closed when the
// relay ends.
func startRelay(t *testing.T, c *counters) (client, server *pipeConn, done chan struct{}) {
	t.Helper()
	client, stackSide := connPair()
	server, hostSide := connPair()
	r := &relay{client: stackSide, backend: hostSide, counters: c}
	done = make(chan struct{})
	go func() {
		defer close(done)
		r.run()
	}()
	return client, server, done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5 s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRelayCopiesBothWaysWithHalfClose(t *testing.T) {
	var c counters
	client, server, done := startRelay(t, &c)
	// Idle, both directions wait with their small buffers only.
	waitFor(t, "both directions reading", func() bool { return c.bufferBytes.Load() == 2*idleBufferSize })

	up := make([]byte, 1<<20+123)
	for i := range up {
		up[i] = byte(rand.Uint32())
	}
	go func() {
		client.Write(up)
		client.CloseWrite()
	}()
	got, err := io.ReadAll(server)
	if err != nil || !bytes.Equal(got, up) {
		t.Fatalf("the server read %d bytes (err %v), want the client's %d, identical", len(got), err, len(up))
	}
	// After the client's FIN, the other direction still flows.
	go func() {
		server.Write([]byte("13 bytes back"))
		server.CloseWrite()
	}()
	back, err := io.ReadAll(client)
	if err != nil || string(back) != "13 bytes back" {
		t.Fatalf("the client read %q (err %v) after its half-close", back, err)
	}
	<-done
	if got := c.bufferBytes.Load(); got != 0 {
		t.Errorf("the relay ended holding %d bytes of buffers, want 0", got)
	}
	if c.toUpstream.Load() != uint64(len(up)) || c.toClient.Load() != 13 {
		t.Errorf("counted %d bytes up and %d down, want %d and 13", c.toUpstream.Load(), c.toClient.Load(), len(up))
	}
}

func TestRelayTakesTheLargeBufferOnlyWhileReadsFillTheSmallOne(t *testing.T) {
	var c counters
	client, server, done := startRelay(t, &c)
	waitFor(t, "both directions reading", func() bool { return c.bufferBytes.Load() == 2*idleBufferSize })

	// One write fills the small buffer: the direction takes a large one
	// for its next read, which the next write (short) finds waiting.
	go client.Write(make([]byte, idleBufferSize))
	if _, err := io.ReadFull(server, make([]byte, idleBufferSize)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the large buffer taken after a full read", func() bool {
		return c.bufferBytes.Load() == 2*idleBufferSize+bufferSize
	})
	// A trickle gives it back.
	go client.Write([]byte("x"))
	if _, err := io.ReadFull(server, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the large buffer given back after a short read", func() bool {
		return c.bufferBytes.Load() == 2*idleBufferSize
	})
	client.Close()
	server.Close()
	<-done
}

func TestRelayResetEndsBoth(t *testing.T) {
	var c counters
	client, server, done := startRelay(t, &c)
	server.Abort() // the server resets: the relay's read of it fails
	<-done
	if _, err := client.Read(make([]byte, 1)); !errors.Is(err, errAborted) {
		t.Errorf("the client's read after the server's reset: %v, want the reset passed on", err)
	}
	if got := c.bufferBytes.Load(); got != 0 {
		t.Errorf("the relay ended holding %d bytes of buffers, want 0", got)
	}
}
