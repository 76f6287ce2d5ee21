package tests

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

// The exit status of a command-line mistake (a flag's value, a name in use).
const exitUsage = 2

// oneLine returns text as one line, or fails the test and returns false
// unless text is exactly one non-empty line.
func oneLine(t *testing.T, what, text string) (string, bool) {
	t.Helper()
	line := strings.TrimSuffix(text, "\n")
	if line == "" || strings.Contains(line, "\n") {
		t.Errorf("%s: want exactly one line, got %q", what, text)
		return "", false
	}
	return line, true
}

// runUp runs `tunstack up` in a fresh namespace (removed afterwards, if the
// daemon got as far as creating it) and returns its result.
func runUp(t *testing.T, prefix []string, extra ...string) result {
	t.Helper()
	ns := testkit.NamespaceName(t, "tst")
	args := append([]string{tunstackBinary(t), "up", "--netns", ns,
		"--control", filepath.Join(testkit.ShortTempDir(t), "ctl.sock")}, extra...)
	args = append(prefix, args...)
	return run(t, nil, args[0], args[1:]...)
}

// TestUpBadAddr: a malformed --addr is one line naming the flag, exit 2.
func TestUpBadAddr(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	r := runUp(t, nil, "--addr", "bogus")
	if r.exitCode != exitUsage {
		t.Errorf("tunstack up --addr bogus: want exit %d: %v", exitUsage, r)
	}
	if line, ok := oneLine(t, "stderr", r.stderr); ok && !strings.Contains(line, "--addr") {
		t.Errorf("error %q does not name --addr", line)
	}
}

// TestUpDeviceInUse: a second daemon asking for the device name that the
// first one holds in the same namespace fails with one line and exit 2, and
// leaves the first daemon and its namespace alone.
func TestUpDeviceInUse(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	first := startDaemon(t)
	r := run(t, nil, tunstackBinary(t), "up", "--netns", first.ns,
		"--control", filepath.Join(testkit.ShortTempDir(t), "ctl.sock"))
	if r.exitCode != exitUsage {
		t.Errorf("second tunstack up on the same device: want exit %d: %v", exitUsage, r)
	}
	if line, ok := oneLine(t, "stderr", r.stderr); ok && !strings.Contains(line, "tunstack0") {
		t.Errorf("error %q does not name the device", line)
	}
	if first.exited() {
		t.Fatalf("the first daemon exited\n%s", first.output())
	}
	if !testkit.NamespaceExists(first.ns) {
		t.Fatalf("the second daemon removed the first one's namespace %s", first.ns)
	}
	if r := runIn(t, first.ns, nil, "ping", "-c", "1", "-W", "2", stackIPv4); r.err != nil {
		t.Errorf("the first daemon stopped answering: %v", r)
	}
}

// TestUpNotRoot: without CAP_NET_ADMIN the daemon says in one line what it
// needs and how to run it, and fails.
func TestUpNotRoot(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	// Run as nobody with every capability gone, also from the bounding set.
	dropPrivileges := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=-all", "--bounding-set=-all", "--"}
	r := runUp(t, dropPrivileges)
	if r.exitCode <= 0 {
		t.Errorf("tunstack up without privileges: want a non-zero exit: %v", r)
	}
	line, ok := oneLine(t, "stderr", r.stderr)
	if ok && !strings.Contains(line, "CAP_NET_ADMIN") || !strings.Contains(line, "root") {
		t.Errorf("error %q should say CAP_NET_ADMIN is needed and to run as root", line)
	}
}
