package flags

// `tunstack up --metrics ADDR` serves the stack's counters as Prometheus
// metrics on http://ADDR/metrics, where ADDR must be the kernel's side of
// the device (10.77.0.1:9100 or [fd00:77::1]:9100 by default), so that only
// the machine itself, or the namespace the device lives in, can scrape
// them.

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

// parseMetricsAddr checks --metrics: an IP literal and a port, where the IP
// is one of the kernel's addresses on the device. It returns the address
// in its canonical form.
func parseMetricsAddr(text string, kernel []netip.Prefix) (string, error) {
	return parseKernelSideAddr("--metrics", "metrics", 9100, text, kernel)
}

// parseKernelSideAddr checks the IP:PORT of a server the daemon runs on
// the kernel's side of the device (--metrics, --api): what names the
// server in errors, example the port of the examples.
func parseKernelSideAddr(flag, what string, example uint16, text string, kernel []netip.Prefix) (string, error) {
	var choices []string
	for _, p := range kernel {
		choices = append(choices, netip.AddrPortFrom(p.Addr(), example).String())
	}
	hint := "the kernel's side of the device, like " + strings.Join(choices, " or ")
	host, portText, err := net.SplitHostPort(text)
	if err != nil {
		return "", usage.Errorf("%s %q: want IP:PORT on %s", flag, text, hint)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return "", usage.Errorf("%s %q: bad port %q (want 1-65535)", flag, text, portText)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return "", usage.Errorf("%s %q: %q is not an IP address; listen on %s", flag, text, host, hint)
	}
	for _, p := range kernel {
		if ip.Unmap() == p.Addr() {
			return netip.AddrPortFrom(p.Addr(), uint16(port)).String(), nil
		}
	}
	return "", usage.Errorf("%s %q: %s listen on %s only, not on %s", flag, text, what, hint, host)
}
