package kernelstates

import (
	"encoding/binary"
	"net/netip"
	"os"
	"testing"
)

func TestFilterFor(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the expected filters are written for a little-endian machine")
	}
	k4, s4 := netip.MustParseAddr("10.77.100.1"), netip.MustParseAddr("10.77.100.2")
	k6 := netip.MustParseAddr("fd00:77::1")
	for _, tc := range []struct {
		name          string
		kernel, stack []netip.Addr
		want          string
	}{
		// 10.77.100.1 is 0a 4d 64 01 in memory: 0x01644d0a little-endian.
		{"IPv4 both ends", []netip.Addr{k4}, []netip.Addr{s4}, "protocol == 6 && ((family == 2 && ((saddr == 0x1644d0a) && (daddr == 0x2644d0a))))"},
		{"IPv4 kernel only", []netip.Addr{k4}, nil, "protocol == 6 && ((family == 2 && (saddr == 0x1644d0a)))"},
		{"both families", []netip.Addr{k4, k6}, nil, "protocol == 6 && ((family == 2 && (saddr == 0x1644d0a)) || family == 10)"},
		{"IPv6 only", []netip.Addr{k6}, nil, "protocol == 6 && (family == 10)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := filterFor(tc.kernel, tc.stack); got != tc.want {
				t.Errorf("filterFor = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInstanceNames(t *testing.T) {
	name := instanceName("tunstack-demo")
	if pid, ok := instancePID(name, "tunstack-demo"); !ok || pid != os.Getpid() {
		t.Errorf("instancePID(%q) = %d, %v", name, pid, ok)
	}
	for _, other := range []string{"tunstack-demo-12-abc", "tunstack-demo-x-12345678", "mbrepro-1", "tunstack-trace-12-12345678"} {
		if _, ok := instancePID(other, "tunstack-demo"); ok {
			t.Errorf("instancePID(%q) took it for one of ours", other)
		}
	}
}
