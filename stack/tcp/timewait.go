package tcp

import "time"

// TIME-WAIT has one implementation: TimeWaitRecord.Input. A connection in
// TIME-WAIT comes in two forms, the whole Conn and the compact record an
// owner keeps instead (the stack shrinks every connection to it that has
// nothing left for its application), and both answer every segment
// through it: the Conn makes its record, lets it decide and takes back
// what the decision changed (inputTimeWait). A test feeds both forms the
// same segments and compares what leaves them (timewait_diff_test.go).

// TimeWaitRecord is a connection in TIME-WAIT shrunk to what that state
// needs (RFC 9293 §3.10.7.4, "TIME-WAIT STATE"): the sequence numbers and
// the window, to tell a segment in the window from one outside it and to
// acknowledge a retransmitted FIN; TS.Recent and the timestamp clock, for
// PAWS (RFC 7323 §5) and to let a SYN with a later timestamp reopen the
// 4-tuple (RFC 6191); MAX.SND.WND for the ACK check of RFC 5961 §5.2; and
// when it last answered an unacceptable segment, for the rate limit of RFC
// 5961 §7. The policies (2*MSL, RFC 1337, reuse, the rate limit) come from
// the Config the connection was made with, which the owner passes in; the
// owner keeps the 4-tuple itself, as the key.
//
// 40 bytes: the end of 2*MSL in nanoseconds and six 32-bit fields, with
// the window field, its scale and the flags in the last four bytes. A
// reply takes its ports from the segment it answers.
type TimeWaitRecord struct {
	expires    int64 // Unix nanoseconds: the end of 2*MSL
	sndNxt     Seq   // SND.NXT = SND.UNA: our FIN is acknowledged
	rcvNxt     Seq   // just past the peer's FIN
	tsRecent   uint32
	tsOffset   uint32
	answeredAt uint32 // Unix milliseconds, wrapped: the last rationed answer, if twAnswered
	maxSndWnd  uint32 // MAX.SND.WND of RFC 5961 §5.2
	window     uint16 // SEG.WND of our ACKs: the window last advertised, scaled
	shift      uint8  // our window scale: RCV.WND is window<<shift
	flags      timeWaitFlags
}

type timeWaitFlags uint8

const (
	twTimestamps timeWaitFlags = 1 << iota // both SYNs carried timestamps
	twAnswered                             // answeredAt is set
)

// TimeWaitAction says what the owner does after TimeWaitRecord.Input.
type TimeWaitAction uint8

// Actions of a TIME-WAIT record.
const (
	// TimeWaitDrop: nothing to send. Unless the reason is ReasonNone (an
	// acceptable segment that needs no answer), the segment was dropped
	// for it.
	TimeWaitDrop TimeWaitAction = iota
	// TimeWaitReply: the segment was dropped for the reason, and the
	// reply answers it.
	TimeWaitReply
	// TimeWaitChallenge: send the reply, a challenge ACK (RFC 5961 §3.2,
	// §4.2); the ACK is the decision, the segment is not reported as
	// dropped, as with a Conn.
	TimeWaitChallenge
	// TimeWaitClosed: a RST ended TIME-WAIT (RFC 1337 off): delete the record.
	TimeWaitClosed
	// TimeWaitReopen: a new SYN ends TIME-WAIT (RFC 6191): delete the
	// record and open a connection for the SYN.
	TimeWaitReopen
)

