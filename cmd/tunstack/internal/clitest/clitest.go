// Package clitest holds what the tests of tunstack's command line share
// beyond tests/testkit (polling, root, namespaces, packets): two stacks
// joined by an in-memory link (the daemon's and a peer playing the
// kernel's part), a control socket served from a stack or from a fake
// (control.go), a namespace name that the command under test must remove,
// and a loopback server for the services. Only tests import it.
//
// It creates no device and no namespace itself.
package clitest

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
	"github.com/tunstack/tunstack/tundev"
)

// StackPair is two stacks joined by an in-memory link: Ours at 10.77.0.2
// (the daemon's) and Peer at 10.77.0.1 (the kernel's part).
type StackPair struct {
	Ours, Peer *stack.Stack
}

// shutdownBudget is how long the stacks' connections get to close when
// the test ends.
const shutdownBudget = time.Second

// NewStackPair starts the two stacks; they stop when the test ends. A
// short MSL lets the side that closes first leave TIME-WAIT quickly.
func NewStackPair(t *testing.T) StackPair {
	t.Helper()
	mem, peer := tundev.NewPipe(1500, 16)
	return StackPair{
		Ours: startStack(t, mem, "10.77.0.2"),
		Peer: startStack(t, peer.Link(1500), "10.77.0.1"),
	}
}

func startStack(t *testing.T, link stack.Link, addr string) *stack.Stack {
	t.Helper()
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

// DialFromPeer opens a connection from the peer stack (the kernel's part)
// to addr; it is closed when the test ends.
func (p StackPair) DialFromPeer(t *testing.T, addr string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := p.Peer.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// NetNS returns a fresh namespace name and, when the test ends, fails it
// if the namespace still exists, and removes it.
func NetNS(t *testing.T) string {
	t.Helper()
	ns := testkit.UniqueName("tsck")
	t.Cleanup(func() {
		if testkit.NamespaceExists(ns) {
			t.Errorf("namespace %s left behind", ns)
			testkit.RemoveNamespace(ns)
		}
	})
	return ns
}

// ServeLoopback runs serve on a kernel TCP listener on 127.0.0.1 and
// returns its address; when the test ends it closes the listener and
// checks that serve returned nil, as a service must.
func ServeLoopback(t *testing.T, serve func(net.Listener) error) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve(ln) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; err != nil {
			t.Errorf("service after its listener closed: %v, want nil", err)
		}
	})
	return ln.Addr().(*net.TCPAddr)
}
