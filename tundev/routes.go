package tundev

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrRouteConflict means an address's prefix overlaps a route the
// namespace already has: the kernel would then route part of it
// elsewhere, or two devices would claim it (a second daemon on another
// device in the same namespace).
var ErrRouteConflict = errors.New("overlaps an existing route")

// RouteConflictError names the prefix and the route it overlaps; it
// matches ErrRouteConflict under errors.Is.
type RouteConflictError struct {
	Prefix netip.Prefix // the address given, as Config.Addrs has it
	Route  string       // the route, as `ip route` prints it
}

func (e *RouteConflictError) Error() string {
	return fmt.Sprintf("address %v %v: %s", e.Prefix, ErrRouteConflict, e.Route)
}

func (e *RouteConflictError) Is(target error) bool { return target == ErrRouteConflict }

// checkRoutesFree fails with a *RouteConflictError if the prefix of an
// address overlaps a route of the namespace's main table. Default routes
// overlap everything and are not a conflict: a more specific route wins.
func checkRoutesFree(h *netlink.Handle, addrs []netip.Prefix) error {
	for _, p := range addrs {
		family := netlink.FAMILY_V4
		if p.Addr().Is6() {
			family = netlink.FAMILY_V6
		}
		routes, err := h.RouteList(nil, family)
		if err != nil {
			return netlinkError("listing routes", err)
		}
		for _, r := range routes {
			if r.Dst == nil {
				continue // a default route
			}
			dst, ok := netip.AddrFromSlice(r.Dst.IP)
			if !ok {
				continue
			}
			bits, _ := r.Dst.Mask.Size()
			if bits == 0 {
				continue
			}
			if netip.PrefixFrom(dst.Unmap(), bits).Overlaps(p.Masked()) {
				return &RouteConflictError{Prefix: p, Route: describeRoute(h, r, netip.PrefixFrom(dst.Unmap(), bits))}
			}
		}
	}
	return nil
}

// describeRoute writes a route as `ip route` does: its destination, its
// gateway and its device.
func describeRoute(h *netlink.Handle, r netlink.Route, dst netip.Prefix) string {
	parts := []string{dst.String()}
	if r.Gw != nil {
		parts = append(parts, "via", r.Gw.String())
	}
	if link, err := h.LinkByIndex(r.LinkIndex); err == nil {
		parts = append(parts, "dev", link.Attrs().Name)
	}
	if r.Protocol == netlink.RouteProtocol(unix.RTPROT_KERNEL) {
		parts = append(parts, "proto kernel")
	}
	return strings.Join(parts, " ")
}
