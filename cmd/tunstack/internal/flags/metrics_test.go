package flags

import (
	"strings"
	"testing"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

func TestMetricsFlag(t *testing.T) {
	tests := []struct {
		name, metrics string
		ipv6Off       bool
		want          string // canonical address; "" when refused
		wantErr       string
	}{
		{name: "kernel IPv4", metrics: "10.77.0.1:9100", want: "10.77.0.1:9100"},
		{name: "kernel IPv6", metrics: "[fd00:77::1]:9100", want: "[fd00:77::1]:9100"},
		{name: "IPv4-mapped", metrics: "[::ffff:10.77.0.1]:9100", want: "10.77.0.1:9100"},
		{name: "every interface", metrics: "0.0.0.0:9100", wantErr: "only, not on 0.0.0.0"},
		{name: "no host", metrics: ":9100", wantErr: "is not an IP address"},
		{name: "the stack's address", metrics: "10.77.0.2:9100", wantErr: "only, not on 10.77.0.2"},
		{name: "loopback", metrics: "127.0.0.1:9100", wantErr: "only, not on 127.0.0.1"},
		{name: "IPv6 off", metrics: "[fd00:77::1]:9100", ipv6Off: true, wantErr: "like 10.77.0.1:9100 only"},
		{name: "no port", metrics: "10.77.0.1", wantErr: "want IP:PORT"},
		{name: "port 0", metrics: "10.77.0.1:0", wantErr: "bad port"},
		{name: "name", metrics: "localhost:9100", wantErr: "is not an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := DefaultUp()
			f.metrics = tt.metrics
			if tt.ipv6Off {
				f.Addr6 = ""
			}
			cfg, err := f.Config()
			if tt.wantErr != "" {
				if err == nil || !usage.Is(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("config() = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || cfg.Metrics != tt.want {
				t.Fatalf("config() = %q, %v; want %q", cfg.Metrics, err, tt.want)
			}
		})
	}
}
