package flags

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/usage"
	"github.com/tunstack/tunstack/stack/tcp"
)

// tcpFlags are the engine's policies, each with the engine's default, so a
// user can choose RFC-strict or Linux-like behaviour (see tcp.Config).
type tcpFlags struct {
	congestion    string
	minRTO        time.Duration
	maxRTO        time.Duration
	synRetries    int
	rfc1337       bool
	timeWaitReuse bool
	sack          bool
	timestamps    bool
	rackTLP       bool
	nagle         bool
	keepAlive     time.Duration
	userTimeout   time.Duration
}

func (f *tcpFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.congestion, "congestion", "cubic", "congestion control: cubic (RFC 9438) or newreno (RFC 5681, RFC 6582)")
	fs.DurationVar(&f.minRTO, "min-rto", tcp.DefaultMinRTO, "lowest retransmission time-out (RFC 6298 says 1s; Linux uses 200ms)")
	fs.DurationVar(&f.maxRTO, "max-rto", tcp.DefaultMaxRTO, "highest retransmission time-out after back-off (RFC 6298: at least 60s)")
	fs.IntVar(&f.synRetries, "syn-retries", tcp.DefaultSynRetries, "SYN retransmissions before a connect times out (7 lasts the 3 minutes RFC 9293 requires; Linux uses 6)")
	fs.BoolVar(&f.rfc1337, "rfc1337", true, "ignore RST in TIME-WAIT (RFC 1337); false closes as RFC 9293 says")
	fs.BoolVar(&f.timeWaitReuse, "timewait-reuse", true, "let a new SYN beyond RCV.NXT end TIME-WAIT (RFC 6191)")
	fs.BoolVar(&f.sack, "sack", true, "offer and accept selective acknowledgments (RFC 2018)")
	fs.BoolVar(&f.timestamps, "timestamps", true, "offer and accept timestamps (RFC 7323)")
	fs.BoolVar(&f.rackTLP, "rack-tlp", true, "RACK-TLP loss detection (RFC 8985); false leaves duplicate ACKs and the RTO")
	fs.BoolVar(&f.nagle, "nagle", false, "Nagle's algorithm (RFC 9293 §3.7.4); off as Go's TCP_NODELAY")
	fs.DurationVar(&f.keepAlive, "keepalive", 0, "probe a connection idle this long (RFC 1122 §4.2.3.6); 0 is off, as the RFC's default")
	fs.DurationVar(&f.userTimeout, "user-timeout", 0, "close a connection whose data waits this long for an ACK (RFC 5482); 0 leaves the retry counts")
}

// config validates the flags and builds the engine's configuration.
func (f *tcpFlags) config(msl time.Duration) (tcp.Config, error) {
	cc, ok := tcp.ParseCongestionControl(f.congestion)
	if !ok {
		return tcp.Config{}, usage.Errorf("--congestion %q: want cubic or newreno", f.congestion)
	}
	switch {
	case f.minRTO <= 0 || f.maxRTO < f.minRTO:
		return tcp.Config{}, usage.Errorf("--min-rto %v, --max-rto %v: want 0 < min-rto <= max-rto", f.minRTO, f.maxRTO)
	case f.synRetries < 1 || f.synRetries > 30:
		return tcp.Config{}, usage.Errorf("--syn-retries %d: want 1 to 30", f.synRetries)
	case f.keepAlive < 0 || f.userTimeout < 0:
		return tcp.Config{}, usage.Errorf("--keepalive and --user-timeout must not be negative")
	}
	return tcp.Config{
		MSL:                  msl,
		MinRTO:               f.minRTO,
		MaxRTO:               f.maxRTO,
		SynRetries:           f.synRetries,
		Congestion:           cc,
		DisableRFC1337:       !f.rfc1337,
		DisableTimeWaitReuse: !f.timeWaitReuse,
		DisableSACK:          !f.sack,
		DisableTimestamps:    !f.timestamps,
		DisableRACKTLP:       !f.rackTLP,
		Nagle:                f.nagle,
		KeepAliveIdle:        f.keepAlive,
		UserTimeout:          f.userTimeout,
	}, nil
}
