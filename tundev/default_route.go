package tundev

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AddDefaultRoutes routes everything of the named namespace ("" for the
// caller's) that no more specific route takes into the device dev: an
// IPv4 default route, and an IPv6 one if ipv6. The routes go with the
// device when it is removed. A namespace that has a default route of that
// family already is refused, naming it, rather than silently changed.
func AddDefaultRoutes(netnsName, dev string, ipv6 bool) error {
	var ns *namespace
	if netnsName == "" {
		ns = &namespace{}
	} else {
		var err error
		if ns, err = openExistingNamespace(netnsName); err != nil {
			return err
		}
		defer ns.close()
	}
	h, err := ns.netlinkHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(dev)
	if err != nil {
		return netlinkError("finding device "+dev, err)
	}
	defaults := []*net.IPNet{{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}}
	if ipv6 {
		defaults = append(defaults, &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)})
	}
	for _, dst := range defaults {
		r := netlink.Route{LinkIndex: link.Attrs().Index, Dst: dst, Scope: netlink.SCOPE_LINK}
		if err := h.RouteAdd(&r); err != nil {
			if errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("default route %v into %s: the namespace has a default route already (ip route del default)", dst, dev)
			}
			return netlinkError(fmt.Sprintf("adding default route %v into %s", dst, dev), err)
		}
	}
	return nil
}
