package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// buildDir holds the tunstack binary built once for the whole run.
var buildDir string

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	// buildErrShown makes only the first test print the compiler's output.
	buildErrShown atomic.Bool
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tunstack-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		os.Exit(1)
	}
	// The not-root test runs the binary as nobody, who must be able to reach it.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tunstackBinary returns the path of the tunstack binary, building
// ./cmd/tunstack on first use. Only tests that run the binary pay for the
// build.
func tunstackBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = "/usr/local/go/bin/go"
		}
		out := filepath.Join(buildDir, "tunstack")
		cmd := exec.Command(goTool, "build", "-o", out, "../cmd/tunstack")
		if output, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/tunstack: %w\n%s", err, output)
			return
		}
		buildPath = out
	})
	if buildErr != nil {
		if buildErrShown.CompareAndSwap(false, true) {
			t.Fatal(buildErr)
		}
		t.Fatal("go build ./cmd/tunstack failed (the compiler's output is in another test's failure)")
	}
	return buildPath
}
