package main

import (
	"errors"
	"fmt"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"golang.org/x/sys/unix"
)

// capabilitySet is the process's effective capability set, as a bit mask
// indexed by the CAP_* numbers.
type capabilitySet uint64

func (s capabilitySet) has(capability int) bool { return s&(1<<capability) != 0 }

// effectiveCapabilities asks the kernel (capget(2)) for the effective set.
func effectiveCapabilities() (capabilitySet, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("reading capabilities: %w", err)
	}
	return capabilitySet(data[0].Effective) | capabilitySet(data[1].Effective)<<32, nil
}

// requirePrivileges checks up front, before anything is created, that the
// process may create a TUN device and, with a namespace, the namespace.
// command is how the user ran us, for the hint ("tunstack up").
func (c *cli) requirePrivileges(command string, namespace bool) error {
	caps, err := c.capabilities()
	if err != nil {
		// Cannot tell: let the operation itself fail with the real reason.
		return nil
	}
	if !caps.has(unix.CAP_NET_ADMIN) {
		return usage.RunAsRoot(usage.ErrNeedNetAdmin, command)
	}
	if namespace && !caps.has(unix.CAP_SYS_ADMIN) {
		return usage.RunAsRoot(errors.New("creating a network namespace needs CAP_SYS_ADMIN"), command)
	}
	return nil
}
