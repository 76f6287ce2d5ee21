package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// TestDialBothWays: `tunstack dial` connects from the stack to a kernel
// `nc -l` and carries data both ways; each side ends its input, and both
// programs exit 0.
func TestDialBothWays(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	for _, tc := range []struct {
		name, family, target string
	}{
		{"IPv4", "-4", kernelIPv4 + ":5000"},
		{"IPv6", "-6", "[" + kernelIPv6 + "]:5001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			port := tc.target[strings.LastIndexByte(tc.target, ':')+1:]
			ncIn, ncFeed := pipe(t)
			name, args := inNamespace(d.ns, "nc", tc.family, "-N", "-l", port)
			nc := startProcess(t, ncIn, name, args...)
			ncIn.Close()
			testkit.WaitFor(t, 5*time.Second, "nc -l to listen", func() (bool, string) {
				if nc.exited() {
					t.Fatalf("nc -l exited early\n%s", nc.output())
				}
				// ss writes the wildcard address as 0.0.0.0, [::] or *.
				sockets := kernelSockets(t, d.ns)
				for _, s := range sockets {
					if s.State == "LISTEN" && strings.HasSuffix(s.Local, ":"+port) {
						return true, ""
					}
				}
				return false, describeSockets(sockets)
			})

			dialIn, dialFeed := pipe(t)
			dial := startProcess(t, dialIn, tunstackBinary(t), "dial", tc.target, "--control", d.control)
			dialIn.Close()

			// kernel -> stack, then stack -> kernel, each seen arriving.
			ncFeed.WriteString("from the kernel\n")
			testkit.WaitFor(t, 10*time.Second, "dial's output", func() (bool, string) {
				return dial.stdout.String() == "from the kernel\n", dial.output()
			})
			dialFeed.WriteString("from the stack\n")
			testkit.WaitFor(t, 10*time.Second, "nc's output", func() (bool, string) {
				return nc.stdout.String() == "from the stack\n", nc.output()
			})

			// The kernel ends first (nc -N sends FIN), then the stack.
			ncFeed.Close()
			dialFeed.Close()
			for _, p := range []struct {
				name string
				proc *process
			}{{"tunstack dial", dial}, {"nc -l", nc}} {
				if !p.proc.wait(10 * time.Second) {
					t.Fatalf("%s still running after both inputs ended\n%s", p.name, p.proc.output())
				}
				if code := p.proc.exitCode(); code != 0 {
					t.Errorf("%s exited %d, want 0\n%s", p.name, code, p.proc.output())
				}
			}
			if got := dial.stdout.String(); got != "from the kernel\n" {
				t.Errorf("dial's whole output %q, want %q", got, "from the kernel\n")
			}
		})
	}
}
