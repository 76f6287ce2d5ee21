package stack

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// testTimeout bounds every wait of the tests.
const testTimeout = 10 * time.Second

// running is a Stack whose loop runs for the duration of a test.
type running struct {
	*Stack
	runErr chan error // Run's result, once it returns
}

// startStack runs a stack on link until the test ends.
func startStack(t testing.TB, link Link, opts Options) *running {
	t.Helper()
	s, err := New(link, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Stack: s, runErr: make(chan error, 1)}
	go func() { r.runErr <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.runErr:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-s.stopped:
		}
		link.Close()
	})
	return r
}

// stackOptions are the options of the stack under test.
func stackOptions(addrs ...netip.Addr) Options {
	return Options{
		Addrs: addrs,
		TCP:   tcp.Config{ISNKey: [16]byte{1}, MinRTO: 20 * time.Millisecond, InitialRTO: 100 * time.Millisecond},
	}
}

// startScripted runs a stack at stackAddr4 and stackAddr6 and returns the
// other end of its link, where the test plays the peer.
func startScripted(t *testing.T, opts Options) (*running, *memLink) {
	t.Helper()
	a, peer := newMemLinkPair()
	if opts.Addrs == nil {
		opts.Addrs = []netip.Addr{stackAddr4, stackAddr6}
	}
	return startStack(t, a, opts), peer
}

// startPair runs two stacks back to back: the client at peerAddr4 and
// peerAddr6, the server at stackAddr4 and stackAddr6.
func startPair(t *testing.T) (client, server *running) {
	t.Helper()
	a, b := newMemLinkPair()
	client = startStack(t, a, stackOptions(peerAddr4, peerAddr6))
	server = startStack(t, b, stackOptions(stackAddr4, stackAddr6))
	return client, server
}
