package forward

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Spec
	}{
		{"8080=10.77.0.1:80", Spec{Port: 8080, Upstream: "10.77.0.1:80"}},
		{":8080=10.77.0.1:80", Spec{Port: 8080, Upstream: "10.77.0.1:80"}},
		{"10.77.0.2:8080=127.0.0.1:80", Spec{Addr: netip.MustParseAddr("10.77.0.2"), Port: 8080, Upstream: "127.0.0.1:80"}},
		{"[fd00:77::2]:8080=[fd00:77::1]:80", Spec{Addr: netip.MustParseAddr("fd00:77::2"), Port: 8080, Upstream: "[fd00:77::1]:80"}},
		{"80=localhost:8000", Spec{Port: 80, Upstream: "localhost:8000"}},
	} {
		got, err := Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		again, err := Parse(got.String())
		if err != nil || again != got {
			t.Errorf("Parse(%q.String() = %q) = %+v, %v", tt.in, got.String(), again, err)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for in, want := range map[string]string{
		"8080":                "want [ADDR:]PORT=HOST:PORT",
		"0=10.77.0.1:80":      "bad port",
		"70000=10.77.0.1:80":  "bad port",
		"x=10.77.0.1:80":      "bad port",
		"foo:80=10.77.0.1:80": "not an IP address",
		"80=10.77.0.1":        "want HOST:PORT",
		"80=:80":              "want HOST:PORT",
		"80=10.77.0.1:0":      "bad port",
		"80=10.77.0.1:http":   "bad port",
	} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", in, err, want)
		}
	}
}
