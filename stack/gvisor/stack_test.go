package gvisor_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/gvisor"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tundev"
)

// The pair's addresses: gVisor plays the daemon, the native stack plays
// the kernel's side of the link.
var (
	gvisorAddr  = netip.MustParseAddr("10.77.0.2")
	peerAddr    = netip.MustParseAddr("10.77.0.1")
	gvisorAddr6 = netip.MustParseAddr("fd00:77::2")
	peerAddr6   = netip.MustParseAddr("fd00:77::1")
)

const stopBudget = 2 * time.Second

// pair is a gVisor stack and a native peer joined by an in-memory link.
type pair struct {
	gv     *gvisor.Stack
	peer   *stack.Stack
	gvDone chan error // Run's result
}

func newPair(t *testing.T) pair { return newPairWith(t, gvisor.Options{}) }

// newPairWith is newPair with opts for the gVisor stack; its addresses
// and MSL are the pair's.
func newPairWith(t *testing.T, opts gvisor.Options) pair {
	t.Helper()
	mem, memPeer := tundev.NewPipe(1500, 16)
	opts.Addrs, opts.MSL = []netip.Addr{gvisorAddr, gvisorAddr6}, 50*time.Millisecond
	gv, err := gvisor.New(mem, opts)
	if err != nil {
		t.Fatal(err)
	}
	p := pair{gv: gv, gvDone: make(chan error, 1)}
	go func() { p.gvDone <- gv.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
		defer cancel()
		gv.Shutdown(ctx)
		mem.Close()
	})

	link := memPeer.Link(1500)
	peer, err := stack.New(link, stack.Options{Addrs: []netip.Addr{peerAddr, peerAddr6}, TCP: tcp.Config{MSL: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	peerDone := make(chan error, 1)
	go func() { peerDone <- peer.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
		defer cancel()
		peer.Shutdown(ctx)
		link.Close()
		<-peerDone
	})
	p.peer = peer
	return p
}

// echoOnce sends payload over conn, half-closes, and returns what came back.
func echoOnce(t *testing.T, conn net.Conn, payload []byte) []byte {
	t.Helper()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		conn.Write(payload)
		conn.(interface{ CloseWrite() error }).CloseWrite()
	}()
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	return got
}

// TestEchoBothWays runs the echo service on each stack and dials it from
// the other, over both families, with 256 KiB each way.
func TestEchoBothWays(t *testing.T) {
	p := newPair(t)
	payload := make([]byte, 256<<10)
	rand.Read(payload)
	for _, tc := range []struct {
		name   string
		server interface {
			Listen(string, string) (net.Listener, error)
		}
		dial   func(ctx context.Context, network, addr string) (net.Conn, error)
		target string
	}{
		{"to gVisor over IPv4", p.gv, p.peer.DialContext, "10.77.0.2:7"},
		{"to gVisor over IPv6", p.gv, p.peer.DialContext, "[fd00:77::2]:7"},
		{"from gVisor over IPv4", p.peer, p.gv.DialContext, "10.77.0.1:7"},
		{"from gVisor over IPv6", p.peer, p.gv.DialContext, "[fd00:77::1]:7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := tc.server.Listen("tcp", ":7")
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- stack.ServeEcho(ln) }()
			defer func() {
				ln.Close()
				if err := <-served; err != nil {
					t.Errorf("echo service after Close: %v, want nil", err)
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, err := tc.dial(ctx, "tcp", tc.target)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if got := echoOnce(t, conn, payload); !bytes.Equal(got, payload) {
				t.Errorf("echo returned %d bytes, sent %d (equal: false)", len(got), len(payload))
			}
		})
	}
}

// TestConnectionsShowsStates checks that a listener and an accepted
// connection appear with their 4-tuples and RFC states.
func TestConnectionsShowsStates(t *testing.T) {
	p := newPair(t)
	ln, err := p.gv.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := p.peer.DialContext(ctx, "tcp4", "10.77.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	accepted, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	local := netip.AddrPortFrom(gvisorAddr, 80)
	remote := conn.LocalAddr().(*net.TCPAddr).AddrPort()
	var listeners int
	var sawConn bool
	for _, info := range p.gv.Connections() {
		id := info.Status.ID
		switch {
		case id.Local.Port() == 80 && !id.Remote.IsValid() && info.Status.State == tcp.Listen:
			listeners++
		case id.Local == local && id.Remote == remote:
			sawConn = info.Status.State == tcp.Established
		}
	}
	if listeners != 1 || !sawConn {
		t.Errorf("Connections() = %+v: want one LISTEN on :80 (got %d) and %v-%v ESTABLISHED (%v)",
			p.gv.Connections(), listeners, local, remote, sawConn)
	}
	c := p.gv.Counters()
	if c.PacketsIn == 0 || c.PacketsOut == 0 || c.SegmentsIn == 0 || c.MIB.PassiveOpens != 1 {
		t.Errorf("Counters() = %+v: want packets, segments and one passive open counted", c)
	}
	if c.States[tcp.Listen] != 1 || c.States[tcp.Established] != 1 {
		t.Errorf("Counters().States = %v, want one LISTEN and one ESTABLISHED", c.States)
	}
}

// TestDialErrors checks that a refused connection reads as ECONNREFUSED
// and that a dial to a family without an address fails at once.
func TestDialErrors(t *testing.T) {
	p := newPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.gv.DialContext(ctx, "tcp", "10.77.0.1:9"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial to a closed port: %v, want ECONNREFUSED", err)
	}
	if _, err := p.gv.DialContext(ctx, "tcp", "10.77.0.1:0"); err == nil {
		t.Error("dial to port 0 succeeded")
	}
	if _, err := p.gv.DialContext(ctx, "tcp", "localhost:80"); err == nil {
		t.Error("dial to a name succeeded: the stack resolves no names")
	}
}

// TestShutdownClosesAndStops checks that Shutdown closes an open
// connection with FIN (the peer reads EOF), that Run then returns nil, and
// that Listen fails afterwards.
func TestShutdownClosesAndStops(t *testing.T) {
	p := newPair(t)
	ln, err := p.gv.Listen("tcp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- stack.ServeEcho(ln) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := p.peer.DialContext(ctx, "tcp", "10.77.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("x"))
	one := make([]byte, 1)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(conn, one); err != nil {
		t.Fatalf("echo of one byte: %v", err)
	}
	shutdown := make(chan error, 1)
	go func() { shutdown <- p.gv.Shutdown(ctx) }()
	// The connection is closed once the peer answers the stack's FIN
	// with its own.
	if _, err := io.ReadAll(conn); err != nil {
		t.Errorf("peer's read after Shutdown: %v, want EOF (the stack's FIN)", err)
	}
	conn.Close()
	if err := <-shutdown; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case err := <-p.gvDone:
		if err != nil {
			t.Errorf("Run after Shutdown = %v, want nil", err)
		}
	case <-time.After(stopBudget):
		t.Fatal("Run did not return after Shutdown")
	}
	if err := <-served; err != nil {
		t.Errorf("echo service after Shutdown = %v, want nil", err)
	}
	if _, err := p.gv.Listen("tcp", ":8"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Listen after Shutdown = %v, want net.ErrClosed", err)
	}
}
