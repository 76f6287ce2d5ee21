package flags

import (
	"strings"
	"testing"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

func TestMetricsFlag(t *testing.T) {
	tests := []struct {
		name, metrics string
		fromHost      bool
		netns         string
		want          string // canonical address; "" when refused
		wantErr       string
	}{
		{name: "kernel IPv4", metrics: "10.77.0.1:9100", want: "10.77.0.1:9100"},
		{name: "kernel IPv6", metrics: "[fd00:77::1]:9100", want: "[fd00:77::1]:9100"},
		{name: "IPv4-mapped", metrics: "[::ffff:10.77.0.1]:9100", want: "10.77.0.1:9100"},
		{name: "every address", metrics: ":9100", want: ":9100"},
		{name: "every IPv4 address", metrics: "0.0.0.0:9100", want: "0.0.0.0:9100"},
		{name: "loopback", metrics: "127.0.0.1:9100", want: "127.0.0.1:9100"},
		{name: "IPv6 loopback", metrics: "[::1]:9100", want: "[::1]:9100"},
		{name: "name", metrics: "localhost:9100", want: "localhost:9100"},
		{name: "from the host", metrics: "127.0.0.1:9100", fromHost: true, netns: "lab", want: "127.0.0.1:9100"},
		{name: "from the host, no namespace", metrics: "10.77.0.1:9100", fromHost: true, want: "10.77.0.1:9100"},
		{name: "from the host, the device's address", metrics: "10.77.0.1:9100", fromHost: true, netns: "lab",
			wantErr: "inside namespace lab; listen on an address of the namespace tunstack runs in, like 127.0.0.1:9100"},
		{name: "from the host, the device's IPv6 address", metrics: "[fd00:77::1]:9100", fromHost: true, netns: "lab", wantErr: "fd00:77::1 is the device's address"},
		{name: "from the host without --metrics", fromHost: true, wantErr: "give --metrics too"},
		{name: "no port", metrics: "10.77.0.1", wantErr: "want [HOST]:PORT"},
		{name: "port 0", metrics: "10.77.0.1:0", wantErr: "bad port"},
		{name: "port too big", metrics: ":65536", wantErr: "bad port"},
		{name: "port name", metrics: ":http", wantErr: "bad port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := DefaultUp()
			f.metrics, f.metricsFromHost, f.Device.NetNS = tt.metrics, tt.fromHost, tt.netns
			cfg, err := f.Config()
			if tt.wantErr != "" {
				if err == nil || !usage.Is(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("config() = %v, want a usage error containing %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "--metrics") {
					t.Errorf("error %q does not name the flag", err)
				}
				return
			}
			if err != nil || cfg.Metrics != tt.want || cfg.MetricsFromHost != tt.fromHost {
				t.Fatalf("config() = %q (from host %v), %v; want %q (from host %v)", cfg.Metrics, cfg.MetricsFromHost, err, tt.want, tt.fromHost)
			}
		})
	}
}
