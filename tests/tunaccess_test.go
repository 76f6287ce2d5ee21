package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

// TestUpTUNAccessDenied: a user who has CAP_NET_ADMIN but may not open
// /dev/net/tun (its mode keeps them out) is told that, with the fix, not
// to get CAP_NET_ADMIN. The daemon runs as nobody with CAP_NET_ADMIN
// alone, in a network namespace and a mount namespace of its own (unshare),
// where a file of mode 0000 is bound over /dev/net/tun: nothing outside
// changes, and the namespaces go with the process.
func TestUpTUNAccessDenied(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.RequireCommand(t, "unshare", "util-linux")
	testkit.RequireCommand(t, "setpriv", "util-linux")
	t.Parallel()
	dir := testkit.ShortTempDir(t)
	if err := os.Chmod(dir, 0o777); err != nil { // nobody's control socket
		t.Fatal(err)
	}
	locked := filepath.Join(dir, "tun")
	if err := os.WriteFile(locked, nil, 0); err != nil {
		t.Fatal(err)
	}
	script := `mount --bind "$1" /dev/net/tun && shift && exec "$@"`
	r := run(t, nil, "unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", script, "sh", locked,
		"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=-all,+net_admin", "--ambient-caps=-all,+net_admin", "--bounding-set=-all,+net_admin", "--",
		tunstackBinary(t), "up", "--control", filepath.Join(dir, "ctl.sock"))
	if r.exitCode != 1 {
		t.Errorf("tunstack up with /dev/net/tun closed to its user: want exit 1: %v", r)
	}
	line, ok := oneLine(t, "stderr", r.stderr)
	if !ok {
		return
	}
	for _, want := range []string{"cannot open /dev/net/tun", "permission denied", "sudo chmod 0666 /dev/net/tun"} {
		if !strings.Contains(line, want) {
			t.Errorf("error %q does not say %q", line, want)
		}
	}
	if strings.Contains(line, "CAP_NET_ADMIN") {
		t.Errorf("error %q blames CAP_NET_ADMIN, which the user has", line)
	}
}
