package flags

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

// apiFlag is --api: Toxiproxy's HTTP API on the kernel's side of the
// device (8474 is Toxiproxy's port).
type apiFlag struct{ addr string }

func (f *apiFlag) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.addr, "api", "", "serve an HTTP API compatible with Toxiproxy's on ADDR, on the kernel's side of the device (like 10.77.0.1:8474): its proxies are forwards, its toxics faults")
}

func (f *apiFlag) apply(cfg *daemon.Config) error {
	if f.addr == "" {
		return nil
	}
	if cfg.Engine != daemon.EngineNative {
		return usage.Errorf("--api needs --engine %s", daemon.EngineNative)
	}
	addr, err := parseKernelSideAddr("--api", "the API", 8474, f.addr, cfg.KernelPrefixes())
	if err != nil {
		return err
	}
	cfg.API = addr
	return nil
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
