package tests

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// recordPath is where a daemon on tunstack0 in ns records what it made
// (cmd/tunstack/internal/lifecycle).
func recordPath(ns string) string {
	return filepath.Join("/run/tunstack/daemons", ns+"-tunstack0.json")
}

// kill ends the daemon with SIGKILL, which leaves its namespace and
// control socket behind.
func (d *daemon) kill(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if !d.wait(stopTimeout) {
		t.Fatal("daemon still running after SIGKILL")
	}
	if !testkit.NamespaceExists(d.ns) {
		t.Fatalf("namespace %s went with SIGKILL: nothing left to clean", d.ns)
	}
	if _, err := os.Lstat(d.control); err != nil {
		t.Fatalf("control socket went with SIGKILL: %v", err)
	}
}

// checkNothingLeft checks that no namespace, device, socket or record of
// the daemon is left.
func checkNothingLeft(t *testing.T, ns, control string) {
	t.Helper()
	if testkit.NamespaceExists(ns) {
		t.Errorf("namespace %s left behind", ns)
		if r := run(t, nil, "ip", "-n", ns, "link", "show", "dev", "tunstack0"); r.err == nil {
			t.Errorf("device tunstack0 left behind:\n%s", r.stdout)
		}
	}
	if _, err := os.Lstat(control); err == nil {
		t.Errorf("control socket %s left behind", control)
	}
	if _, err := os.Lstat(recordPath(ns)); err == nil {
		t.Errorf("record %s left behind", recordPath(ns))
	}
}

// TestRestartAfterSIGKILL: an `up` that was killed leaves its namespace
// and control socket; the next `up` for the same device and namespace
// removes them, so that when it stops, nothing is left.
func TestRestartAfterSIGKILL(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	ns := testkit.NamespaceName(t, "tst")
	first := startDaemonIn(t, ns)
	first.kill(t)
	second := startDaemonAt(t, ns, first.control)
	if !strings.Contains(second.stderr.String(), "removed what a daemon that died left behind") {
		t.Errorf("the second daemon did not say it removed what the first left\n%s", second.output())
	}
	stopAndCheck(t, second)
	checkNothingLeft(t, ns, first.control)
}

// TestCleanupCommand: `tunstack cleanup` removes the namespace a killed
// daemon created and its control socket, and keeps a namespace the user
// created.
//
// Not parallel: cleanup removes what every dead daemon left, so it would
// take what TestRestartAfterSIGKILL's killed daemon left before the
// daemon that test starts next could (Go runs the parallel tests only
// after the others).
func TestCleanupCommand(t *testing.T) {
	testkit.RequireRoot(t)
	created := startDaemon(t)
	created.kill(t)
	users := startDaemonIn(t, testkit.AddNamespace(t))
	users.kill(t)

	r := run(t, nil, tunstackBinary(t), "cleanup")
	if r.err != nil {
		t.Fatalf("tunstack cleanup: %v", r)
	}
	for _, want := range []string{"removed namespace " + created.ns, "removed control socket " + created.control, "removed control socket " + users.control} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("tunstack cleanup did not say %q:\n%s", want, r.stdout)
		}
	}
	checkNothingLeft(t, created.ns, created.control)
	if !testkit.NamespaceExists(users.ns) {
		t.Errorf("tunstack cleanup removed namespace %s, which the user created", users.ns)
	}
	if _, err := os.Lstat(users.control); err == nil {
		t.Errorf("control socket %s left behind", users.control)
	}
}

// checkEndsCleanly checks that the daemon stops on its own with exit 0,
// with a line that says why, and leaves nothing behind.
func checkEndsCleanly(t *testing.T, d *daemon, why string) {
	t.Helper()
	if !d.wait(5 * time.Second) {
		t.Fatalf("daemon still running 5s after %s\n%s", why, d.output())
	}
	if code := d.exitCode(); code != 0 {
		t.Errorf("daemon exited %d, want 0\n%s", code, d.output())
	}
	found := false
	for _, line := range strings.Split(d.stderr.String(), "\n") {
		found = found || strings.Contains(line, "msg=\"shutting down\"") && strings.Contains(line, why)
	}
	if !found {
		t.Errorf("no line says the daemon is shutting down because %s\n%s", why, d.output())
	}
	checkNothingLeft(t, d.ns, d.control)
}

// TestDeviceRemoved: `ip link del` of the daemon's device ends it with
// exit 0 and a line that says so, and it cleans up as on SIGTERM.
func TestDeviceRemoved(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	mustRun(t, "ip", "-n", d.ns, "link", "del", "tunstack0")
	checkEndsCleanly(t, d, "device tunstack0 was removed")
}

// TestControlSocketRemoved: removing the control socket, through which
// no command can reach the daemon any more, ends it with exit 0 and a
// line that says so.
func TestControlSocketRemoved(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	if err := os.Remove(d.control); err != nil {
		t.Fatal(err)
	}
	checkEndsCleanly(t, d, "control socket "+d.control+" was removed")
}

// TestControlSocketReplaced: a socket that takes the path of the
// daemon's stops it too, and the daemon does not remove it.
func TestControlSocketReplaced(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	tmp := d.control + ".new"
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := os.Rename(tmp, d.control); err != nil {
		t.Fatal(err)
	}
	if !d.wait(5 * time.Second) {
		t.Fatalf("daemon still running 5s after its control socket was replaced\n%s", d.output())
	}
	if code := d.exitCode(); code != 0 {
		t.Errorf("daemon exited %d, want 0\n%s", code, d.output())
	}
	if info, err := os.Lstat(d.control); err != nil || info.Mode().Type() != os.ModeSocket {
		t.Errorf("the daemon removed the socket that replaced its own (%v)", err)
	}
}
