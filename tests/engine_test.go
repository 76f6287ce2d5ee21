package tests

import (
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

// TestBothImplementations runs the same checks against each TCP/IP
// implementation `tunstack up` can run (--engine native and --engine
// gvisor) on the same TUN code and services: curl fetches the page, nc sends 1 MiB through the echo
// service and gets the same bytes back, and ping gets an answer, over
// IPv4 and IPv6.
func TestBothImplementations(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	payload := make([]byte, echoPayload)
	rand.Read(payload)
	sent := sha256.Sum256(payload)
	for _, engine := range []string{"native", "gvisor"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			d := startDaemon(t, "--engine", engine)
			for _, family := range []struct {
				name, stack, client string
				url                 string
				ping                []string
			}{
				{"IPv4", stackIPv4, kernelIPv4, "http://" + stackIPv4 + "/", []string{"ping", "-c", "1", "-W", "2", stackIPv4}},
				{"IPv6", stackIPv6, kernelIPv6, "http://[" + stackIPv6 + "]/", []string{"ping", "-6", "-c", "1", "-W", "2", stackIPv6}},
			} {
				t.Run(family.name, func(t *testing.T) {
					t.Parallel()
					t.Run("curl", func(t *testing.T) {
						r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "10", "-w", "\n%{http_code} %{local_port}", family.url)
						if r.err != nil {
							t.Fatalf("curl %s: %v", family.url, r)
						}
						cut := strings.LastIndexByte(r.stdout, '\n')
						page, trailer := r.stdout[:cut], strings.Fields(r.stdout[cut+1:])
						if len(trailer) != 2 || trailer[0] != "200" {
							t.Fatalf("curl %s: status and port %q, want 200 and a port\n%s", family.url, trailer, page)
						}
						// Both show the client its own end.
						if !strings.Contains(page, family.client) || !strings.Contains(page, trailer[1]) {
							t.Errorf("page from %s does not show the client's end %s port %s:\n%s", family.url, family.client, trailer[1], page)
						}
					})
					t.Run("echo", func(t *testing.T) {
						r := runIn(t, d.ns, payload, "nc", "-N", family.stack, "7")
						if r.err != nil {
							t.Fatalf("nc -N %s 7: %v", family.stack, shorten(r))
						}
						if got := sha256.Sum256([]byte(r.stdout)); got != sent {
							t.Errorf("echo returned %d bytes with sha256 %x, sent %d bytes with sha256 %x",
								len(r.stdout), got, len(payload), sent)
						}
					})
					t.Run("ping", func(t *testing.T) {
						if r := runIn(t, d.ns, nil, family.ping...); r.err != nil {
							t.Errorf("%v: %v", family.ping, r)
						}
					})
				})
			}
		})
	}
}
