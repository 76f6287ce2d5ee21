package tundev

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

// tunClonePath is the TUN clone device; a variable so that a test can point
// it at a missing file.
var tunClonePath = "/dev/net/tun"

// createTUN creates the TUN device name in the calling thread's network
// namespace.
//
// It opens /dev/net/tun and issues TUNSETIFF itself, with the flags
// tun.CreateTUN uses, because tun.CreateTUN leaks the descriptor when
// TUNSETIFF fails (EBUSY, EPERM). tun.CreateTUNFromFile then turns on the
// offloads, opens its link monitor's netlink socket (in this namespace too)
// and sets the MTU. Open checks the MTU first: when CreateTUNFromFile fails
// that late, its monitor goroutines are already running.
func createTUN(name string, mtu int) (tun.Device, error) {
	fd, err := unix.Open(tunClonePath, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, tunOpenError(name, tunClonePath, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err == nil {
		// Non-blocking before os.NewFile, so that the file joins the
		// runtime poller and Close can interrupt a Read.
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		unix.Close(fd)
		return nil, tunCreateError(name, err)
	}
	file := os.NewFile(uintptr(fd), tunClonePath)
	dev, err := tun.CreateTUNFromFile(file, mtu)
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("setting up TUN device %s: %w", name, err)
	}
	return dev, nil
}
