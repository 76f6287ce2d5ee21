package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// TestTraceLadderAtTimeWait: `tunstack trace --ladder` draws a connection
// the stack opened and closed first as it enters TIME-WAIT, not 2*MSL (a
// minute here) later.
func TestTraceLadderAtTimeWait(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t, "--msl", "30s")
	bin := tunstackBinary(t)
	tr := startProcess(t, nil, bin, "trace", "--control", d.control, "--ladder", "--count", "1")
	testkit.WaitFor(t, 10*time.Second, "trace to watch", func() (bool, string) {
		if tr.exited() {
			t.Fatalf("trace exited: %s", tr.output())
		}
		return strings.Contains(tr.stderr.String(), "watching"), tr.output()
	})

	const port = "5003"
	ncIn, ncFeed := pipe(t)
	name, args := inNamespace(d.ns, "nc", "-N", "-l", port)
	nc := startProcess(t, ncIn, name, args...)
	ncIn.Close()
	defer ncFeed.Close()
	testkit.WaitFor(t, 5*time.Second, "nc -l to listen", func() (bool, string) {
		sockets := kernelSockets(t, d.ns)
		_, ok := findSocket(sockets, kernelSocket{State: "LISTEN", Local: "0.0.0.0:" + port})
		return ok, describeSockets(sockets)
	})
	dialIn, dialFeed := pipe(t)
	dial := startProcess(t, dialIn, bin, "dial", kernelIPv4+":"+port, "--control", d.control)
	dialIn.Close()
	dialFeed.WriteString("from the stack\n")
	testkit.WaitFor(t, 10*time.Second, "nc's output", func() (bool, string) {
		return nc.stdout.String() == "from the stack\n", nc.output()
	})
	// The stack ends first: it goes through FIN-WAIT-2 to TIME-WAIT when
	// nc's FIN comes.
	dialFeed.Close()
	testkit.WaitFor(t, 10*time.Second, "the stack's end in FIN-WAIT-2 or TIME-WAIT", func() (bool, string) {
		r := run(t, nil, bin, "ss", "--control", d.control, "-tnH", "state", "fin-wait-2", "state", "time-wait")
		return r.err == nil && strings.TrimSpace(r.stdout) != "", r.String()
	})
	ncFeed.Close() // if nc has not ended on the stack's FIN already
	if !tr.wait(15 * time.Second) {
		t.Fatalf("trace --ladder --count 1 drew nothing within 15 s of the connection entering TIME-WAIT (2*MSL is 60 s):\n%s\ndial: %s", tr.output(), dial.output())
	}
	out := tr.stdout.String()
	for _, want := range []string{"tunstack is the client", "FIN-WAIT-2", "TIME-WAIT    <-- FIN-ACK"} {
		if !strings.Contains(out, want) {
			t.Errorf("the ladder lacks %q:\n%s", want, out)
		}
	}
}
