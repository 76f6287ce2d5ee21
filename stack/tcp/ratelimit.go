package tcp

import "time"

// A segment that fails the checks of RFC 9293 §3.10.7.4 is answered with
// an ACK: out of the window, a PAWS failure, a SYN in a synchronized state
// (RFC 5961 §4.2), a RST in the window but not at RCV.NXT (§3.2), an ACK of
// unsent data or one too old (§5.2). Anyone who knows a 4-tuple can forge
// such segments, so each answer is rationed (RFC 5961 §7, "ACK
// throttling"), in two steps, as Linux does:
//
//  1. per connection: at most one answer per Config.InvalidRateLimit
//     (Linux's tcp_invalid_ratelimit, 500 ms). It also ends ACK loops
//     between two ends that each find the other's segments unacceptable.
//  2. across connections: the owner's AnswerBudget, when its Output has
//     one (the stack's challenge-ACK budget per second, randomised).
//
// Not rationed, because honest connections need them at once: duplicate
// ACKs for out-of-order data (those segments are acceptable), and the
// answer to an old duplicate of data or FIN that the peer may still be
// retransmitting (oldDuplicate): that ACK, with its D-SACK block, is what
// ends a spurious retransmission (RFC 2883) and what acknowledges a
// retransmitted FIN in TIME-WAIT. Linux and gVisor exempt every segment
// with data; this exempts only data an honest peer can still have in
// flight, so forged data with a random sequence number is rationed too.
//
// The stack's RSTs for segments no connection takes are rationed by the
// same AnswerBudget (resetAllowed), with no per-connection step.

// answerInvalid drops seg for why and answers it with
// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, unless a limit holds the answer
// back: then seg is dropped for that limit's reason instead.
func (c *Conn) answerInvalid(now time.Time, seg *Segment, why Reason) {
	if c.answerAllowed(now, seg, why) {
		c.drop(seg, why)
		c.sendAck(now, why)
	}
}

// challengeACK answers a RST in the window or a SYN with an ACK (RFC 5961
// §3.2, §4.2), within the same limits as answerInvalid. An answered
// challenge is not reported as a drop: the ACK is the decision.
func (c *Conn) challengeACK(now time.Time, seg *Segment, why Reason) {
	if c.answerAllowed(now, seg, why) {
		c.sendAck(now, why)
	}
}

// answerAllowed applies the two limits on ACKs that answer unacceptable
// segments. When one holds the answer back it reports seg dropped for it.
func (c *Conn) answerAllowed(now time.Time, seg *Segment, why Reason) bool {
	if limit := c.cfg.InvalidRateLimit; limit > 0 {
		if !c.invalidAnswerAt.IsZero() && now.Sub(c.invalidAnswerAt) < limit {
			c.drop(seg, ReasonInvalidRateLimited)
			return false
		}
		// Taken even if the budget below refuses, as Linux does: the
		// connection has had its turn.
		c.invalidAnswerAt = now
	}
	if b := c.answers(); b != nil && !b.AllowAnswer(now, why) {
		c.drop(seg, ReasonChallengeACKLimit)
		return false
	}
	return true
}

// resetAllowed asks the owner's AnswerBudget whether a RST that answers a
// segment for no connection (CLOSED, or an ACK in LISTEN) may go out; if
// not, it reports seg dropped for the limit.
func (c *Conn) resetAllowed(now time.Time, seg *Segment, why Reason) bool {
	if b := c.answers(); b != nil && !b.AllowAnswer(now, why) {
		c.drop(seg, ReasonRSTRateLimited)
		return false
	}
	return true
}

// invalidRateLimited is the per-connection limit for a TIME-WAIT record,
// on a millisecond clock that wraps after 49 days (a record lives 2*MSL).
// It reports whether the answer is held back, and takes the record's turn
// if not.
func (tw *TimeWaitRecord) invalidRateLimited(now time.Time, cfg *Config) bool {
	limit := milliseconds(cfg.InvalidRateLimit)
	if limit == 0 {
		return false
	}
	ms := uint32(now.UnixMilli())
	if tw.flags&twAnswered != 0 && ms-tw.answeredAt < limit {
		return true
	}
	tw.answeredAt = ms
	tw.flags |= twAnswered
	return false
}

// milliseconds is d in whole milliseconds, rounded up, within a uint32;
// 0 for a negative d.
func milliseconds(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(min((d+time.Millisecond-1)/time.Millisecond, 1<<32-1))
}

// answers is the owner's AnswerBudget, if its Output is one.
func (c *Conn) answers() AnswerBudget { return c.env.answers }
