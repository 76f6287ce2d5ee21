package main

import (
	"testing"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/version"
)

// TestVersionCommandAndFlag: `tunstack version` and `tunstack --version`
// print the same build information, and exit 0. tests/version_test.go
// compares it with `go version -m` of a built binary.
func TestVersionCommandAndFlag(t *testing.T) {
	want := version.Get().String() + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr := runCLI(t, 0, nil, args...)
		if code != exitOK || stdout != want || stderr != "" {
			t.Errorf("tunstack %v: exit %d, stdout %q, stderr %q; want exit 0 and %q", args, code, stdout, stderr, want)
		}
	}
}
