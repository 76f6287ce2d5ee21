package flags

import (
	"net/netip"

	"github.com/spf13/pflag"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/forward"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

// forwardFlags are --forward, repeatable.
type forwardFlags struct {
	specs []string
}

func (f *forwardFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.specs, "forward", nil, "relay the stack's [ADDR:]PORT to the real server HOST:PORT, dialled from the device's namespace (repeatable; like 8080=10.77.0.1:80)")
}

// apply parses the forwards into cfg: each port once, none on a
// service's port, and only for tunstack's own engine (the stack holds
// each SYN until the server answers).
func (f *forwardFlags) apply(cfg *daemon.Config) error {
	if len(f.specs) > 0 && cfg.Engine != daemon.EngineNative {
		return usage.Errorf("--forward needs --engine %s", daemon.EngineNative)
	}
	taken := map[uint16]string{}
	for _, svc := range cfg.Services {
		taken[svc.Port] = "service " + svc.Name
	}
	for _, text := range f.specs {
		spec, err := forward.Parse(text)
		if err != nil {
			return usage.Errorf("--%v", err) // "--forward \"8080\": want ..."
		}
		if spec.Addr.IsValid() && !containsAddr(cfg.StackAddrs(), spec.Addr) {
			return usage.Errorf("--forward %q: %v is not one of the stack's addresses (--ip, --ip6)", text, spec.Addr)
		}
		if other, ok := taken[spec.Port]; ok {
			return usage.Errorf("--forward %q: port %d is taken by %s", text, spec.Port, other)
		}
		taken[spec.Port] = "--forward " + text
		cfg.Forwards = append(cfg.Forwards, spec)
	}
	return nil
}

func containsAddr(addrs []netip.Addr, a netip.Addr) bool {
	for _, x := range addrs {
		if x == a {
			return true
		}
	}
	return false
}
