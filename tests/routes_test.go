package tests

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

// TestUpRouteConflict: a second daemon on another device in the same
// namespace, whose prefix the first one's route already covers, is
// refused with the route named, and makes no device; the first goes on.
func TestUpRouteConflict(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	first := startDaemon(t)
	r := run(t, nil, tunstackBinary(t), "up", "--netns", first.ns, "--dev", "tunstack1", "--addr6", "",
		"--control", filepath.Join(testkit.ShortTempDir(t), "ctl.sock"))
	if r.exitCode != exitUsage {
		t.Errorf("second daemon with the same prefix: want exit %d: %v", exitUsage, r)
	}
	if line, ok := oneLine(t, "stderr", r.stderr); ok {
		want := "tunstack: --addr 10.77.0.1/24 overlaps the route 10.77.0.0/24 dev tunstack0 proto kernel already in namespace " + first.ns
		if !strings.HasPrefix(line, want) {
			t.Errorf("error %q, want it to start %q", line, want)
		}
	}
	if r := run(t, nil, "ip", "-n", first.ns, "link", "show", "dev", "tunstack1"); r.err == nil {
		t.Errorf("the refused daemon left device tunstack1:\n%s", r.stdout)
	}
	if r := runIn(t, first.ns, nil, "ping", "-c", "1", "-W", "2", stackIPv4); r.err != nil {
		t.Errorf("the first daemon stopped answering: %v", r)
	}
}
