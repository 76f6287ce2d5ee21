package tests

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// commandTimeout bounds every client command a test runs.
const commandTimeout = 30 * time.Second

// result is what a finished command left behind.
type result struct {
	stdout, stderr string
	exitCode       int // -1 if it did not exit normally
	err            error
	elapsed        time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d (%v) after %v\nstdout: %s\nstderr: %s", r.exitCode, r.err, r.elapsed, r.stdout, r.stderr)
}

// run runs a command to completion, bounded by commandTimeout, with stdin
// (may be nil) as its input.
func run(t *testing.T, stdin []byte, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), err: err, elapsed: time.Since(start), exitCode: -1}
	if cmd.ProcessState != nil {
		r.exitCode = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		r.err = fmt.Errorf("%s %s: killed after %v: %w", name, strings.Join(args, " "), commandTimeout, ctx.Err())
	}
	return r
}

// mustRun runs a command and fails the test unless it exits 0.
func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	r := run(t, nil, name, args...)
	if r.err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), r)
	}
	return r.stdout
}

// inNamespace prefixes a command so that it runs inside namespace ns.
func inNamespace(ns string, args ...string) (string, []string) {
	return "ip", append([]string{"netns", "exec", ns}, args...)
}

// runIn runs a command inside namespace ns.
func runIn(t *testing.T, ns string, stdin []byte, args ...string) result {
	t.Helper()
	name, full := inNamespace(ns, args...)
	return run(t, stdin, name, full...)
}
