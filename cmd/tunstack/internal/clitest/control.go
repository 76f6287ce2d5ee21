package clitest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// FakeBackend stands in for the stack behind a control socket: dials to
// port 9 are refused, to port 10 never complete, and the others reach a
// loopback TCP listener the test runs, which plays the peer. Events sent
// on Events go to the subscriber; Unsubscribed is closed when it leaves.
type FakeBackend struct {
	peer         string // the loopback listener's address
	Events       chan stack.Event
	Unsubscribed chan struct{}
}

func (f *FakeBackend) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	target, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	switch target.Port() {
	case 9:
		return nil, &net.OpError{Op: "dial", Net: network, Err: tcp.ErrConnectionRefused}
	case 10:
		<-ctx.Done()
		return nil, fmt.Errorf("dial %s: %w", addr, ctx.Err())
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", f.peer)
}

func (f *FakeBackend) Subscribe(buf int) (<-chan stack.Event, func()) {
	var once sync.Once
	return f.Events, func() { once.Do(func() { close(f.Unsubscribed) }) }
}

// Status is one connection, ESTABLISHED, and a few counters.
func (f *FakeBackend) Status() control.Reply {
	id := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	return control.Reply{
		Counters: control.NewCounterStatus(stack.Counters{PacketsIn: 3, Drops: map[string]uint64{"no-listener": 1}}),
		Connections: []control.ConnStatus{control.NewConnStatus(stack.ConnInfo{
			Status: tcp.Status{ID: id, State: tcp.Established, SndNxt: 1001, RTO: time.Second},
			States: []tcp.State{tcp.Listen, tcp.SynReceived, tcp.Established},
		})},
	}
}

// StartFakeControl serves a FakeBackend on a socket in a temporary
// directory until the test ends. peer, if not nil, handles each
// connection the backend dials.
func StartFakeControl(t *testing.T, peer func(net.Conn)) (path string, backend *FakeBackend, server *control.Server) {
	t.Helper()
	peerLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peerLn.Close() })
	go stack.Serve(peerLn, func(conn net.Conn) {
		if peer != nil {
			peer(conn)
		}
	})
	backend = &FakeBackend{peer: peerLn.Addr().String(), Events: make(chan stack.Event, 16), Unsubscribed: make(chan struct{})}
	path, server = ServeControl(t, backend)
	return path, backend, server
}

// ServeControl serves backend on a control socket in a temporary
// directory until the test ends.
func ServeControl(t *testing.T, backend control.Backend) (path string, server *control.Server) {
	t.Helper()
	path = filepath.Join(testkit.ShortTempDir(t), "ctl.sock")
	ln, err := control.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	server = control.NewServer(ln, backend, slog.New(slog.DiscardHandler))
	go server.Serve()
	t.Cleanup(server.Close)
	return path, server
}
