package gateway

import (
	"net/netip"
	"testing"
)

func TestUpstream(t *testing.T) {
	dst := netip.MustParseAddrPort("[2001:db8::10]:443")
	if got := (Config{}).Upstream(dst); got != "[2001:db8::10]:443" {
		t.Errorf("Upstream = %q, want the destination itself", got)
	}
	if got := (Config{To: "127.0.0.1:3128"}).Upstream(dst); got != "127.0.0.1:3128" {
		t.Errorf("Upstream with To = %q, want To", got)
	}
}
