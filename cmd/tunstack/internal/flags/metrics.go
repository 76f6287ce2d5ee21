package flags

// `tunstack up --metrics ADDR` serves the stack's counters as Prometheus
// metrics on http://ADDR/metrics. ADDR is any address a listener takes
// (:9100, 127.0.0.1:9100, [::1]:9100, 10.77.0.1:9100), in the device's
// namespace, or with --metrics-from-host in the namespace tunstack was
// started in, so that a Prometheus on the host can scrape a daemon whose
// device lives in a namespace of its own.

import (
	"net"
	"net/netip"
	"strconv"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

// metricsConfig checks --metrics and --metrics-from-host: the address to
// listen on ("" for none) and whether to listen in the namespace up
// started in. netns is --netns, kernel the device's addresses.
func (f *Up) metricsConfig(netns string, kernel []netip.Prefix) (string, bool, error) {
	if f.metrics == "" {
		if f.metricsFromHost {
			return "", false, usage.Errorf("--metrics-from-host says where --metrics listens: give --metrics too, like --metrics 127.0.0.1:9100")
		}
		return "", false, nil
	}
	addr, err := parseMetricsAddr(f.metrics, f.metricsFromHost, netns, kernel)
	return addr, f.metricsFromHost && err == nil, err
}

// parseMetricsAddr checks --metrics: [HOST]:PORT, HOST empty (every
// address), an IP literal or a name, PORT 1-65535. An IP literal comes
// back in its canonical form. fromHost is --metrics-from-host and netns
// --netns: with both, the device's own addresses (kernel) are refused,
// since they exist only inside the namespace.
func parseMetricsAddr(text string, fromHost bool, netns string, kernel []netip.Prefix) (string, error) {
	host, portText, err := net.SplitHostPort(text)
	if err != nil {
		return "", usage.Errorf("--metrics %q: want [HOST]:PORT, like :9100, 127.0.0.1:9100 or [::1]:9100", text)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return "", usage.Errorf("--metrics %q: bad port %q (want 1-65535)", text, portText)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		// Empty (every address) or a name, which the listener resolves.
		return net.JoinHostPort(host, portText), nil
	}
	ip = ip.Unmap()
	if fromHost && netns != "" {
		for _, p := range kernel {
			if ip.WithZone("") == p.Addr() {
				return "", usage.Errorf("--metrics %q with --metrics-from-host: %s is the device's address, inside namespace %s; listen on an address of the namespace tunstack runs in, like 127.0.0.1:%d or :%d",
					text, ip, netns, port, port)
			}
		}
	}
	return netip.AddrPortFrom(ip, uint16(port)).String(), nil
}
