package flags

import (
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/gateway"
)

func TestGatewayFlags(t *testing.T) {
	f, err := parseUp(t, "--gateway", "--gateway-to", "127.0.0.1:3128", "--gateway-udp-timeout", "5m", "--gateway-default-route")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Gateway
	if !g.On || g.To != "127.0.0.1:3128" || g.UDPTimeout != 5*time.Minute || !g.DefaultRoute {
		t.Errorf("Gateway = %+v", g)
	}

	f, _ = parseUp(t)
	if cfg, err = f.Config(); err != nil || cfg.Gateway.On {
		t.Errorf("without --gateway: %+v, %v", cfg.Gateway, err)
	}
	f, _ = parseUp(t, "--gateway")
	if cfg, err = f.Config(); err != nil || cfg.Gateway.UDPTimeout != gateway.DefaultUDPTimeout || cfg.Gateway.To != "" {
		t.Errorf("--gateway alone: %+v, %v; want the 2m UDP time-out, no --gateway-to", cfg.Gateway, err)
	}
	// Both engines relay: gVisor's netstack in the same role, to
	// compare the two (--engine gvisor).
	f, _ = parseUp(t, "--gateway", "--engine", "gvisor", "--gateway-to", "127.0.0.1:3128")
	if cfg, err = f.Config(); err != nil || !cfg.Gateway.On || cfg.Gateway.To != "127.0.0.1:3128" || cfg.Engine != "gvisor" {
		t.Errorf("--gateway --engine gvisor: %+v, engine %q, %v; want the gateway on gVisor", cfg.Gateway, cfg.Engine, err)
	}
}

func TestGatewayFlagsRefuse(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--gateway-to", "127.0.0.1:80"}, "--gateway-to needs --gateway"},
		{[]string{"--gateway-default-route"}, "--gateway-default-route needs --gateway"},
		{[]string{"--gateway", "--gateway-to", "nowhere"}, "--gateway-to: upstream \"nowhere\": want HOST:PORT"},
		{[]string{"--gateway", "--gateway-udp-timeout", "0s"}, "--gateway-udp-timeout 0s: must be positive"},
	} {
		f, err := parseUp(t, tt.args...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err = f.Config(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.args, err, tt.want)
		}
	}
}
