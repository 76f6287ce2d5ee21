package tundev

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netnsDir is where named network namespaces are bind-mounted, as by
// `ip netns add` and github.com/vishvananda/netns (/var/run links to /run).
const netnsDir = "/run/netns"

// UniqueNetNSName returns a namespace name that starts with prefix and that
// no other process or test is using: prefix-<pid>-<random hex>.
func UniqueNetNSName(prefix string) string {
	return fmt.Sprintf("%s-%d-%08x", prefix, os.Getpid(), rand.Uint32())
}

// CreateNetNS creates the named network namespace, as `ip netns add` does.
// It fails if the namespace exists.
func CreateNetNS(name string) error {
	if err := checkNetNSName(name); err != nil {
		return err
	}
	handle, err := createNetNS(name)
	if err != nil {
		return err
	}
	return handle.Close()
}

// DeleteNetNS removes the named network namespace, as `ip netns delete`
// does. A namespace that does not exist is not an error, so that cleanups
// may call it unconditionally. The kernel frees the namespace once no
// process, socket or device holds it.
func DeleteNetNS(name string) error {
	if err := checkNetNSName(name); err != nil {
		return err
	}
	path := filepath.Join(netnsDir, name)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	// EINVAL: the file is there but nothing is mounted on it (left behind
	// by an interrupted creation); remove it all the same.
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, fs.ErrNotExist) {
		return netnsError("deleting network namespace "+name, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return netnsError("deleting network namespace "+name, err)
	}
	return nil
}

// createNetNS creates the named namespace and returns a handle to it.
func createNetNS(name string) (netns.NsHandle, error) {
	if err := prepareNetNSDir(); err != nil {
		return netns.None(), netnsError("creating network namespace "+name, err)
	}
	handle := netns.None()
	err := onLockedThread(func() error {
		// NewNamed moves this thread into the new namespace;
		// onLockedThread moves it back.
		var err error
		handle, err = netns.NewNamed(name)
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			// NewNamed leaves its mount point behind when the bind
			// mount fails; the name was free before, so the file is
			// ours.
			_ = os.Remove(filepath.Join(netnsDir, name))
		}
		return netnsError("creating network namespace "+name, err)
	})
	return handle, err
}

// onLockedThread runs fn on an OS thread of its own, so that fn may change
// the thread's network namespace, and puts the thread back in its original
// namespace afterwards. If that fails the thread stays locked and the
// runtime discards it when the goroutine ends: no other goroutine ever runs
// in a namespace it did not ask for.
func onLockedThread(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		origin, err := netns.Get()
		if err != nil {
			done <- fmt.Errorf("getting the current network namespace: %w", err)
			return
		}
		defer origin.Close()
		err = fn()
		if netns.Set(origin) == nil {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}

// namespace is the network namespace a Device lives in.
type namespace struct {
	name    string         // "" for the current namespace
	handle  netns.NsHandle // netns.None() for the current namespace
	created bool           // Open created it, so Close removes it
}

// openNamespace opens the named namespace, creating it if absent; "" is
// the current namespace.
func openNamespace(name string) (*namespace, error) {
	if name == "" {
		return &namespace{handle: netns.None()}, nil
	}
	handle, err := netns.GetFromName(name)
	if err == nil {
		return &namespace{name: name, handle: handle}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, netnsError("opening network namespace "+name, err)
	}
	handle, err = createNetNS(name)
	if err != nil {
		return nil, err
	}
	return &namespace{name: name, handle: handle, created: true}, nil
}

// run calls fn with the calling thread in the namespace, so that the
// descriptors fn opens belong to it.
func (ns *namespace) run(fn func() error) error {
	if ns.name == "" {
		return fn()
	}
	return onLockedThread(func() error {
		if err := netns.Set(ns.handle); err != nil {
			return netnsError("entering network namespace "+ns.name, err)
		}
		return fn()
	})
}

// netlinkHandle returns a netlink handle whose socket lives in the
// namespace.
func (ns *namespace) netlinkHandle() (*netlink.Handle, error) {
	if ns.name == "" {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, netlinkError("opening netlink socket", err)
		}
		return h, nil
	}
	h, err := netlink.NewHandleAt(ns.handle)
	if err != nil {
		return nil, netnsError("opening netlink socket in network namespace "+ns.name, err)
	}
	return h, nil
}

// close releases the handle and removes the namespace if Open created it.
func (ns *namespace) close() error {
	if ns.name == "" {
		return nil
	}
	err := ns.handle.Close()
	if ns.created {
		err = errors.Join(err, DeleteNetNS(ns.name))
	}
	return err
}

// RemoveStaleNetNS deletes the namespaces that UniqueNetNSName made with
// this prefix for a process that no longer runs: what a run killed before
// it could clean up left behind. It returns the names it removed.
func RemoveStaleNetNS(prefix string) ([]string, error) {
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		pid, ok := uniqueNamePID(e.Name(), prefix)
		if !ok || processRuns(pid) {
			continue
		}
		if err := DeleteNetNS(e.Name()); err != nil {
			return removed, err
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}

// uniqueNamePID reads the PID out of a name UniqueNetNSName made.
func uniqueNamePID(name, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix+"-")
	if !ok {
		return 0, false
	}
	pidText, suffix, ok := strings.Cut(rest, "-")
	if !ok || len(suffix) != 8 {
		return 0, false
	}
	pid, err := strconv.Atoi(pidText)
	return pid, err == nil && pid > 0
}

// processRuns reports whether a process with this PID exists.
func processRuns(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// InNetNS runs fn on a thread of its own in the named network namespace
// ("" for the caller's), so that the sockets fn opens belong to that
// namespace; they stay there whichever thread uses them later.
func InNetNS(name string, fn func() error) error {
	if name == "" {
		return fn()
	}
	if err := checkNetNSName(name); err != nil {
		return err
	}
	ns, err := openExistingNamespace(name)
	if err != nil {
		return err
	}
	defer ns.close()
	return ns.run(fn)
}

// openExistingNamespace opens the named namespace, which must exist.
func openExistingNamespace(name string) (*namespace, error) {
	handle, err := netns.GetFromName(name)
	if err != nil {
		return nil, netnsError("opening network namespace "+name, err)
	}
	return &namespace{name: name, handle: handle}, nil
}

// LinkAddrs returns the addresses of the named interface in the named
// network namespace ("" for the caller's): for a TUN device the stack
// uses, the kernel's side of it.
func LinkAddrs(netnsName, dev string) ([]netip.Addr, error) {
	ns := &namespace{handle: netns.None()}
	if netnsName != "" {
		var err error
		if ns, err = openExistingNamespace(netnsName); err != nil {
			return nil, err
		}
		defer ns.close()
	}
	h, err := ns.netlinkHandle()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	link, err := h.LinkByName(dev)
	if err != nil {
		return nil, netlinkError("finding device "+dev, err)
	}
	list, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, netlinkError("reading the addresses of "+dev, err)
	}
	var addrs []netip.Addr
	for _, a := range list {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && !ip.Unmap().IsLinkLocalUnicast() {
			addrs = append(addrs, ip.Unmap())
		}
	}
	return addrs, nil
}
