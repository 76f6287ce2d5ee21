package flags

import (
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

// Device names a daemon: its device and namespace, from which the
// control socket's path follows. up, dial, ss and trace share them.
type Device struct {
	Dev     string
	NetNS   string
	Control string
}

// Register adds --dev, --netns and --control; netnsHelp says what --netns
// does for this command.
func (f *Device) Register(fs *pflag.FlagSet, netnsHelp string) {
	fs.StringVar(&f.Dev, "dev", DefaultDev, "TUN device name")
	fs.StringVar(&f.NetNS, "netns", "", netnsHelp)
	fs.StringVar(&f.Control, "control", "", "control socket (default "+DefaultControlDir+"/[NETNS-]DEV.sock)")
}

// ControlPath is the control socket: --control, or one derived from the
// device and namespace so that daemons in two namespaces do not collide.
func (f *Device) ControlPath() string {
	if f.Control != "" {
		return f.Control
	}
	return defaultControlPath(f.Dev, f.NetNS)
}

func defaultControlPath(dev, netns string) string {
	name := dev
	if netns != "" {
		name = netns + "-" + dev
	}
	return filepath.Join(DefaultControlDir, name+".sock")
}

// Validate checks the names of the device and the namespace.
func (f *Device) Validate() error {
	if err := validateDeviceName(f.Dev); err != nil {
		return err
	}
	if f.NetNS != "" {
		if err := validateNetNSName(f.NetNS); err != nil {
			return err
		}
	}
	return nil
}

// validateDeviceName applies the kernel's rules for interface names
// (dev_valid_name): 1 to 15 bytes, no '/', ':' or white space, not "." or "..".
func validateDeviceName(name string) error {
	const ifNameMax = 15 // IFNAMSIZ - 1
	switch {
	case name == "":
		return usage.Errorf("--dev: a device name is required")
	case len(name) > ifNameMax:
		return usage.Errorf("--dev %q: longer than %d bytes", name, ifNameMax)
	case name == "." || name == "..":
		return usage.Errorf("--dev %q: not a valid interface name", name)
	case strings.ContainsAny(name, "/: \t\n\r\v\f"):
		return usage.Errorf("--dev %q: must not contain '/', ':' or spaces", name)
	}
	return nil
}

// validateNetNSName keeps a namespace name to what `ip netns` can use: a
// file name under /run/netns.
func validateNetNSName(name string) error {
	switch {
	case name == "." || name == "..":
		return usage.Errorf("--netns %q: not a valid namespace name", name)
	case len(name) > 200:
		return usage.Errorf("--netns %q: too long", name)
	case strings.ContainsAny(name, "/ \t\n\r\v\f"):
		return usage.Errorf("--netns %q: must not contain '/' or spaces", name)
	}
	return nil
}
