package flags

import (
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
