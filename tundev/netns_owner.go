package tundev

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// CreatedNetNS reports whether Open created the device's namespace (and
// Close will remove it).
func (d *Device) CreatedNetNS() bool { return d.ns.created }

// NetNSID identifies the named namespace: the inode of its nsfs file,
// which stays the same while the namespace lives and differs from any
// namespace created later under the same name. A process that records
// it can tell later whether a namespace of that name is still the one it
// created.
func NetNSID(name string) (uint64, error) {
	if err := checkNetNSName(name); err != nil {
		return 0, err
	}
	info, err := os.Stat(filepath.Join(netnsDir, name))
	if err != nil {
		return 0, fmt.Errorf("network namespace %s: %w", name, err)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("network namespace %s: no inode", name)
	}
	return st.Ino, nil
}
