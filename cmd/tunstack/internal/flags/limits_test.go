package flags

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
)

func TestLimitFlags(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		want    daemon.Limits
		wantErr string
	}{
		{nil, daemon.Limits{ChallengeACKLimit: 1000, RSTRateLimit: 1000, ICMPRateLimit: 1000}, ""},
		{[]string{"--challenge-ack-limit", "50", "--rst-ratelimit", "10", "--icmp-ratelimit", "5"}, daemon.Limits{ChallengeACKLimit: 50, RSTRateLimit: 10, ICMPRateLimit: 5}, ""},
		{[]string{"--challenge-ack-limit", "0", "--rst-ratelimit", "0", "--icmp-ratelimit", "0"}, daemon.Limits{ChallengeACKLimit: -1, RSTRateLimit: -1, ICMPRateLimit: -1}, ""}, // off
		{[]string{"--challenge-ack-limit", "-5"}, daemon.Limits{}, "--challenge-ack-limit -5: must not be negative"},
		{[]string{"--rst-ratelimit", "-1"}, daemon.Limits{}, "--rst-ratelimit -1: must not be negative"},
		{[]string{"--icmp-ratelimit", "-1"}, daemon.Limits{}, "--icmp-ratelimit -1: must not be negative"},
	} {
		var f Up
		fs := pflag.NewFlagSet("up", pflag.ContinueOnError)
		f.Register(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		cfg, err := f.Config()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !usage.Is(err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%v: err %v, want one usage line with %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || cfg.Limits != tt.want {
			t.Errorf("%v: %+v, %v; want %+v", tt.args, cfg.Limits, err, tt.want)
		}
	}
}