// TimeWaitRecord returns the compact record of a connection in
// TIME-WAIT. An owner that owes the burst's ACK (InputBurst) flushes it
// first, so that the window recorded is the one last advertised.
func (c *Conn) TimeWaitRecord() (TimeWaitRecord, bool) {
	if c.state != TimeWait {
		return TimeWaitRecord{}, false
	}
	shift := c.windowShift()
	var wnd uint32
	if c.rcv.edge.GreaterThan(c.rcv.nxt) {
		wnd = c.rcv.nxt.Size(c.rcv.edge)
	}
	tw := TimeWaitRecord{
		expires:   c.timers.at[timerClose].UnixNano(),
		sndNxt:    c.snd.nxt,
		rcvNxt:    c.rcv.nxt,
		tsRecent:  c.tsRecent,
		tsOffset:  c.tsOffset,
		maxSndWnd: c.snd.maxWnd,
		// Rounded up, as advertise rounds a window it keeps.
		window: uint16(min((wnd+1<<shift-1)>>shift, 0xffff)),
		shift:  shift,
	}
	if !c.invalidAnswerAt.IsZero() {
		tw.answeredAt = uint32(c.invalidAnswerAt.UnixMilli())
		tw.flags |= twAnswered
	}
	if c.tsOK {
		tw.flags |= twTimestamps
	}
	return tw, true
}

// inputTimeWait is SEGMENT ARRIVES for a Conn in TIME-WAIT: its record
// decides, and the Conn takes back what the decision changed and reports
// it as the owner of a record would.
func (c *Conn) inputTimeWait(now time.Time, seg *Segment) {
	tw, _ := c.TimeWaitRecord()
	before := tw
	reply := &c.env.work.out
	act, why := tw.Input(now, c.cfg, c.answers(), seg, reply)
	if tw.expires != before.expires {
		c.startTimeWait(now)
	}
	if tw.answeredAt != before.answeredAt || tw.flags != before.flags {
		c.invalidAnswerAt = now
	}
	c.tsRecent = tw.tsRecent
	switch act {
	case TimeWaitDrop:
		if why != ReasonNone {
			c.drop(seg, why)
		}
	case TimeWaitReply:
		c.drop(seg, why)
		c.emit(now, reply, why)
	case TimeWaitChallenge:
		c.emit(now, reply, why)
	case TimeWaitClosed, TimeWaitReopen:
		c.enterClosed(seg, why)
	}
}

// ReopenTimeWait decides whether a SYN for this connection's 4-tuple may
// end its TIME-WAIT and start a new connection (RFC 6191, as the record
// decides). If so the connection enters CLOSED and the caller opens a new
// one for the SYN; an owner that reopens asks this before Input, which
// would end TIME-WAIT just the same but leave the SYN to be sent again.
func (c *Conn) ReopenTimeWait(seg *Segment) bool {
	tw, ok := c.TimeWaitRecord()
	if !ok || !tw.reopens(c.cfg, seg) {
		return false
	}
	c.enterClosed(seg, ReasonTimeWaitReopen)
	return true
}

// Expires is when 2*MSL ends and the record can be deleted.
func (tw TimeWaitRecord) Expires() time.Time { return time.Unix(0, tw.expires) }

// Status is what STATUS (RFC 9293 §3.10.6) can say of a record; the
// owner adds the 4-tuple and the ISNs, which it keeps.
func (tw TimeWaitRecord) Status() Status {
	return Status{
		State:  TimeWait,
		SndUna: tw.sndNxt, SndNxt: tw.sndNxt, RcvNxt: tw.rcvNxt,
		RcvWnd:          uint32(tw.window) << tw.shift,
		TimeWaitAt:      tw.Expires(),
		Timestamps:      tw.flags&twTimestamps != 0,
		SendWindowScale: -1, RecvWindowScale: -1,
	}
}

