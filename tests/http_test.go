package tests

import (
	"strings"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

// TestHTTPGet fetches the built-in page with curl over IPv4 and IPv6. The
// page shows the client's 4-tuple and the states of its connection, so the
// test checks for curl's own address and port and for ESTABLISHED.
func TestHTTPGet(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	for _, tc := range []struct {
		name, url, clientIP string
	}{
		{"IPv4", "http://" + stackIPv4 + "/", kernelIPv4},
		{"IPv6", "http://[" + stackIPv6 + "]/", kernelIPv6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The last line curl prints is its own: "<status> <local ip> <local port>".
			r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "10",
				"-w", "\n%{http_code} %{local_ip} %{local_port}", tc.url)
			if r.err != nil {
				t.Fatalf("curl %s: %v", tc.url, r)
			}
			cut := strings.LastIndexByte(r.stdout, '\n')
			page, trailer := r.stdout[:cut], strings.Fields(r.stdout[cut+1:])
			if len(trailer) != 3 {
				t.Fatalf("curl -w output %q: want status, local ip and port", r.stdout[cut+1:])
			}
			status, localIP, localPort := trailer[0], trailer[1], trailer[2]
			if status != "200" {
				t.Errorf("GET %s: status %s, want 200\n%s", tc.url, status, page)
			}
			if localIP != tc.clientIP {
				t.Errorf("curl's local address is %s, want %s", localIP, tc.clientIP)
			}
			for _, want := range []string{localIP, localPort, "ESTABLISHED"} {
				if !strings.Contains(page, want) {
					t.Errorf("page from %s does not contain %q:\n%s", tc.url, want, page)
				}
			}
		})
	}
}
