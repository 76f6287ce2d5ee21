package flags

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/tunstack/tunstack/stack/tcp"
)

func TestTCPFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		ok   bool
		want func(tcp.Config) bool
	}{
		{[]string{"--congestion", "newreno"}, true, func(c tcp.Config) bool { return c.Congestion == tcp.NewReno }},
		{[]string{"--congestion", "bbr"}, false, nil},
		{[]string{"--rfc1337=false", "--sack=false", "--timestamps=false"}, true, func(c tcp.Config) bool {
			return c.DisableRFC1337 && c.DisableSACK && c.DisableTimestamps
		}},
		{[]string{"--min-rto", "1s", "--max-rto", "120s", "--syn-retries", "6"}, true, func(c tcp.Config) bool {
			return c.MinRTO == time.Second && c.MaxRTO == 2*time.Minute && c.SynRetries == 6
		}},
		{[]string{"--min-rto", "2s", "--max-rto", "1s"}, false, nil},
		{[]string{"--syn-retries", "0"}, false, nil},
		{[]string{"--keepalive", "2h", "--user-timeout", "30s", "--nagle"}, true, func(c tcp.Config) bool {
			return c.KeepAliveIdle == 2*time.Hour && c.UserTimeout == 30*time.Second && c.Nagle
		}},
		{[]string{"--invalid-ratelimit", "1s"}, true, func(c tcp.Config) bool { return c.InvalidRateLimit == time.Second }},
		{[]string{"--invalid-ratelimit", "0"}, true, func(c tcp.Config) bool { return c.InvalidRateLimit < 0 }}, // off
		{[]string{"--invalid-ratelimit", "-1s"}, false, nil},
	} {
		var f Up
		fs := pflag.NewFlagSet("up", pflag.ContinueOnError)
		f.Register(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		cfg, err := f.Config()
		if (err == nil) != tt.ok {
			t.Errorf("%v: err %v, want ok=%v", tt.args, err, tt.ok)
			continue
		}
		if tt.ok && !tt.want(cfg.TCP) {
			t.Errorf("%v: config %+v", tt.args, cfg.TCP)
		}
	}
}
