package testkit

import (
	"os"
	"testing"
)

// RequireRoot stops a test that needs root and /dev/net/tun (network
// namespaces, TUN devices, raw sockets) when they are missing: it skips
// the test on a developer's machine, and fails it when the environment
// variable CI is set, where a skipped test would hide that nothing was
// tested.
func RequireRoot(t testing.TB) {
	t.Helper()
	if reason := missingRoot(); reason != "" {
		stop(t, reason, os.Getenv("CI") != "")
	}
}

// missingRoot says what is missing, or "" if nothing is.
func missingRoot() string {
	if os.Geteuid() != 0 {
		return "needs root (network namespaces and TUN devices); run scripts/test.sh as root"
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return "needs /dev/net/tun: " + err.Error()
	}
	return ""
}

// stop skips the test, or fails it in CI.
func stop(t testing.TB, reason string, ci bool) {
	t.Helper()
	if ci {
		t.Fatal(reason + " (CI is set, so this is a failure, not a skip)")
	}
	t.Skip(reason)
}
