package tests

import (
	"os"
	"testing"
)

// requireRoot stops a test that needs root and /dev/net/tun when they are
// missing: it skips on a developer's machine and fails in CI, where a
// skipped integration test would hide that nothing was tested.
func requireRoot(t *testing.T) {
	t.Helper()
	reason := ""
	switch {
	case os.Geteuid() != 0:
		reason = "needs root (network namespaces and TUN devices); run scripts/test.sh as root"
	default:
		if _, err := os.Stat("/dev/net/tun"); err != nil {
			reason = "needs /dev/net/tun: " + err.Error()
		}
	}
	if reason == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal(reason + " (CI is set, so this is a failure, not a skip)")
	}
	t.Skip(reason)
}
