package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// nameCounter makes UniqueName's names differ within one process.
var nameCounter atomic.Int64

// UniqueName returns a name that no other test, and no test process
// running at the same time, uses: prefix, the process ID and a counter.
// Keep prefix short: a namespace name becomes a path, and a device name
// may have at most 15 bytes.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), nameCounter.Add(1))
}

// NamespaceExists reports whether the named network namespace exists
// (as `ip netns` sees it: /run/netns/NAME).
func NamespaceExists(name string) bool {
	_, err := os.Stat("/run/netns/" + name)
	return err == nil
}

// AddNamespace creates a network namespace with a unique name and its
// loopback up, and removes it when the test ends, whether the test passed
// or failed. It needs root: call RequireRoot first.
func AddNamespace(t testing.TB) string {
	t.Helper()
	name := UniqueName("tst")
	if err := ip("netns", "add", name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := RemoveNamespace(name); err != nil {
			t.Error(err)
		}
	})
	if err := ip("-n", name, "link", "set", "lo", "up"); err != nil {
		t.Fatal(err)
	}
	return name
}

// NamespaceName returns a unique namespace name for code under test to
// create, and removes a namespace of that name if one is left when the
// test ends. A test that requires the code to remove it checks
// NamespaceExists itself.
func NamespaceName(t testing.TB, prefix string) string {
	t.Helper()
	name := UniqueName(prefix)
	t.Cleanup(func() {
		if err := RemoveNamespace(name); err != nil {
			t.Error(err)
		}
	})
	return name
}

// RemoveNamespace removes the named namespace if it exists.
func RemoveNamespace(name string) error {
	if !NamespaceExists(name) {
		return nil
	}
	return ip("netns", "del", name)
}

// ip runs the ip command of iproute2, bounded in time.
func ip(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// InNamespace runs fn on an OS thread switched into the named namespace,
// so that the sockets fn opens belong to it; they stay there whatever
// thread later uses them. If the thread cannot be switched back it stays
// locked, and the runtime ends it with its goroutine instead of letting
// other goroutines run in the namespace.
func InNamespace(ns string, fn func() error) error {
	result := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		origin, err := netns.Get()
		if err != nil {
			result <- err
			return
		}
		defer origin.Close()
		target, err := netns.GetFromName(ns)
		if err != nil {
			result <- fmt.Errorf("namespace %s: %w", ns, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			result <- fmt.Errorf("entering namespace %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := netns.Set(origin); err != nil {
			result <- errors.Join(ferr, err)
			return
		}
		runtime.UnlockOSThread()
		result <- ferr
	}()
	return <-result
}

// open runs open inside namespace ns, and closes what it opened if the
// thread could not come back.
func open[T io.Closer](ns string, open func() (T, error)) (T, error) {
	var sock T
	var opened bool
	err := InNamespace(ns, func() error {
		var err error
		sock, err = open()
		opened = err == nil
		return err
	})
	if err != nil && opened {
		sock.Close()
	}
	return sock, err
}

// ListenIn opens a TCP listener on address inside namespace ns, closed
// when the test ends. The test holds the kernel's end of what it accepts
// and closes it exactly when it wants (nc -l exits as soon as its peer's
// FIN arrives).
func ListenIn(t testing.TB, ns, address string) net.Listener {
	t.Helper()
	ln, err := open(ns, func() (net.Listener, error) { return net.Listen("tcp", address) })
	if err != nil {
		t.Fatalf("listen on %s in namespace %s: %v", address, ns, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// DialIn connects a TCP socket to address from inside namespace ns, closed
// when the test ends; the connect waits at most timeout.
func DialIn(t testing.TB, ns, address string, timeout time.Duration) net.Conn {
	t.Helper()
	c, err := open(ns, func() (net.Conn, error) { return net.DialTimeout("tcp", address, timeout) })
	if err != nil {
		t.Fatalf("dial %s in namespace %s: %v", address, ns, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
