package stack

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// chanListener hands out the connections sent on conns; after Close, or
// with err set, Accept fails.
type chanListener struct {
	conns     chan net.Conn
	err       error
	closeOnce sync.Once
	closed    chan struct{}
}

func newChanListener() *chanListener {
	return &chanListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	if l.err != nil {
		return nil, l.err
	}
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }

// TestServeRunsEachConnectionOnItsOwn: the first handler waits for the
// second connection, which only a goroutine per connection lets in; each
// connection is closed when its handler returns; Serve returns nil once
// the listener is closed.
func TestServeRunsEachConnectionOnItsOwn(t *testing.T) {
	ln := newChanListener()
	second := make(chan struct{})
	served := make(chan error, 1)
	var calls int
	var mu sync.Mutex
	go func() {
		served <- Serve(ln, func(c net.Conn) {
			mu.Lock()
			calls++
			first := calls == 1
			mu.Unlock()
			if first {
				<-second
				return
			}
			close(second)
		})
	}()
	var peers []net.Conn
	for range 2 {
		ours, peer := net.Pipe()
		peers = append(peers, peer)
		select {
		case ln.conns <- ours:
		case <-time.After(testTimeout):
			t.Fatal("a connection was not accepted while the handler of another ran")
		}
	}
	for i, peer := range peers {
		peer.SetReadDeadline(time.Now().Add(testTimeout))
		if _, err := peer.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("connection %d after its handler returned: %v, want EOF (closed)", i, err)
		}
	}
	ln.Close()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve after the listener closed = %v, want nil", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Serve did not return after the listener closed")
	}
}

// TestAcceptEachKeepsTheConnection: take runs on the accepting goroutine
// and owns the connection (nothing closes it), and an Accept error other
// than a closed listener ends the loop with that error.
func TestAcceptEachKeepsTheConnection(t *testing.T) {
	ln := newChanListener()
	var taken []net.Conn
	done := make(chan error, 1)
	go func() { done <- AcceptEach(ln, func(c net.Conn) { taken = append(taken, c) }) }()
	ours, peer := net.Pipe()
	ln.conns <- ours
	ln.Close()
	if err := <-done; err != nil {
		t.Fatalf("AcceptEach after close = %v, want nil", err)
	}
	if len(taken) != 1 || taken[0] != ours {
		t.Fatalf("taken %v, want the one connection", taken)
	}
	go ours.Write([]byte("x")) // still open: the write reaches the peer
	peer.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := peer.Read(make([]byte, 1)); err != nil {
		t.Errorf("the taken connection was closed: %v", err)
	}
	ours.Close()

	boom := errors.New("accept: too many open files")
	failing := newChanListener()
	failing.err = boom
	if err := AcceptEach(failing, func(net.Conn) {}); !errors.Is(err, boom) {
		t.Errorf("AcceptEach with a failing listener = %v, want %v", err, boom)
	}
}