// Input is SEGMENT ARRIVES in TIME-WAIT (RFC 9293 §3.10.7.4), for a
// record and for a Conn alike. cfg is the Config the connection was made
// with (made by WithDefaults); budget, if not nil, rations answers across
// connections as a Conn's Output may (AnswerBudget). For TimeWaitReply
// and TimeWaitChallenge it fills reply; why says which rule decided.
//
// The checks come in the RFC's order: a new SYN first (RFC 6191 lets it
// reopen the 4-tuple before any other check), then PAWS (RFC 7323 §5.3),
// the sequence number (first check), RST (second: RFC 1337 ignores it;
// without it a RST at RCV.NXT ends TIME-WAIT and one elsewhere in the
// window draws a challenge ACK, RFC 5961 §3.2), SYN (fourth: challenge ACK,
// RFC 5961 §4.2), ACK (fifth: RFC 5961 §5.2), text (seventh: ignored) and
// FIN (eighth). Answers to unacceptable segments are rationed as a Conn's
// are (ratelimit.go); the ACK of a retransmitted FIN, and of any data the
// peer may still be retransmitting, is not: the peer needs it to close.
func (tw *TimeWaitRecord) Input(now time.Time, cfg *Config, budget AnswerBudget, seg, reply *Segment) (TimeWaitAction, Reason) {
	if tw.reopens(cfg, seg) {
		return TimeWaitReopen, ReasonTimeWaitReopen
	}
	ts := tw.flags&twTimestamps != 0
	rst := seg.Flags.Has(FlagRST)
	if ts && !rst {
		if !seg.Options.HasTimestamps {
			return TimeWaitDrop, ReasonNoTimestamp // RFC 7323 §3.2
		}
		if int32(seg.Options.TSVal-tw.tsRecent) < 0 {
			return tw.answer(now, cfg, budget, seg, reply, TimeWaitReply, ReasonPAWS)
		}
	}

	// First: the sequence number.
	if !tw.acceptable(seg) {
		switch {
		case rst:
			return TimeWaitDrop, ReasonRSTOutsideWindow
		case seg.Flags.Has(FlagFIN) && seg.End() == tw.rcvNxt:
			// "The only thing that can arrive in this state is a
			// retransmission of the remote FIN. Acknowledge it, and
			// restart the 2 MSL timeout."
			return tw.finRetransmitted(now, cfg, seg, reply)
		case oldDuplicate(seg, tw.rcvNxt, tw.shift):
			// Data the peer may still retransmit: answered at once,
			// whatever the limits (ratelimit.go).
			return tw.ack(now, seg, reply, TimeWaitReply, ReasonUnacceptable)
		case keepAliveProbe(seg, tw.rcvNxt):
			return tw.answer(now, cfg, budget, seg, reply, TimeWaitReply, ReasonKeepAliveProbe)
		}
		return tw.answer(now, cfg, budget, seg, reply, TimeWaitReply, ReasonUnacceptable)
	}

	// Second: RST.
	if rst {
		switch {
		case !cfg.DisableRFC1337:
			return TimeWaitDrop, ReasonTimeWaitRST // RFC 1337 §3, fix F1
		case seg.Seq == tw.rcvNxt:
			return TimeWaitClosed, ReasonRSTClose
		}
		return tw.answer(now, cfg, budget, seg, reply, TimeWaitChallenge, ReasonRSTInWindowChallenge)
	}
	// Fourth: SYN (RFC 5961 §4.2).
	if seg.Flags.Has(FlagSYN) {
		return tw.answer(now, cfg, budget, seg, reply, TimeWaitChallenge, ReasonSYNChallenge)
	}
	// Fifth: ACK.
	switch {
	case !seg.Flags.Has(FlagACK):
		return TimeWaitDrop, ReasonNoACK
	case seg.Ack.GreaterThan(tw.sndNxt):
		return tw.answer(now, cfg, budget, seg, reply, TimeWaitReply, ReasonACKOfUnsent)
	case seg.Ack.LessThan(tw.sndNxt.Add(-tw.maxSndWnd)):
		return tw.answer(now, cfg, budget, seg, reply, TimeWaitReply, ReasonACKOld) // RFC 5961 §5.2
	}
	// RFC 7323 §4.3: the segment passed the checks; the last ACK we sent
	// acknowledged RCV.NXT.
	if ts && int32(seg.Options.TSVal-tw.tsRecent) >= 0 && seg.Seq.LessThanEq(tw.rcvNxt) {
		tw.tsRecent = seg.Options.TSVal
	}
	// Seventh and eighth: text after the peer's FIN is ignored; a FIN
	// is acknowledged and restarts 2 MSL.
	if seg.Flags.Has(FlagFIN) {
		return tw.finRetransmitted(now, cfg, seg, reply)
	}
	if len(seg.Payload) > 0 {
		return TimeWaitDrop, ReasonTextAfterFIN
	}
	return TimeWaitDrop, ReasonNone // an acceptable ACK: nothing to do
}

