package testkit

import "testing"

func TestRequireRootFailsInCI(t *testing.T) {
	if r := record(func(t testing.TB) { stop(t, "needs root", true) }); !r.fatal || !r.failedWith("needs root (CI is set") {
		t.Errorf("stop in CI: %q (fatal %v), want a failure", r.errors, r.fatal)
	}
	if r := record(func(t testing.TB) { stop(t, "needs root", false) }); r.fatal || !r.skipped {
		t.Errorf("stop outside CI: %q (fatal %v, skipped %v), want a skip", r.errors, r.fatal, r.skipped)
	}
}

func TestRequireCommand(t *testing.T) {
	if path := RequireCommand(t, "go", "golang"); path == "" {
		t.Error("RequireCommand of an installed command returned no path")
	}
	r := record(func(t testing.TB) { RequireCommand(t, "no-such-command-anywhere", "nothing") })
	if !r.skipped && !r.failedWith("needs no-such-command-anywhere (apt-get install nothing") {
		t.Errorf("RequireCommand of a missing command: %q (skipped %v), want a skip or a failure", r.errors, r.skipped)
	}
}
