package ss

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestParseFilter: ss(8)'s filters select the connections ss would.
func TestParseFilter(t *testing.T) {
	ends := func(local, remote string) [2]netip.AddrPort {
		r, _ := netip.ParseAddrPort(remote) // "*": a listener's missing peer
		return [2]netip.AddrPort{netip.MustParseAddrPort(local), r}
	}
	conns := map[string][2]netip.AddrPort{
		"http":     ends("10.77.0.2:80", "10.77.0.1:40000"),
		"echo":     ends("10.77.0.2:7", "10.77.0.1:1023"),
		"dialed":   ends("10.77.0.2:50000", "10.77.0.1:9000"),
		"v6":       ends("[fd00:77::2]:80", "[fd00:77::1]:40000"),
		"listener": ends("10.77.0.2:80", "*"),
	}
	for _, tt := range []struct {
		args []string
		want string // the names that match, sorted, space-separated
	}{
		{[]string{"dport", "=", ":9000"}, "dialed"},
		{[]string{"sport", "=", ":80"}, "http listener v6"},
		{[]string{"sport", "gt", ":1024"}, "dialed"},
		{[]string{"sport", ">=", ":80", "and", "sport", "<", ":1024"}, "http listener v6"},
		{[]string{"dport", "!=", ":40000"}, "dialed echo"},
		{[]string{"dport", "neq", ":40000"}, "dialed echo"},
		{[]string{"dst", "10.77.0.1"}, "dialed echo http"},
		{[]string{"dst", "10.77.0.0/24"}, "dialed echo http"},
		{[]string{"dst", "10.77.0.1:9000"}, "dialed"},
		{[]string{"dst", "[fd00:77::1]:40000"}, "v6"},
		{[]string{"dst", "fd00:77::/64"}, "v6"},
		{[]string{"src", ":7"}, "echo"},
		{[]string{"src", "*:7"}, "echo"},
		{[]string{"( dport = :9000 or sport = :7 )"}, "dialed echo"},
		{[]string{"(dport = :9000 or sport = :7)"}, "dialed echo"},
		{[]string{"(", "dport", "=", ":9000", "||", "sport", "=", ":7", ")"}, "dialed echo"},
		{[]string{"not", "dst", "10.77.0.1"}, "listener v6"},
		{[]string{"!", "(", "sport", "=", ":80", ")"}, "dialed echo"},
		{[]string{"!dst", "10.77.0.1"}, "listener v6"},
		{[]string{"sport", "=", ":80", "dst", "10.77.0.1"}, "http"}, // nothing between: and
		{[]string{"sport", "=", ":80", "or", "sport", "=", ":7", "and", "dport", "=", ":1"}, "http listener v6"},
		{[]string{"dport", ":40000"}, "http v6"},
		{[]string{"state", "established", "dport", "=", ":40000"}, "http v6"},
	} {
		f, err := ParseFilter(tt.args)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		var got []string
		for name, e := range conns {
			if f.Expr.Match(e[0], e[1]) {
				got = append(got, name)
			}
		}
		slices.Sort(got)
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%q matches %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestParseFilterStates(t *testing.T) {
	f, err := ParseFilter([]string{"state", "time-wait", "state", "last-ack", "exclude", "syn-recv"})
	if err != nil || !slices.Equal(f.States, []string{"time-wait", "last-ack"}) || !slices.Equal(f.Excluded, []string{"syn-recv"}) || f.Expr != nil {
		t.Errorf("ParseFilter = %+v, %v", f, err)
	}
	for _, bad := range [][]string{
		{"state"}, {"dport", "=", "80x"}, {"dport", "="}, {"(", "dport", "=", ":80"}, {"dport", "=", ":80", ")"},
		{"dst", "10.77.0.300"}, {"sport", "=", ":http"}, {"dev", "eth0"}, {"and"}, {"dport", "=", ":80", "or"}, {"established"},
	} {
		if f, err := ParseFilter(bad); err == nil {
			t.Errorf("%q: no error, got %+v", bad, f)
		}
	}
}
