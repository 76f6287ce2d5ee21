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

// IndexHere is the device's interface index when it lives in the
// namespace the process runs in (no --netns, or --netns naming that same
// namespace), where the process's own sockets may route into it; ok is
// false when it lives in another namespace.
func (d *Device) IndexHere() (index int, ok bool, err error) {
	if d.ns.name == "" {
		return d.index, true, nil
	}
	id, err := NetNSID(d.ns.name)
	if err != nil {
		return 0, false, err
	}
	info, err := os.Stat("/proc/self/ns/net")
	if err != nil {
		return 0, false, fmt.Errorf("this process's network namespace: %w", err)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false, fmt.Errorf("this process's network namespace: no inode")
	}
	return d.index, st.Ino == id, nil
}
