package sockaddr

import (
	"errors"
	"net/netip"
	"testing"
)

func TestDial(t *testing.T) {
	for _, tt := range []struct {
		network, address string
		want             string // "" for an error
	}{
		{"tcp", "10.77.0.1:80", "10.77.0.1:80"},
		{"tcp", "[::ffff:10.77.0.1]:80", "10.77.0.1:80"},
		{"tcp6", "[fd00:77::1]:7", "[fd00:77::1]:7"},
		{"tcp4", "[fd00:77::1]:7", ""},
		{"tcp6", "10.77.0.1:7", ""},
		{"tcp", "10.77.0.1:0", ""},
		{"tcp", "10.77.0.1:70000", ""},
		{"tcp", "0.0.0.0:80", ""},
		{"tcp", "224.0.0.1:80", ""},
		{"udp", "10.77.0.1:80", ""},
		{"tcp", "10.77.0.1", ""},
	} {
		got, err := Dial(tt.network, tt.address)
		if tt.want == "" {
			if err == nil {
				t.Errorf("Dial(%q, %q) = %v, want an error", tt.network, tt.address, got)
			}
			continue
		}
		if err != nil || got != netip.MustParseAddrPort(tt.want) {
			t.Errorf("Dial(%q, %q) = %v, %v; want %s", tt.network, tt.address, got, err, tt.want)
		}
	}
	if _, err := Dial("tcp", "example.org:80"); !errors.Is(err, ErrNotIP) {
		t.Errorf("a name: %v, want ErrNotIP", err)
	}
}
