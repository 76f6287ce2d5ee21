package tundev

import (
	"errors"
	"os"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// testNetNSName returns a fresh namespace name and removes that namespace
// when the test ends, whether or not the test created it.
func testNetNSName(t *testing.T) string {
	t.Helper()
	name := UniqueNetNSName("tundev-test")
	t.Cleanup(func() {
		if err := DeleteNetNS(name); err != nil {
			t.Errorf("DeleteNetNS: %v", err)
		}
	})
	return name
}

// createTestNetNS creates a namespace that the test's cleanup removes.
func createTestNetNS(t *testing.T) string {
	t.Helper()
	name := testNetNSName(t)
	if err := CreateNetNS(name); err != nil {
		t.Fatalf("CreateNetNS: %v", err)
	}
	return name
}

// openTestDevice opens a device in a fresh namespace that Open creates; the
// test's cleanup closes it and removes the namespace.
func openTestDevice(t *testing.T, cfg Config) *Device {
	t.Helper()
	testkit.RequireRoot(t)
	cfg.NetNS = testNetNSName(t)
	dev, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

// netlinkIn returns a netlink handle in the named namespace, closed when
// the test ends.
func netlinkIn(t *testing.T, nsName string) *netlink.Handle {
	t.Helper()
	ns, err := netns.GetFromName(nsName)
	if err != nil {
		t.Fatalf("opening namespace %s: %v", nsName, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", nsName, err)
	}
	t.Cleanup(h.Close)
	return h
}

// inNetNS runs fn on a thread inside the named namespace, so that the
// sockets fn opens belong to it.
func inNetNS(t *testing.T, nsName string, fn func() error) {
	t.Helper()
	handle, err := netns.GetFromName(nsName)
	if err != nil {
		t.Fatalf("opening namespace %s: %v", nsName, err)
	}
	defer handle.Close()
	ns := &namespace{name: nsName, handle: handle}
	if err := ns.run(fn); err != nil {
		t.Fatalf("in namespace %s: %v", nsName, err)
	}
}

// linkExists reports whether a link of that name is in the namespace h
// works in.
func linkExists(t *testing.T, h *netlink.Handle, name string) bool {
	t.Helper()
	_, err := h.LinkByName(name)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		return false
	}
	if err != nil {
		t.Fatalf("LinkByName(%s): %v", name, err)
	}
	return true
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
