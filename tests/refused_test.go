package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// TestClosedPortRefused checks that a SYN to a port with no listener gets
// a RST (RFC 9293 §3.10.7.1): curl fails at once with "Connection
// refused" (exit 7) instead of waiting for a time-out.
func TestClosedPortRefused(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	// Far below curl's own --max-time, so a dropped SYN would show, but loose
	// enough not to flake on a loaded machine.
	const quick = 3 * time.Second
	for _, tc := range []struct{ name, url string }{
		{"IPv4", "http://" + stackIPv4 + ":81/"},
		{"IPv6", "http://[" + stackIPv6 + "]:81/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runIn(t, d.ns, nil, "curl", "-sS", "-v", "--max-time", "10", tc.url)
			if r.exitCode != 7 {
				t.Errorf("curl %s: want exit 7 (could not connect): %v", tc.url, r)
			}
			if !strings.Contains(r.stderr, "Connection refused") {
				t.Errorf("curl %s: want \"Connection refused\" in its output: %v", tc.url, r)
			}
			if r.elapsed > quick {
				t.Errorf("curl %s took %v to fail, want well under %v (a RST, not a time-out)", tc.url, r.elapsed, quick)
			}
		})
	}
}
