package tundev

import (
	"errors"
	"os"
	"time"

	"github.com/vishvananda/netlink"
)

// ErrDeviceRemoved means the device was deleted under a running Device
// (`ip link del`), not closed by Close. Read then fails with an error
// that matches it and os.ErrClosed both, so that a reader that stops on a
// closed link stops, and can tell why.
var ErrDeviceRemoved = errors.New("device removed")

type removedError struct{ name string }

func (e removedError) Error() string {
	return "device " + e.name + " was removed (ip link del)"
}

func (e removedError) Is(target error) bool {
	return target == ErrDeviceRemoved || target == os.ErrClosed
}

// readError is the error Read returns for err. Once its link is deleted,
// a TUN descriptor fails reads with EBADFD, which wireguard-go reports as
// os.ErrClosed as it does after Close, or the runtime's poller gives up on
// it ("not pollable"): the link's absence tells these from the others.
func (d *Device) readError(err error) error {
	if d.closed.Load() {
		// After Close, wireguard may report its link monitor's
		// shutdown rather than the closed file.
		return os.ErrClosed
	}
	tries := 1
	if errors.Is(err, os.ErrClosed) {
		// The descriptor may fail a moment before the link is
		// unregistered.
		tries = linkGoneTries
	}
	if d.linkGone(tries) {
		return removedError{d.name}
	}
	return err
}

// linkGone reports whether the kernel no longer has the device's link,
// asking up to tries times.
func (d *Device) linkGone(tries int) bool {
	for i := range tries {
		if i > 0 {
			time.Sleep(linkGoneWait)
		}
		d.mu.Lock()
		if d.netlink == nil {
			d.mu.Unlock()
			return false
		}
		_, err := d.netlink.LinkByIndex(d.index)
		d.mu.Unlock()
		if errors.As(err, new(netlink.LinkNotFoundError)) {
			return true
		}
	}
	return false
}

const (
	linkGoneTries = 10
	linkGoneWait  = 10 * time.Millisecond
)
