package testkit

import (
	"fmt"
	"os"
	"os/exec"
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

// RequireCommand stops a test that runs the command name when it is not
// installed, as RequireRoot does: a skip on a developer's machine, a
// failure when CI is set (scripts/test.sh installs debianPackage). It
// returns the command's path.
func RequireCommand(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		stop(t, fmt.Sprintf("needs %s (apt-get install %s, or run scripts/test.sh)", name, debianPackage), os.Getenv("CI") != "")
	}
	return path
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
