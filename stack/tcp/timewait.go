package tcp

import "time"

// TimeWaitRecord is a connection in TIME-WAIT shrunk to what that state needs
// (RFC 9293 §3.10.7.4, "TIME-WAIT STATE"): enough to acknowledge a
// retransmitted FIN, to ignore RSTs (RFC 1337) and to let a new SYN reopen
// the 4-tuple (RFC 6191). An owner that keeps many TIME-WAIT connections
// stores these instead of whole Conns; it keeps the ID itself, as the key.
//
// 40 bytes. The per-connection limit on answers to unacceptable segments
// (Config.InvalidRateLimit) costs 8 of them: when the last answer went and
// the limit, each in milliseconds. They fit without growing the record
// because a reply takes its ports from the segment it answers, and 2*MSL
// is kept in milliseconds too.
type TimeWaitRecord struct {
	expires      int64  // Unix nanoseconds: the end of 2*MSL
	twoMSL       uint32 // milliseconds
	SndNxt       Seq
	RcvNxt       Seq
	tsRecent     uint32
	tsOffset     uint32
	answeredAt   uint32 // Unix milliseconds, wrapped: the last rationed answer, if twAnswered
	invalidLimit uint32 // Config.InvalidRateLimit in milliseconds; 0: off
	window       uint16
	flags        timeWaitFlags
}

type timeWaitFlags uint8

const (
	twTimestamps timeWaitFlags = 1 << iota
	twRFC1337
	twReuse
	twAnswered // answeredAt is set
)

// TimeWaitAction says what the owner does after TimeWait.Input.
type TimeWaitAction uint8

// Actions of a TIME-WAIT record.
const (
	TimeWaitDrop   TimeWaitAction = iota // nothing to send
	TimeWaitReply                        // send the reply segment
	TimeWaitClosed                       // the record is gone (RST with RFC 1337 off): delete it
	TimeWaitReopen                       // a new SYN ends TIME-WAIT: delete the record, open a connection for the SYN
)

// TimeWaitRecord returns the compact record of a connection in TIME-WAIT.
func (c *Conn) TimeWaitRecord() (TimeWaitRecord, bool) {
	if c.state != TimeWait {
		return TimeWaitRecord{}, false
	}
	tw := TimeWaitRecord{
		expires:      c.timeWaitAt.UnixNano(),
		twoMSL:       milliseconds(2 * c.cfg.MSL),
		SndNxt:       c.SndNxt,
		RcvNxt:       c.RcvNxt,
		tsRecent:     c.tsRecent,
		tsOffset:     c.tsOffset,
		invalidLimit: milliseconds(c.cfg.InvalidRateLimit),
		window:       c.advertise(),
	}
	if !c.invalidAnswerAt.IsZero() {
		tw.answeredAt = uint32(c.invalidAnswerAt.UnixMilli())
		tw.flags |= twAnswered
	}
	if c.tsOK {
		tw.flags |= twTimestamps
	}
	if !c.cfg.DisableRFC1337 {
		tw.flags |= twRFC1337
	}
	if !c.cfg.DisableTimeWaitReuse {
		tw.flags |= twReuse
	}
	return tw, true
}

// milliseconds is d in whole milliseconds, rounded up, within a uint32;
// 0 for a negative d.
func milliseconds(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(min((d+time.Millisecond-1)/time.Millisecond, 1<<32-1))
}

// Expires is when 2*MSL ends and the record can be deleted.
func (tw TimeWaitRecord) Expires() time.Time { return time.Unix(0, tw.expires) }

// Input is SEGMENT ARRIVES for a TIME-WAIT record. For TimeWaitReply it
// fills reply; why says which rule decided, as for a Conn. The answers to
// an old SYN and to other unacceptable segments are rate-limited as a
// Conn's are (TimeWaitDrop with ReasonInvalidRateLimited); the owner
// applies its AnswerBudget to them. The ACK of a retransmitted FIN is not
// limited: the peer needs it to close.
func (tw *TimeWaitRecord) Input(now time.Time, seg *Segment, reply *Segment) (TimeWaitAction, Reason) {
	switch {
	case seg.Flags.Has(FlagRST):
		if seg.Seq != tw.RcvNxt {
			return TimeWaitDrop, ReasonRSTOutsideWindow
		}
		if tw.flags&twRFC1337 != 0 {
			return TimeWaitDrop, ReasonTimeWaitRST
		}
		return TimeWaitClosed, ReasonRSTClose
	case seg.Flags.Has(FlagSYN) && !seg.Flags.Has(FlagACK):
		if tw.flags&twReuse != 0 && seg.Seq.GreaterThan(tw.RcvNxt) {
			return TimeWaitReopen, ReasonTimeWaitReopen
		}
		if tw.invalidRateLimited(now) {
			return TimeWaitDrop, ReasonInvalidRateLimited
		}
		tw.ack(now, seg, reply)
		return TimeWaitReply, ReasonSYNChallenge
	case seg.Flags.Has(FlagFIN) && seg.End() == tw.RcvNxt:
		// "Acknowledge it, and restart the 2 MSL timeout."
		tw.expires = now.Add(time.Duration(tw.twoMSL) * time.Millisecond).UnixNano()
		tw.ack(now, seg, reply)
		return TimeWaitReply, ReasonFinRetransmitted
	case seg.Len() == 0 && seg.Seq == tw.RcvNxt:
		return TimeWaitDrop, ReasonNone // an acceptable ACK: nothing to do
	}
	if tw.invalidRateLimited(now) {
		return TimeWaitDrop, ReasonInvalidRateLimited
	}
	tw.ack(now, seg, reply)
	return TimeWaitReply, ReasonUnacceptable
}

// ack fills reply with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, to the sender
// of seg.
func (tw *TimeWaitRecord) ack(now time.Time, seg, reply *Segment) {
	*reply = Segment{
		SrcPort: seg.DstPort, DstPort: seg.SrcPort,
		Seq: tw.SndNxt, Ack: tw.RcvNxt, Flags: FlagACK, Window: tw.window,
	}
	if tw.flags&twTimestamps != 0 {
		reply.Options.HasTimestamps = true
		reply.Options.TSVal = uint32(now.UnixMilli()) + tw.tsOffset
		reply.Options.TSEcr = tw.tsRecent
	}
}
