package tests

import (
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

// echoPayload is how much the echo round trip sends.
const echoPayload = 1 << 20

// TestEchoRoundTrip sends 1 MiB of random bytes to the echo service with
// nc over IPv4 and IPv6 and checks that exactly the same bytes come back.
// nc -N sends FIN after its input; the service closes after the peer's FIN,
// which is what ends nc.
func TestEchoRoundTrip(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	payload := make([]byte, echoPayload)
	rand.Read(payload)
	sent := sha256.Sum256(payload)
	for _, tc := range []struct{ name, host string }{
		{"IPv4", stackIPv4},
		{"IPv6", stackIPv6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runIn(t, d.ns, payload, "nc", "-N", tc.host, "7")
			if r.err != nil {
				t.Fatalf("nc -N %s 7: %v", tc.host, shorten(r))
			}
			if got := sha256.Sum256([]byte(r.stdout)); got != sent {
				t.Errorf("echo over %s returned %d bytes with sha256 %x, sent %d bytes with sha256 %x",
					tc.name, len(r.stdout), got, len(payload), sent)
			}
		})
	}
}

// shorten keeps a result with megabytes of output printable.
func shorten(r result) result {
	const keep = 200
	if len(r.stdout) > keep {
		r.stdout = r.stdout[:keep] + "..."
	}
	return r
}
