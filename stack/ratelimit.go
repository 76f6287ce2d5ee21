package stack

import (
	"math/rand/v2"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// The stack-wide limits on what segments and packets from anyone can make
// the stack send. Each connection first limits its own answers to
// unacceptable segments (tcp.Config.InvalidRateLimit); the stack adds:
//
//   - a challenge-ACK budget per second across all connections (RFC 5961
//     §7), randomised as Linux's since CVE-2016-5696;
//   - token buckets for the RSTs that answer segments no connection takes
//     and for ICMP echo replies and errors, UDP's port unreachables
//     included (Linux's icmp_msgs_per_sec and icmp_msgs_burst: 1000 a
//     second, bursts of 50).
//
// The engine asks through tcp.AnswerBudget, which the stack's engineHooks
// implement, so tcp.Config stays read-only shared state.

// Defaults of Options' limits.
const (
	DefaultChallengeACKLimit = 1000 // Linux's tcp_challenge_ack_limit from 4.7 to 5.19
	DefaultRSTRateLimit      = 1000 // Linux's icmp_msgs_per_sec
	DefaultICMPRateLimit     = 1000
	// RateLimitBurst is the most a token bucket lets through at once
	// (Linux's icmp_msgs_burst).
	RateLimitBurst = 50
)

// RateLimits are the keys of Counters.RateLimited: the flags of `tunstack
// up` that set each limit.
var RateLimits = []string{"invalid-ratelimit", "challenge-ack-limit", "rst-ratelimit", "icmp-ratelimit"}

// answerLimits are the stack's limits; they belong to the loop.
type answerLimits struct {
	challenge challengeBudget
	rst, icmp tokenBucket
}

func newAnswerLimits(opts *Options) answerLimits {
	pick := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	return answerLimits{
		challenge: challengeBudget{limit: pick(opts.ChallengeACKLimit, DefaultChallengeACKLimit)},
		rst:       newTokenBucket(pick(opts.RSTRateLimit, DefaultRSTRateLimit)),
		icmp:      newTokenBucket(pick(opts.ICMPRateLimit, DefaultICMPRateLimit)),
	}
}

// challengeBudget lets through a random number of answers each second,
// between half the limit and one and a half times it (on average the
// limit), as Linux's tcp_send_challenge_ack does: with a fixed budget, an
// attacker who spends it and counts the answers it gets back learns how
// many its forged segments drew from a victim's connection
// (CVE-2016-5696).
type challengeBudget struct {
	limit  int   // average per second; at most 0: no budget
	second int64 // the Unix second left counts for
	left   int
}

func (b *challengeBudget) allow(now time.Time) bool {
	if b.limit <= 0 {
		return true
	}
	if sec := now.Unix(); sec != b.second {
		half := (b.limit + 1) / 2
		b.second, b.left = sec, half+rand.IntN(b.limit)
	}
	if b.left == 0 {
		return false
	}
	b.left--
	return true
}

// tokenBucket lets through rate events a second on average and at most
// burst at once.
type tokenBucket struct {
	rate   float64 // tokens a second; 0: no limit
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(perSecond int) tokenBucket {
	if perSecond <= 0 {
		return tokenBucket{}
	}
	burst := float64(min(perSecond, RateLimitBurst))
	return tokenBucket{rate: float64(perSecond), burst: burst, tokens: burst}
}

func (b *tokenBucket) allow(now time.Time) bool {
	if b.rate == 0 {
		return true
	}
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// AllowAnswer implements tcp.AnswerBudget: RSTs for segments no
// connection takes draw on the RST bucket, ACKs answering unacceptable
// segments on the challenge-ACK budget.
func (h engineHooks) AllowAnswer(now time.Time, why tcp.Reason) bool {
	l := &h.s.limits
	if why == tcp.ReasonClosedRST || why == tcp.ReasonListenACKReset {
		return l.rst.allow(now)
	}
	return l.challenge.allow(now)
}

// resetAllowed reports whether the stack may answer seg, for which no
// connection or listener exists, with a RST; if not, it drops seg for
// the RST limit. A RST is never answered, so it takes no token.
func (s *Stack) resetAllowed(id tcp.ID, seg *tcp.Segment) bool {
	if seg.Flags.Has(tcp.FlagRST) || s.limits.rst.allow(s.now) {
		return true
	}
	s.dropSegmentFor(id, seg, tcp.ReasonRSTRateLimited)
	return false
}

// dropSegmentFor counts a segment the stack dropped before any connection
// for a decision that has a tcp.Reason, as the engine's drops are.
func (s *Stack) dropSegmentFor(id tcp.ID, seg *tcp.Segment, why tcp.Reason) {
	s.counters.engineDrop(why)
	s.capture.noteEngineDrop(why)
	if s.events.active() {
		s.events.publish(segmentEvent(s.now, EventDrop, id, nil, s.inboundState(id, nil), seg, why))
	}
}

// rateLimited is Counters.RateLimited: what each limit held back.
func (c *counters) rateLimited() map[string]uint64 {
	icmp := c.drops[knownDropSlot[dropICMPRateLimit]].Load() + c.frag.timeExceededLimited.Load() +
		c.udp.unreachLimited.Load() + c.unreachablesLimited.Load()
	return map[string]uint64{
		"invalid-ratelimit":   c.engineDrops.load(tcp.ReasonInvalidRateLimited),
		"challenge-ack-limit": c.engineDrops.load(tcp.ReasonChallengeACKLimit),
		"rst-ratelimit":       c.engineDrops.load(tcp.ReasonRSTRateLimited),
		"icmp-ratelimit":      icmp,
	}
}