// reopens reports whether seg is a SYN that may end TIME-WAIT and open a
// new incarnation of the connection (RFC 6191 §2, RFC 1122 §4.2.2.13):
// when both incarnations use timestamps, one whose TSval is later than
// TS.Recent, or equal to it with a sequence number beyond RCV.NXT;
// otherwise one whose sequence number is beyond RCV.NXT.
func (tw *TimeWaitRecord) reopens(cfg *Config, seg *Segment) bool {
	if cfg.DisableTimeWaitReuse || seg.Flags&(FlagSYN|FlagACK|FlagRST) != FlagSYN {
		return false
	}
	if tw.flags&twTimestamps != 0 && seg.Options.HasTimestamps {
		d := int32(seg.Options.TSVal - tw.tsRecent)
		return d > 0 || d == 0 && seg.Seq.GreaterThan(tw.rcvNxt)
	}
	return seg.Seq.GreaterThan(tw.rcvNxt)
}

// acceptable is the sequence number test of §3.10.7.4 with the window
// the connection last advertised.
func (tw *TimeWaitRecord) acceptable(seg *Segment) bool {
	wnd := uint32(tw.window) << tw.shift
	n := seg.Len()
	switch {
	case wnd == 0:
		return seg.Seq == tw.rcvNxt
	case n == 0:
		return seg.Seq.InWindow(tw.rcvNxt, wnd)
	default:
		return seg.Seq.InWindow(tw.rcvNxt, wnd) || seg.Seq.Add(n-1).InWindow(tw.rcvNxt, wnd)
	}
}

// finRetransmitted acknowledges the peer's FIN again and restarts 2 MSL.
func (tw *TimeWaitRecord) finRetransmitted(now time.Time, cfg *Config, seg, reply *Segment) (TimeWaitAction, Reason) {
	tw.expires = now.Add(2 * cfg.MSL).UnixNano()
	return tw.ack(now, seg, reply, TimeWaitReply, ReasonFinRetransmitted)
}

// answer answers seg as act says, within the limits on answers to
// unacceptable segments; when one holds the answer back, seg is dropped
// for it.
func (tw *TimeWaitRecord) answer(now time.Time, cfg *Config, budget AnswerBudget, seg, reply *Segment, act TimeWaitAction, why Reason) (TimeWaitAction, Reason) {
	if tw.invalidRateLimited(now, cfg) {
		return TimeWaitDrop, ReasonInvalidRateLimited
	}
	if budget != nil && !budget.AllowAnswer(now, why) {
		return TimeWaitDrop, ReasonChallengeACKLimit
	}
	return tw.ack(now, seg, reply, act, why)
}

// ack fills reply with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, to the sender
// of seg.
func (tw *TimeWaitRecord) ack(now time.Time, seg, reply *Segment, act TimeWaitAction, why Reason) (TimeWaitAction, Reason) {
	*reply = Segment{
		SrcPort: seg.DstPort, DstPort: seg.SrcPort,
		Seq: tw.sndNxt, Ack: tw.rcvNxt, Flags: FlagACK, Window: tw.window,
	}
	if tw.flags&twTimestamps != 0 {
		reply.Options.HasTimestamps = true
		reply.Options.TSVal = uint32(now.UnixMilli()) + tw.tsOffset
		reply.Options.TSEcr = tw.tsRecent
	}
	return act, why
}
