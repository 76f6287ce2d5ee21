package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"

	"github.com/vishvananda/netlink"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/forward"
)

// RoutedInto reports whether the daemon's namespace routes dst into the
// gateway's own device.
type RoutedInto func(dst netip.Addr) (bool, error)

// LoopGuard wraps dial so that a destination that the namespace the
// sockets open in routes back into the gateway's own device fails with
// ELOOP instead of being dialled. Without it, with the device in the
// daemon's own namespace (no --netns) and a route into it, every relayed
// connect would come back into the gateway as a new SYN and be relayed
// again, until the connects in progress reach their bound. The client
// gets no answer (the forward's "unreachable": its connect times out)
// and the failure is counted as ELOOP; the first one is logged as a
// warning that says what to do.
func LoopGuard(dial forward.Dialer, into RoutedInto, log *slog.Logger) forward.Dialer {
	var warned atomic.Bool
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		dst, err := netip.ParseAddrPort(address)
		if err != nil { // a name (--gateway-to host:port): the dial resolves it
			return dial(ctx, network, address)
		}
		loop, err := into(dst.Addr().Unmap())
		if err != nil {
			return nil, &net.OpError{Op: "route", Net: network, Addr: net.UDPAddrFromAddrPort(dst), Err: err}
		}
		if loop {
			if !warned.Swap(true) {
				log.Warn("gateway: a destination is routed back into the gateway's own device; not relayed (use --netns for the clients' namespace, or --gateway-to)", "dst", dst)
			}
			return nil, &net.OpError{Op: "dial", Net: network, Addr: net.UDPAddrFromAddrPort(dst), Err: fmt.Errorf("routed into the gateway's own device: %w", syscall.ELOOP)}
		}
		return dial(ctx, network, address)
	}
}

// RoutedIntoLink asks the kernel's routing table of the calling thread's
// namespace (RTM_GETROUTE) whether dst leaves through the link with
// index ifindex.
func RoutedIntoLink(ifindex int) RoutedInto {
	return func(dst netip.Addr) (bool, error) {
		routes, err := netlink.RouteGet(dst.AsSlice())
		if err != nil {
			if errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH) {
				return false, nil // the dial fails the same way
			}
			return false, fmt.Errorf("route to %s: %w", dst, err)
		}
		for _, r := range routes {
			if r.LinkIndex == ifindex {
				return true, nil
			}
		}
		return false, nil
	}
}
