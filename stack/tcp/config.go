package tcp

import "time"

// Config holds the policies of the engine. The zero value of a field means
// its default; the Default constants list them. The engine only reads a
// Config: one made by WithDefaults is shared by every connection that is
// given it, whichever loop (shard) runs them, and must not change
// afterwards.
type Config struct {
	// MSL is the maximum segment lifetime; TIME-WAIT lasts 2*MSL
	// (RFC 9293 §3.4.2). Default 30 s, as Linux (RFC 9293 suggests 2 min).
	MSL time.Duration
	// InitialRTO before any RTT sample (RFC 6298 §2.1). Default 1 s.
	InitialRTO time.Duration
	// MinRTO bounds the computed RTO from below. Default 200 ms, as Linux;
	// RFC 6298 §2.4 says 1 s SHOULD, and allows less.
	MinRTO time.Duration
	// MaxRTO bounds the backed-off RTO from above (RFC 6298 §2.5: at least 60 s).
	// Default 60 s.
	MaxRTO time.Duration
	// SynRetries is how many times a SYN is retransmitted before OPEN fails
	// with ErrTimedOut (R2 for SYN, RFC 9293 §3.8.3). Default 7: with the
	// default RTOs that is 3 minutes, the RFC's minimum (Linux's 6 gives up
	// after about 2).
	SynRetries int
	// SynAckRetries is the same for a SYN-ACK. Default 5, as Linux.
	SynAckRetries int
	// DataRetries is R2 for data and FIN (RFC 9293 §3.8.3). Default 15, as Linux.
	DataRetries int
	// FinWait2Timeout ends an orphaned FIN-WAIT-2 (the user closed and the
	// peer never sends its FIN). Default 60 s, as Linux.
	FinWait2Timeout time.Duration
	// DelayedACK is the delayed-ACK timeout (RFC 9293 §3.8.6.3: under 0.5 s).
	// Default 40 ms. Negative turns delayed ACKs off.
	DelayedACK time.Duration
	// MSS is the largest payload this end will receive and send, from the
	// link MTU. Default 1460.
	MSS uint16
	// SendBuffer and ReceiveBuffer size the connection's buffers. The
	// receive buffer is the window advertised. Default 256 KiB each.
	SendBuffer    int
	ReceiveBuffer int
	// MaxReceiveBuffer is how far receive-window auto-tuning may grow the
	// receive buffer when the application reads faster than the window
	// allows (dynamic right-sizing, as Linux's tcp_rmem). Default 4 MiB;
	// at most ReceiveBuffer turns auto-tuning off. Buffers take memory only
	// as data arrives.
	MaxReceiveBuffer int
	// ISNKey is the secret of the RFC 6528 ISN function; zero means a fixed
	// key, which tests want and a daemon must not use.
	ISNKey [16]byte
	// ISN, when set, replaces the RFC 6528 function: scenario tests use it
	// to fix the initial sequence number.
	ISN func(id ID, now time.Time) Seq
	// Nagle turns on Nagle's algorithm (RFC 9293 §3.7.4). Off by default,
	// as Go's net package sets TCP_NODELAY.
	Nagle bool
	// UserTimeout is the USER TIMEOUT of RFC 9293 §3.8.3 and RFC 5482: a
	// connection whose oldest unacknowledged data (or SYN, or FIN) has
	// waited this long is closed with ErrTimedOut. When set it replaces the
	// retransmission-count limits. Zero: off, the count limits apply.
	UserTimeout time.Duration
	// KeepAliveIdle turns on keep-alives (RFC 9293 §3.8.4, RFC 1122
	// §4.2.3.6): after this long without a segment from the peer, probe it
	// every KeepAliveInterval, and give up after KeepAliveCount probes
	// without an answer. Zero: off (the RFC's default). The RFC requires the
	// idle time to be at least two hours by default when on.
	KeepAliveIdle     time.Duration
	KeepAliveInterval time.Duration // default 75 s
	KeepAliveCount    int           // default 9
	// Congestion is the congestion control algorithm: CUBIC (RFC 9438, the
	// default) or NewReno (RFC 5681, RFC 6582). Loss detection is RACK-TLP
	// (RFC 8985) with SACK (RFC 2018, RFC 6675) either way.
	Congestion CongestionControl
	// DisableRACKTLP turns off RACK's time-based loss detection and tail
	// loss probes (RFC 8985), leaving duplicate ACKs (RFC 5681, RFC 6675)
	// and the retransmission time-out, as RFC 9293 alone describes.
	DisableRACKTLP bool
	// DisableSACK and DisableTimestamps stop offering or accepting SACK
	// (RFC 2018) and timestamps (RFC 7323) in the handshake.
	DisableSACK       bool
	DisableTimestamps bool
	// DisableTimeWaitReuse refuses a new SYN for a 4-tuple in TIME-WAIT
	// (answered with a challenge ACK) instead of reopening under RFC 6191.
	DisableTimeWaitReuse bool
	// RFC1337 ignores RST in TIME-WAIT (RFC 1337 §3, "TIME-WAIT
	// assassination"). On unless DisableRFC1337.
	DisableRFC1337 bool
	// InvalidRateLimit is the least time between two ACKs a connection
	// sends in answer to unacceptable segments: out of the window, PAWS
	// failures, SYNs and RSTs that draw a challenge ACK, ACKs of unsent
	// or too old data, TIME-WAIT's answers (RFC 5961 §7; Linux's
	// tcp_invalid_ratelimit). Answers that honest loss recovery needs
	// are not limited (ratelimit.go). Default 500 ms, as Linux and
	// gVisor. Negative turns the limit off.
	InvalidRateLimit time.Duration

	// complete is set by WithDefaults: every field has its value.
	complete bool
	// cookieKey is the SYN cookie key WithDefaults derives from ISNKey
	// (syncookie.go).
	cookieKey [32]byte
}

