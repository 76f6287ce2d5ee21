package tests

import (
	"strings"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

// TestGatewayRefusesARouteBackIntoItsDevice: with the device in the
// daemon's own namespace, a destination that namespace routes into the
// device would make each relayed connect come back to the gateway as a
// new SYN. The gateway checks the route first: the client's connect gets
// no answer, the failure is counted as ELOOP, and nothing is relayed.
func TestGatewayRefusesARouteBackIntoItsDevice(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	ns := testkit.AddNamespace(t)
	// The daemon runs in ns and its device lives there too.
	d := startDaemonVia(t, []string{"ip", "netns", "exec", ns}, ns, "--gateway")
	mustRun(t, "ip", "-n", ns, "route", "add", "192.0.2.0/24", "dev", deviceName)

	r := runIn(t, ns, nil, "curl", "-sS", "--max-time", "3", "http://192.0.2.10:8000/")
	if r.err == nil || r.exitCode != 28 {
		t.Fatalf("curl to a destination routed back into the device: %v, want a time-out (exit 28)", r)
	}
	g := d.gatewayStatus(t)
	if g.TCP.DialFailures["ELOOP"] < 1 || g.TCP.Relayed != 0 {
		t.Errorf("gateway counters: relayed %d, dial failures %v; want nothing relayed and the loop counted as ELOOP", g.TCP.Relayed, g.TCP.DialFailures)
	}
	// curl's SYN and its retransmissions in 3 s: a handful, not the
	// hundreds a loop would make.
	if n := g.TCP.DialFailures["ELOOP"]; n > 10 {
		t.Errorf("%d connects refused as loops for one client, want its SYN and retransmissions only", n)
	}
	if out := d.output(); !strings.Contains(out, "routed back into the gateway's own device") {
		t.Errorf("the daemon's log does not say why:\n%s", out)
	}
}
