package tundev

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// prepareNetNSDir makes netnsDir a mount point of its own with shared
// propagation before a namespace is bound into it, as `ip netns add` does.
// Without it, a namespace file bound into the plain directory while a
// concurrent `ip netns add` turns the directory into a mount point ends up
// hidden under that mount: it can then be neither unmounted nor removed
// ("Device or resource busy"), and the name is lost until reboot.
func prepareNetNSDir() error {
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return err
	}
	// Already a mount point: make sure it propagates, and that is all.
	err := unix.Mount("", netnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) {
		return err
	}
	// EINVAL: not a mount point yet. Bind it onto itself, then share it.
	if err := unix.Mount(netnsDir, netnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	return unix.Mount("", netnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
}
