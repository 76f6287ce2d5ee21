package tundev

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

var (
	// ErrPermission means the process lacks a capability it needs
	// (CAP_NET_ADMIN for devices and addresses, CAP_SYS_ADMIN for network
	// namespaces).
	ErrPermission = errors.New("operation not permitted")

	// ErrDeviceBusy means a link of the requested name already exists, or
	// another process holds a TUN device of that name.
	ErrDeviceBusy = errors.New("device name in use")

	// ErrNoTUN means /dev/net/tun is missing: the tun module is not loaded
	// or the device node is not available (as in some containers).
	ErrNoTUN = errors.New("/dev/net/tun does not exist (load the tun module: modprobe tun)")

	// ErrInvalidConfig means Config holds a value the kernel would refuse.
	ErrInvalidConfig = errors.New("invalid configuration")

	// ErrOffsetTooSmall means Write was given less headroom than MinOffset.
	ErrOffsetTooSmall = errors.New("offset leaves no room for the virtio-net header")

	// ErrPacketTooBig means a packet written to a Memory device is larger
	// than its MTU.
	ErrPacketTooBig = errors.New("packet larger than the MTU")

	// ErrQueueFull means a Peer injected a packet while the Memory device's
	// queue was full: the reader is not keeping up.
	ErrQueueFull = errors.New("queue full")
)

// permissionError tells the user which capability is missing and how to get
// it, in one line, and matches ErrPermission under errors.Is.
type permissionError struct {
	capability string
}

func (e permissionError) Error() string {
	return fmt.Sprintf("%v (need %s: run as root or with sudo)", ErrPermission, e.capability)
}

func (e permissionError) Is(target error) bool { return target == ErrPermission }

// isPermissionErr reports whether err is the kernel refusing for lack of
// privilege: EPERM for a missing capability, EACCES for file modes.
func isPermissionErr(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
}

// tunCreateError turns an error from opening /dev/net/tun or TUNSETIFF into
// one line that says what to do about it.
func tunCreateError(name string, err error) error {
	switch {
	case isPermissionErr(err):
		return fmt.Errorf("creating TUN device %s: %w", name, permissionError{"CAP_NET_ADMIN"})
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("creating TUN device %s: %w (another process holds a TUN device of that name)", name, ErrDeviceBusy)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
		return fmt.Errorf("creating TUN device %s: %w", name, ErrNoTUN)
	default:
		return fmt.Errorf("creating TUN device %s: %w", name, err)
	}
}

// netlinkError wraps an error from configuring the link, mapping EPERM to
// ErrPermission.
func netlinkError(what string, err error) error {
	if isPermissionErr(err) {
		return fmt.Errorf("%s: %w", what, permissionError{"CAP_NET_ADMIN"})
	}
	return fmt.Errorf("%s: %w", what, err)
}

// netnsError wraps an error from creating or entering a network namespace,
// mapping EPERM to ErrPermission.
func netnsError(what string, err error) error {
	if isPermissionErr(err) {
		return fmt.Errorf("%s: %w", what, permissionError{"CAP_SYS_ADMIN"})
	}
	return fmt.Errorf("%s: %w", what, err)
}
