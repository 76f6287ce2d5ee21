package tests

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

// commandTimeout bounds every client command a test runs.
const commandTimeout = 30 * time.Second

var nsCounter atomic.Int64

// uniqueNamespace returns a network namespace name that no other test, and
// no concurrent run of this package, uses.
func uniqueNamespace() string {
	return fmt.Sprintf("tst-%d-%d", os.Getpid(), nsCounter.Add(1))
}

// namespaceExists reports whether `ip netns` knows the namespace name.
func namespaceExists(name string) bool {
	_, err := os.Stat("/run/netns/" + name)
	return err == nil
}

// addNamespace creates a namespace with loopback up and removes it when the
// test ends.
func addNamespace(t *testing.T) string {
	t.Helper()
	name := uniqueNamespace()
	mustRun(t, "ip", "netns", "add", name)
	t.Cleanup(func() { deleteNamespace(t, name) })
	mustRun(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// deleteNamespace removes the namespace if it is still there.
func deleteNamespace(t *testing.T, name string) {
	t.Helper()
	if !namespaceExists(name) {
		return
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		t.Errorf("ip netns del %s: %v: %s", name, err, out)
	}
}

// result is what a finished command left behind.
type result struct {
	stdout, stderr string
	exitCode       int // -1 if it did not exit normally
	err            error
	elapsed        time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d (%v) after %v\nstdout: %s\nstderr: %s", r.exitCode, r.err, r.elapsed, r.stdout, r.stderr)
}

// run runs a command to completion, bounded by commandTimeout, with stdin
// (may be nil) as its input.
func run(t *testing.T, stdin []byte, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), err: err, elapsed: time.Since(start), exitCode: -1}
	if cmd.ProcessState != nil {
		r.exitCode = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		r.err = fmt.Errorf("%s %s: killed after %v: %w", name, strings.Join(args, " "), commandTimeout, ctx.Err())
	}
	return r
}

// mustRun runs a command and fails the test unless it exits 0.
func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	r := run(t, nil, name, args...)
	if r.err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), r)
	}
	return r.stdout
}

// inNamespace prefixes a command so that it runs inside namespace ns.
func inNamespace(ns string, args ...string) (string, []string) {
	return "ip", append([]string{"netns", "exec", ns}, args...)
}

// runIn runs a command inside namespace ns.
func runIn(t *testing.T, ns string, stdin []byte, args ...string) result {
	t.Helper()
	name, full := inNamespace(ns, args...)
	return run(t, stdin, name, full...)
}

// listenInNamespace opens a kernel TCP listener inside namespace ns. The
// socket stays in that namespace whatever thread later uses it, so the test
// can hold the kernel's end of a connection and close it exactly when it
// wants (nc -l cannot: it exits as soon as its peer's FIN arrives).
func listenInNamespace(t *testing.T, ns, address string) net.Listener {
	t.Helper()
	ln, err := openInNamespace(ns, func() (net.Listener, error) { return net.Listen("tcp", address) })
	if err != nil {
		t.Fatalf("listen on %s in namespace %s: %v", address, ns, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// dialInNamespace connects a kernel TCP socket from inside namespace ns,
// as listenInNamespace listens.
func dialInNamespace(t *testing.T, ns, address string) net.Conn {
	t.Helper()
	c, err := openInNamespace(ns, func() (net.Conn, error) { return net.DialTimeout("tcp", address, commandTimeout) })
	if err != nil {
		t.Fatalf("dial %s in namespace %s: %v", address, ns, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// openInNamespace runs open on a thread switched into namespace ns: the
// socket it opens stays in ns whatever thread later uses it.
func openInNamespace[T io.Closer](ns string, open func() (T, error)) (T, error) {
	type result struct {
		sock T
		err  error
	}
	done := make(chan result, 1)
	go func() {
		// The thread is switched to ns; if it cannot be switched back it stays
		// locked and dies with this goroutine instead of serving others.
		runtime.LockOSThread()
		var r result
		origin, err := netns.Get()
		if err != nil {
			r.err = err
			done <- r
			return
		}
		defer origin.Close()
		target, err := netns.GetFromName(ns)
		if err != nil {
			r.err = err
			done <- r
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			r.err = err
			done <- r
			return
		}
		r.sock, r.err = open()
		if err := netns.Set(origin); err != nil {
			if r.err == nil {
				r.sock.Close()
			}
			r.err = errors.Join(r.err, err)
			done <- r
			return
		}
		runtime.UnlockOSThread()
		done <- r
	}()
	r := <-done
	return r.sock, r.err
}
