package flags

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/daemon"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// limitFlags bound what segments and packets from anyone can make the
// stack send (RFC 5961 §7; stack/ratelimit.go, stack/tcp/ratelimit.go).
// Each defaults to what Linux does; 0 turns a limit off.
type limitFlags struct {
	invalidRateLimit  time.Duration
	challengeACKLimit int
	rstRateLimit      int
	icmpRateLimit     int
}

func (f *limitFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.invalidRateLimit, "invalid-ratelimit", tcp.DefaultInvalidRateLimit,
		"least time between two ACKs a connection sends in answer to unacceptable segments (RFC 5961 §7, Linux's tcp_invalid_ratelimit); 0 is off")
	fs.IntVar(&f.challengeACKLimit, "challenge-ack-limit", stack.DefaultChallengeACKLimit,
		"ACKs a second, across all connections, that answer unacceptable segments; each second's budget is random around it (CVE-2016-5696); 0 is off")
	fs.IntVar(&f.rstRateLimit, "rst-ratelimit", stack.DefaultRSTRateLimit,
		"RSTs a second, in bursts of up to 50, for segments no connection takes (closed ports); 0 is off")
	fs.IntVar(&f.icmpRateLimit, "icmp-ratelimit", stack.DefaultICMPRateLimit,
		"ICMP echo replies a second, in bursts of up to 50; 0 is off")
}

// apply validates the flags and sets them in cfg.
func (f *limitFlags) apply(cfg *daemon.Config) error {
	switch {
	case f.invalidRateLimit < 0:
		return usage.Errorf("--invalid-ratelimit %v: must not be negative (0 turns the limit off)", f.invalidRateLimit)
	case f.challengeACKLimit < 0:
		return usage.Errorf("--challenge-ack-limit %d: must not be negative (0 turns the limit off)", f.challengeACKLimit)
	case f.rstRateLimit < 0:
		return usage.Errorf("--rst-ratelimit %d: must not be negative (0 turns the limit off)", f.rstRateLimit)
	case f.icmpRateLimit < 0:
		return usage.Errorf("--icmp-ratelimit %d: must not be negative (0 turns the limit off)", f.icmpRateLimit)
	}
	off := func(v int) int {
		if v == 0 {
			return -1
		}
		return v
	}
	cfg.TCP.InvalidRateLimit = f.invalidRateLimit
	if f.invalidRateLimit == 0 {
		cfg.TCP.InvalidRateLimit = -1
	}
	cfg.Limits = daemon.Limits{
		ChallengeACKLimit: off(f.challengeACKLimit),
		RSTRateLimit:      off(f.rstRateLimit),
		ICMPRateLimit:     off(f.icmpRateLimit),
	}
	return nil
}
