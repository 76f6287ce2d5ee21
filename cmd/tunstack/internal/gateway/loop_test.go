package gateway

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
)

func TestLoopGuardRefusesWhatRoutesBackIntoTheDevice(t *testing.T) {
	looping := netip.MustParseAddr("192.0.2.10")
	into := func(dst netip.Addr) (bool, error) { return dst == looping, nil }
	var dialled []string
	dial := func(_ context.Context, _, address string) (net.Conn, error) {
		dialled = append(dialled, address)
		return nil, errors.New("fake dial")
	}
	var logs bytes.Buffer
	guarded := LoopGuard(dial, into, slog.New(slog.NewTextHandler(&logs, nil)))

	for range 2 {
		_, err := guarded(context.Background(), "tcp", "192.0.2.10:80")
		if !errors.Is(err, syscall.ELOOP) {
			t.Fatalf("dial of a destination routed into the device: %v, want ELOOP", err)
		}
	}
	if len(dialled) != 0 {
		t.Errorf("dialled %v, want nothing dialled for a loop", dialled)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings for two loops, want one:\n%s", n, logs.String())
	}

	// IPv4-mapped IPv6 is the same destination; other destinations and
	// names are dialled.
	if _, err := guarded(context.Background(), "udp", "[::ffff:192.0.2.10]:53"); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("the mapped form of a looping destination: %v, want ELOOP", err)
	}
	for _, addr := range []string{"198.51.100.1:80", "[2001:db8::1]:443", "proxy.test:3128"} {
		guarded(context.Background(), "tcp", addr)
	}
	if want := []string{"198.51.100.1:80", "[2001:db8::1]:443", "proxy.test:3128"}; strings.Join(dialled, " ") != strings.Join(want, " ") {
		t.Errorf("dialled %v, want %v", dialled, want)
	}
}

func TestLoopGuardFailsWhenTheRouteLookupFails(t *testing.T) {
	broken := errors.New("netlink: no answer")
	guarded := LoopGuard(func(context.Context, string, string) (net.Conn, error) {
		t.Error("dialled although the route lookup failed")
		return nil, nil
	}, func(netip.Addr) (bool, error) { return false, broken }, slog.New(slog.DiscardHandler))
	if _, err := guarded(context.Background(), "tcp", "192.0.2.10:80"); !errors.Is(err, broken) {
		t.Errorf("dial when the route lookup fails: %v, want its error", err)
	}
}
