package tests

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// The addresses `tunstack up` uses by default.
const (
	kernelIPv4 = "10.77.0.1"
	stackIPv4  = "10.77.0.2"
	kernelIPv6 = "fd00:77::1"
	stackIPv6  = "fd00:77::2"
)

const (
	// startTimeout bounds how long a daemon may take to open its control socket.
	startTimeout = 15 * time.Second
	// stopTimeout bounds how long a daemon may take to exit after SIGTERM
	// when the test does not check that itself.
	stopTimeout = 5 * time.Second
)

// process is a subprocess that runs while the test goes on.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr testkit.Buffer
	done           chan struct{} // closed when the process has exited
	waitErr        error         // valid after done
}

// startProcess starts a command in the background; the test's cleanup
// kills it if it is still running (the caller's own cleanup, registered
// later, runs first and may stop it more gently).
func startProcess(t *testing.T, stdin *os.File, name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), done: make(chan struct{})}
	if stdin != nil {
		p.cmd.Stdin = stdin
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits at most timeout for the process to exit and reports whether it did.
func (p *process) wait(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// exitCode is the exit status after done; -1 if killed by a signal.
func (p *process) exitCode() int { return p.cmd.ProcessState.ExitCode() }

func (p *process) output() string {
	return "stdout:\n" + p.stdout.String() + "\nstderr:\n" + p.stderr.String()
}

// daemon is a running `tunstack up` in a namespace of its own.
type daemon struct {
	*process
	ns      string // the namespace the daemon's device lives in
	control string // the daemon's control socket
}

// startDaemon runs `tunstack up --netns <fresh namespace> --control <temp>`
// with extra flags, waits until its control socket accepts connections and
// its IPv6 addresses are usable, and registers a cleanup that stops it with
// SIGTERM and removes the namespace if it is still there.
func startDaemon(t *testing.T, extra ...string) *daemon {
	t.Helper()
	return startDaemonIn(t, testkit.NamespaceName(t, "tst"), extra...)
}

// startDaemonIn is startDaemon in namespace ns, which may exist already:
// the caller has it removed when the test ends (testkit.AddNamespace,
// testkit.NamespaceName), after the daemon has stopped.
func startDaemonIn(t *testing.T, ns string, extra ...string) *daemon {
	t.Helper()
	return startDaemonVia(t, nil, ns, extra...)
}

// startDaemonVia is startDaemonIn with the command run through prefix
// (like ip netns exec OTHER), which must exec it in the end.
func startDaemonVia(t *testing.T, prefix []string, ns string, extra ...string) *daemon {
	t.Helper()
	return startDaemonWith(t, prefix, ns, filepath.Join(testkit.ShortTempDir(t), "ctl.sock"), extra...)
}

// startDaemonAt is startDaemonIn with the control socket at control.
func startDaemonAt(t *testing.T, ns, control string, extra ...string) *daemon {
	t.Helper()
	return startDaemonWith(t, nil, ns, control, extra...)
}

// startDaemonWith starts `tunstack up` in ns with its control socket at
// control, run through prefix (none: the binary itself).
func startDaemonWith(t *testing.T, prefix []string, ns, control string, extra ...string) *daemon {
	t.Helper()
	args := append(append(append([]string{}, prefix...), tunstackBinary(t), "up", "--netns", ns, "--control", control), extra...)
	d := &daemon{ns: ns, control: control}
	d.process = startProcess(t, nil, args[0], args[1:]...)
	t.Cleanup(func() {
		if !d.exited() {
			d.cmd.Process.Signal(syscall.SIGTERM)
			if !d.wait(stopTimeout) {
				t.Errorf("daemon in %s did not exit within %v of SIGTERM", ns, stopTimeout)
			}
		}
		if t.Failed() {
			t.Logf("%s\n%s", strings.Join(args, " "), d.output())
		}
	})
	testkit.WaitFor(t, startTimeout, "the daemon's control socket", func() (bool, string) {
		if d.exited() {
			t.Fatalf("tunstack up exited early (%v)\n%s", d.waitErr, d.output())
		}
		conn, err := net.Dial("unix", control)
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	})
	waitIPv6Ready(t, ns)
	return d
}

// waitIPv6Ready waits until no address in ns is tentative: until duplicate
// address detection has finished, the kernel will not use fd00:77::1 as a
// source address.
func waitIPv6Ready(t *testing.T, ns string) {
	t.Helper()
	testkit.WaitFor(t, 5*time.Second, "IPv6 addresses to leave the tentative state", func() (bool, string) {
		r := run(t, nil, "ip", "-n", ns, "-6", "addr", "show", "tentative")
		if r.err != nil {
			return false, r.String()
		}
		return strings.TrimSpace(r.stdout) == "", r.stdout
	})
}
