package tests

import (
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
)

// TestPing checks that the stack answers ICMP and ICMPv6 echo requests.
func TestPing(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"IPv4", []string{"ping", "-c", "1", "-W", "2", stackIPv4}},
		{"IPv6", []string{"ping", "-6", "-c", "1", "-W", "2", stackIPv6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if r := runIn(t, d.ns, nil, tc.args...); r.err != nil {
				t.Errorf("%v: %v", tc.args, r)
			}
		})
	}
}