// Defaults of Config.
const (
	DefaultMSL              = 30 * time.Second
	DefaultInitialRTO       = time.Second
	DefaultMinRTO           = 200 * time.Millisecond
	DefaultMaxRTO           = 60 * time.Second
	DefaultSynRetries       = 7
	DefaultSynAckRetries    = 5
	DefaultDataRetries      = 15
	DefaultFinWait2Timeout  = 60 * time.Second
	DefaultDelayedACK       = 40 * time.Millisecond
	DefaultMSS              = 1460
	DefaultBuffer           = 256 << 10
	DefaultMaxReceiveBuffer = 4 << 20

	DefaultInvalidRateLimit = 500 * time.Millisecond

	DefaultKeepAliveInterval = 75 * time.Second
	DefaultKeepAliveCount    = 9
)

// WithDefaults returns a copy of c with every zero field set to its
// default. New shares a Config made by WithDefaults among connections
// instead of copying it into each.
func (c Config) WithDefaults() Config {
	setDur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	setInt := func(i *int, def int) {
		if *i == 0 {
			*i = def
		}
	}
	setDur(&c.MSL, DefaultMSL)
	setDur(&c.InitialRTO, DefaultInitialRTO)
	setDur(&c.MinRTO, DefaultMinRTO)
	setDur(&c.MaxRTO, DefaultMaxRTO)
	setDur(&c.FinWait2Timeout, DefaultFinWait2Timeout)
	setDur(&c.DelayedACK, DefaultDelayedACK)
	setDur(&c.InvalidRateLimit, DefaultInvalidRateLimit)
	setDur(&c.KeepAliveInterval, DefaultKeepAliveInterval)
	setInt(&c.KeepAliveCount, DefaultKeepAliveCount)
	setInt(&c.SynRetries, DefaultSynRetries)
	setInt(&c.SynAckRetries, DefaultSynAckRetries)
	setInt(&c.DataRetries, DefaultDataRetries)
	setInt(&c.SendBuffer, DefaultBuffer)
	setInt(&c.ReceiveBuffer, DefaultBuffer)
	setInt(&c.MaxReceiveBuffer, DefaultMaxReceiveBuffer)
	c.MaxReceiveBuffer = max(c.MaxReceiveBuffer, c.ReceiveBuffer)
	if c.MSS == 0 {
		c.MSS = DefaultMSS
	}
	c.cookieKey = deriveCookieKey(&c.ISNKey)
	c.complete = true
	return c
}
