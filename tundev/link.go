package tundev

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// checkNameFree fails with ErrDeviceBusy if a link called name exists.
// TUNSETIFF would attach to an existing TUN device (whose removal is then
// not ours to decide) and fails with a bare EINVAL for other kinds of link.
func checkNameFree(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if err == nil {
		return fmt.Errorf("creating TUN device %s: %w (a %s link of that name exists)", name, ErrDeviceBusy, link.Type())
	}
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		return nil
	}
	return netlinkError("looking up link "+name, err)
}

// configureLink gives the kernel side of the device its queue length and
// addresses and brings it up. The TUN driver already has the MTU.
func configureLink(h *netlink.Handle, link netlink.Link, addrs []netip.Prefix, txQueueLen int) error {
	name := link.Attrs().Name
	if err := h.LinkSetTxQLen(link, txQueueLen); err != nil {
		return netlinkError(fmt.Sprintf("setting the txqueuelen of %s to %d", name, txQueueLen), err)
	}
	for _, p := range addrs {
		addr := &netlink.Addr{IPNet: prefixIPNet(p)}
		if p.Addr().Is6() {
			// Skip duplicate address detection: nothing else is on
			// this link, and a tentative address is unusable for a
			// second or more.
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrAdd(link, addr); err != nil {
			return netlinkError(fmt.Sprintf("adding address %v to %s", p, name), err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return netlinkError("bringing up "+name, err)
	}
	return nil
}

// addrReadyTimeout bounds how long Open waits for the kernel to finish
// configuring the addresses.
const addrReadyTimeout = 3 * time.Second

// waitLocalRoutes waits until the kernel routes each address to itself.
// For IPv6 that happens when address configuration completes, which runs on
// a kernel work queue just after the link comes up, even with
// IFA_F_NODAD; until then the kernel drops packets to the address
// (Ip6InAddrErrors), so Open would return a device that loses the first
// packets.
func waitLocalRoutes(h *netlink.Handle, name string, addrs []netip.Prefix) error {
	deadline := time.Now().Add(addrReadyTimeout)
	for _, p := range addrs {
		for {
			routes, err := h.RouteGet(p.Addr().AsSlice())
			if err == nil && len(routes) > 0 && routes[0].Type == unix.RTN_LOCAL {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("address %v on %s still not in use after %v (last lookup: %v)", p, name, addrReadyTimeout, err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

// bringUpLoopback brings up lo, which starts down in a new namespace.
func bringUpLoopback(h *netlink.Handle) error {
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return netlinkError("bringing up lo", err)
	}
	return nil
}

// removeLink deletes the link with the given index unless it is gone
// already. Closing a TUN device's descriptor removes it, but only once the
// last reference to the descriptor is dropped, which a Read in flight may
// delay past Close; deleting it here makes Close's return the moment it is
// gone.
func removeLink(h *netlink.Handle, index int) error {
	link, err := h.LinkByIndex(index)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		return nil
	}
	if err == nil {
		err = h.LinkDel(link)
	}
	if err != nil && !errors.Is(err, unix.ENODEV) {
		return netlinkError("removing link", err)
	}
	return nil
}

// prefixIPNet converts p to the form netlink takes, keeping the host bits
// (10.77.0.1/24 is the address 10.77.0.1 on the network 10.77.0.0/24).
func prefixIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{
		IP:   p.Addr().AsSlice(),
		Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
	}
}
