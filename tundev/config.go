package tundev

import (
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/sys/unix"
)

// Defaults for the zero values of Config.
const (
	DefaultName = "tunstack0"
	DefaultMTU  = 1500
	// DefaultTxQueueLen is the device's txqueuelen: how many packets the
	// kernel queues for the stack to read before it drops them. The TUN
	// driver's own default, 500, lasts 3 ms of a SYN flood that one
	// thread sends with sendto (150,000 packets a second): less than a
	// time slice of the scheduler, so that every time another process
	// takes the stack's core on a busy machine, the kernel drops what
	// arrives, honest SYNs with the flood. 4096 lasts 27 ms. Under a
	// sustained flood that outruns the stack, the queue stays full
	// whatever its length: then it only delays each packet by its length
	// (27 ms at that rate), and drops as many as before.
	DefaultTxQueueLen = 4096
)

// MTU limits: the tun driver accepts 68..65535, and the kernel disables
// IPv6 on a link whose MTU is below 1280 (RFC 8200 §5).
const (
	minMTU     = 68
	maxMTU     = 65535
	minIPv6MTU = 1280
)

// Config says which TUN device Open creates and how it sets up the kernel
// side of it.
type Config struct {
	// Name is the interface name; DefaultName when empty.
	Name string
	// MTU of the link; DefaultMTU when zero.
	MTU int
	// Addrs are the kernel side's addresses with their prefixes, such as
	// 10.77.0.1/24 and fd00:77::1/64. The prefix gives the kernel the
	// route to the stack's addresses through the device.
	Addrs []netip.Prefix
	// NetNS names the network namespace under /run/netns to create the
	// device in; "" means the current one. Open creates the namespace if
	// it is absent (and Close then removes it); an existing namespace is
	// left in place.
	NetNS string
	// TxQueueLen is the device's txqueuelen, the packets the kernel
	// queues for the stack to read; DefaultTxQueueLen when zero.
	TxQueueLen int
}

// withDefaults returns c with its zero values replaced and checks it.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.TxQueueLen == 0 {
		c.TxQueueLen = DefaultTxQueueLen
	}
	if c.TxQueueLen < 0 {
		return c, fmt.Errorf("txqueuelen %d < 0: %w", c.TxQueueLen, ErrInvalidConfig)
	}
	if err := checkIfName(c.Name); err != nil {
		return c, err
	}
	if c.MTU < minMTU || c.MTU > maxMTU {
		return c, fmt.Errorf("MTU %d outside %d..%d: %w", c.MTU, minMTU, maxMTU, ErrInvalidConfig)
	}
	for _, p := range c.Addrs {
		if !p.IsValid() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			return c, fmt.Errorf("address %v: %w", p, ErrInvalidConfig)
		}
		if p.Addr().Is6() && c.MTU < minIPv6MTU {
			return c, fmt.Errorf("IPv6 address %v needs an MTU of at least %d, not %d: %w", p, minIPv6MTU, c.MTU, ErrInvalidConfig)
		}
	}
	if c.NetNS != "" {
		if err := checkNetNSName(c.NetNS); err != nil {
			return c, err
		}
	}
	return c, nil
}

// checkIfName applies the kernel's rules for interface names
// (dev_valid_name), and refuses '%' so that the name is the one we get
// rather than a pattern the kernel fills in.
func checkIfName(name string) error {
	if len(name) >= unix.IFNAMSIZ || name == "." || name == ".." ||
		strings.ContainsAny(name, "/:% \t\n\v\f\r") {
		return fmt.Errorf("interface name %q (at most %d bytes, no '/', ':', '%%' or spaces): %w",
			name, unix.IFNAMSIZ-1, ErrInvalidConfig)
	}
	return nil
}

// checkNetNSName refuses names that are not a single file name under
// /run/netns.
func checkNetNSName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("network namespace name %q: %w", name, ErrInvalidConfig)
	}
	return nil
}
