package stack

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
)

// flakyLink fails its first Read with an error that is not a closed link.
type flakyLink struct {
	*memLink
	failed atomic.Bool
}

var errFlaky = errors.New("one bad super-packet")

func (l *flakyLink) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if l.failed.CompareAndSwap(false, true) {
		return 0, errFlaky
	}
	return l.memLink.Read(bufs, sizes, offset)
}

func TestRunSurvivesAReadErrorAndStopsWhenTheLinkCloses(t *testing.T) {
	a, peer := newMemLinkPair()
	s, err := New(&flakyLink{memLink: a}, stackOptions(stackAddr4))
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(context.Background()) }()
	ping(t, peer)
	if n := s.Counters().Drops[dropLinkRead]; n != 1 {
		t.Errorf("link-read = %d, want 1", n)
	}
	a.Close()
	if err := <-runErr; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Run = %v, want net.ErrClosed", err)
	}
	if err := s.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	a, _ := newMemLinkPair()
	for _, opts := range []Options{{}, {Addrs: []netip.Addr{netip.IPv4Unspecified()}}} {
		if _, err := New(a, opts); err == nil {
			t.Errorf("New(%+v) succeeded", opts)
		}
	}
}
