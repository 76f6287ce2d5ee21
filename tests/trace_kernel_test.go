package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// TestTraceKernelStates: `tunstack trace --ladder --kernel-states` draws a
// connection between the kernel and the stack with the kernel's own
// states, from its tracepoint, and removes its trace instance when it
// ends. The daemon has addresses no other test uses: the tracepoint fires
// in every namespace.
func TestTraceKernelStates(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	const kernel, stack = "10.77.250.1", "10.77.250.2"
	d := startDaemon(t, "--addr", kernel+"/24", "--ip", stack, "--addr6", "")
	tr := startProcess(t, nil, tunstackBinary(t), "trace", "--netns", d.ns, "--control", d.control, "--ladder", "--kernel-states", "--count", "1")
	testkit.WaitFor(t, 10*time.Second, "trace to start watching", func() (bool, string) {
		if tr.exited() {
			t.Fatalf("trace exited early:\n%s", tr.output())
		}
		return strings.Contains(tr.stderr.String(), "watching"), tr.output()
	})
	if r := runIn(t, d.ns, []byte("over the tracepoint\n"), "nc", "-N", "-w", "5", stack, "7"); r.err != nil || r.stdout != "over the tracepoint\n" {
		t.Fatalf("nc to echo: %v", r)
	}
	if !tr.wait(10 * time.Second) {
		t.Fatalf("trace did not draw the connection within 10 s:\n%s", tr.output())
	}
	out := tr.stdout.String()
	for _, want := range []string{
		"tunstack is the server; the client is the kernel, with its own states (from sock:inet_sock_set_state)",
		"kernel: CLOSED → SYN-SENT: RFC 9293 §3.10.1",
		"kernel: ESTABLISHED → FIN-WAIT-1: RFC 9293 §3.10.4",
		"kernel: FIN-WAIT-1 → FIN-WAIT-2: RFC 9293 §3.10.7.4",
		"kernel: FIN-WAIT-2 → TIME-WAIT: RFC 9293 §3.10.7.4",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace's ladder lacks %q:\n%s", want, tr.output())
		}
	}
	if strings.Contains(out, "~") {
		t.Errorf("a state is inferred (~):\n%s", tr.output())
	}
	left, _ := filepath.Glob(filepath.Join("/sys/kernel/tracing/instances", fmt.Sprintf("tunstack-trace-%d-*", tr.cmd.Process.Pid)))
	for _, dir := range left {
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("trace left its trace instance %s", dir)
		}
	}
}
