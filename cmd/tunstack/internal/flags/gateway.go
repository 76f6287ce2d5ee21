package flags

import (
	"time"

	"github.com/spf13/pflag"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/forward"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/gateway"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

// gatewayFlags are --gateway and its options.
type gatewayFlags struct {
	on           bool
	to           string
	udpTimeout   time.Duration
	defaultRoute bool
}

func (f *gatewayFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.on, "gateway", false, "take TCP and UDP to any address routed into the device and relay it through sockets of the namespace tunstack is started in")
	fs.StringVar(&f.to, "gateway-to", "", "with --gateway, relay every connection and flow to HOST:PORT instead of its own destination")
	fs.DurationVar(&f.udpTimeout, "gateway-udp-timeout", gateway.DefaultUDPTimeout, "with --gateway, close a UDP flow idle this long (RFC 4787 §4.3 wants at least 2m)")
	fs.BoolVar(&f.defaultRoute, "gateway-default-route", false, "with --gateway, add a default route into the device in its namespace (--netns): all of its traffic goes through tunstack")
}

func (f *gatewayFlags) apply(cfg *daemon.Config) error {
	if !f.on {
		switch {
		case f.to != "":
			return usage.Errorf("--gateway-to needs --gateway")
		case f.defaultRoute:
			return usage.Errorf("--gateway-default-route needs --gateway")
		}
		return nil
	}
	if f.to != "" {
		if err := forward.CheckUpstream(f.to); err != nil {
			return usage.Errorf("--gateway-to: %v", err)
		}
	}
	if f.udpTimeout <= 0 {
		return usage.Errorf("--gateway-udp-timeout %v: must be positive (default %v)", f.udpTimeout, gateway.DefaultUDPTimeout)
	}
	cfg.Gateway = daemon.GatewayConfig{
		On:           true,
		Config:       gateway.Config{To: f.to, UDPTimeout: f.udpTimeout},
		DefaultRoute: f.defaultRoute,
	}
	return nil
}
