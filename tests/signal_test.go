package tests

import (
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// exitAfterSignal bounds how long the daemon may take to stop on SIGTERM.
const exitAfterSignal = 2 * time.Second

// TestSIGTERM: the daemon exits 0 within a couple of seconds of SIGTERM,
// closing its connections with FIN and removing its device (and the
// namespace, when it created it).
func TestSIGTERM(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()

	t.Run("own namespace", func(t *testing.T) {
		t.Parallel()
		d := startDaemon(t)
		stopAndCheck(t, d)
		if testkit.NamespaceExists(d.ns) {
			t.Errorf("namespace %s, which the daemon created, is still there", d.ns)
		}
	})

	t.Run("existing namespace with an open connection", func(t *testing.T) {
		t.Parallel()
		ns := testkit.AddNamespace(t)
		d := startDaemonIn(t, ns)
		// An idle connection to echo. nc -d reads no input, so it sends
		// nothing and closes its end only when the stack's FIN arrives.
		name, args := inNamespace(ns, "nc", "-d", stackIPv4, "7")
		nc := startProcess(t, nil, name, args...)
		testkit.WaitFor(t, 5*time.Second, "the connection to echo", func() (bool, string) {
			sockets := kernelSockets(t, ns)
			_, ok := findSocket(sockets, kernelSocket{State: "ESTAB", Peer: stackIPv4 + ":7"})
			return ok, describeSockets(sockets)
		})
		stopAndCheck(t, d)

		// nc -d ends only when its connection does. If the stack had reset
		// it instead of closing it with FIN, the kernel would have counted
		// a reset of an established connection.
		if !nc.wait(5 * time.Second) {
			t.Errorf("nc still running after the daemon exited: its connection was not closed\n%s", nc.output())
		}
		if n := tcpCounter(t, ns, "EstabResets"); n != 0 {
			t.Errorf("the kernel counted %d reset established connections; want the stack's FIN, not a RST", n)
		}
		if !testkit.NamespaceExists(ns) {
			return // the daemon removed it, and the device with it
		}
		if r := run(t, nil, "ip", "-n", ns, "link", "show", "dev", "tunstack0"); r.err == nil {
			t.Errorf("device tunstack0 still exists after the daemon exited:\n%s", r.stdout)
		}
	})
}

// stopAndCheck sends SIGTERM and checks that the daemon exits 0 in time.
func stopAndCheck(t *testing.T, d *daemon) {
	t.Helper()
	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !d.wait(exitAfterSignal) {
		t.Fatalf("daemon still running %v after SIGTERM", exitAfterSignal)
	}
	if code := d.exitCode(); code != 0 {
		t.Errorf("daemon exited %d after SIGTERM, want 0\n%s", code, d.output())
	}
	t.Logf("daemon exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
}
