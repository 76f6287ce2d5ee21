package kernelstates

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Root is where tracefs is mounted, and where a Tracer mounts it when it
// is not (as `mount -t tracefs nodev /sys/kernel/tracing` does). The
// mount stays: it is where every tracing tool looks for it.
var Root = "/sys/kernel/tracing"

// ErrUnavailable says that the kernel's states cannot be read here; the
// error that wraps it says why.
var ErrUnavailable = errors.New("cannot read the kernel's tracepoint")

// tracepointDir is the tracepoint's directory under a tracefs root or an
// instance.
const tracepointDir = "events/sock/" + event

// mountTracefs makes sure tracefs is at Root with the tracepoint in it.
func mountTracefs() error {
	if _, err := os.Stat(filepath.Join(Root, tracepointDir)); err == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(Root, "instances")); err != nil {
		if err := unix.Mount("nodev", Root, "tracefs", 0, ""); err != nil {
			return fmt.Errorf("%w: mount -t tracefs nodev %s: %v", ErrUnavailable, Root, err)
		}
	}
	if _, err := os.Stat(filepath.Join(Root, tracepointDir)); err != nil {
		return fmt.Errorf("%w: this kernel has no tracepoint sock:%s", ErrUnavailable, event)
	}
	return nil
}

// instanceName is a name no other process or Tracer uses:
// PREFIX-PID-RANDOM, so that a later run can tell whose it was.
func instanceName(prefix string) string {
	return fmt.Sprintf("%s-%d-%08x", prefix, os.Getpid(), rand.Uint32())
}

// instancePID reads the PID out of a name instanceName made.
func instancePID(name, prefix string) (int, bool) {
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

// removeStale removes the instances with this prefix of processes that
// no longer run: what a run killed before it could clean up left.
func removeStale(prefix string) []string {
	entries, err := os.ReadDir(filepath.Join(Root, "instances"))
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		pid, ok := instancePID(e.Name(), prefix)
		if !ok || processRuns(pid) {
			continue
		}
		if removeInstance(filepath.Join(Root, "instances", e.Name())) == nil {
			removed = append(removed, e.Name())
		}
	}
	return removed
}

func processRuns(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// removeInstance turns the tracepoint off and removes the instance. The
// kernel refuses (EBUSY) while a file in it is still open: the reader's
// trace_pipe may take a moment to be released.
func removeInstance(dir string) error {
	_ = os.WriteFile(filepath.Join(dir, tracepointDir, "enable"), []byte("0"), 0)
	var err error
	for range 50 {
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("removing trace instance %s: %w", dir, err)
}

// filterFor is the tracepoint filter that keeps the kernel's TCP sockets
// from one of the kernel's addresses to one of the stack's (any address,
// if stack is empty). The tracepoint's saddr and daddr hold IPv4
// addresses as 4 bytes, which the filter compares as one number in the
// machine's byte order; IPv6 addresses it cannot compare: for them it
// keeps every IPv6 socket, and the Tracer checks the addresses itself.
func filterFor(kernel, stack []netip.Addr) string {
	match := func(field string, addrs []netip.Addr) string {
		var alts []string
		for _, a := range addrs {
			if a.Is4() {
				b := a.As4()
				alts = append(alts, fmt.Sprintf("%s == 0x%x", field, binary.NativeEndian.Uint32(b[:])))
			}
		}
		return strings.Join(alts, " || ")
	}
	var terms []string
	if v4 := match("saddr", kernel); v4 != "" {
		if s := match("daddr", stack); s != "" {
			v4 = "(" + v4 + ") && (" + s + ")"
		}
		terms = append(terms, "(family == 2 && ("+v4+"))")
	}
	for _, a := range kernel {
		if a.Is6() {
			terms = append(terms, "family == 10")
			break
		}
	}
	if len(terms) == 0 {
		return "protocol == 6"
	}
	return "protocol == 6 && (" + strings.Join(terms, " || ") + ")"
}
