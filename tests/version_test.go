package tests

import (
	"os/exec"
	"strings"
	"testing"
)

// goVersionM is what `go version -m` says about a binary.
type goVersionM struct {
	goVersion  string            // "go1.26.8"
	modVersion string            // the main module's version
	settings   map[string]string // the "build" lines: vcs.revision, vcs.modified, GOOS, ...
}

// readGoVersionM runs `go version -m` on the binary and parses its lines:
// "FILE: go1.26.8", then tab-indented "mod PATH VERSION", "build KEY=VALUE".
func readGoVersionM(t *testing.T, binary string) goVersionM {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	out := mustRun(t, goTool, "version", "-m", binary)
	m := goVersionM{settings: map[string]string{}}
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if i == 0 {
			_, m.goVersion, _ = strings.Cut(line, ": ")
			continue
		}
		fields := strings.Split(strings.TrimSpace(line), "\t")
		switch {
		case len(fields) >= 3 && fields[0] == "mod":
			m.modVersion = fields[2]
		case len(fields) == 2 && fields[0] == "build":
			key, value, _ := strings.Cut(fields[1], "=")
			m.settings[key] = value
		}
	}
	if m.goVersion == "" || m.modVersion == "" {
		t.Fatalf("cannot read go version -m:\n%s", out)
	}
	return m
}

// TestVersionSaysWhatGoVersionMSays: `tunstack version` of the built
// binary gives the module version, the commit (and whether the tree was
// modified) and the Go version that `go version -m` reads from the same
// file. Without VCS information (-buildvcs=false, a git worktree) both
// say there is none.
func TestVersionSaysWhatGoVersionMSays(t *testing.T) {
	bin := tunstackBinary(t)
	m := readGoVersionM(t, bin)
	commit := "unknown"
	if rev := m.settings["vcs.revision"]; rev != "" {
		commit = rev
		if m.settings["vcs.modified"] == "true" {
			commit += " (modified)"
		}
	}
	lines := []string{"tunstack " + m.modVersion, "commit " + commit}
	if when := m.settings["vcs.time"]; when != "" {
		lines = append(lines, "commit time "+when)
	}
	lines = append(lines, m.goVersion+" "+m.settings["GOOS"]+"/"+m.settings["GOARCH"])
	want := strings.Join(lines, "\n") + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		if got := mustRun(t, bin, args...); got != want {
			t.Errorf("tunstack %s printed\n%s\nwhile go version -m says\n%s", args[0], got, want)
		}
	}
}
