package tcp

import "time"

// TimeWaitRecord is a connection in TIME-WAIT shrunk to what that state needs
// (RFC 9293 §3.10.7.4, "TIME-WAIT STATE"): enough to acknowledge a
// retransmitted FIN, to ignore RSTs (RFC 1337) and to let a new SYN reopen
// the 4-tuple (RFC 6191). An owner that keeps many TIME-WAIT connections
// stores these instead of whole Conns; it keeps the ID itself, as the key.
type TimeWaitRecord struct {
	expires  int64 // Unix nanoseconds: the end of 2*MSL
	twoMSL   time.Duration
	SndNxt   Seq
	RcvNxt   Seq
	tsRecent uint32
	tsOffset uint32
	window   uint16
	srcPort  uint16
	dstPort  uint16
	flags    timeWaitFlags
}

type timeWaitFlags uint8

const (
	twTimestamps timeWaitFlags = 1 << iota
	twRFC1337
	twReuse
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
		expires:  c.timeWaitAt.UnixNano(),
		twoMSL:   2 * c.cfg.MSL,
		SndNxt:   c.SndNxt,
		RcvNxt:   c.RcvNxt,
		tsRecent: c.tsRecent,
		tsOffset: c.tsOffset,
		window:   c.advertise(),
		srcPort:  c.id.Local.Port(),
		dstPort:  c.id.Remote.Port(),
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

// Expires is when 2*MSL ends and the record can be deleted.
func (tw TimeWaitRecord) Expires() time.Time { return time.Unix(0, tw.expires) }

// Input is SEGMENT ARRIVES for a TIME-WAIT record. For TimeWaitReply it
// fills reply; why says which rule decided, as for a Conn.
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
		tw.ack(now, reply)
		return TimeWaitReply, ReasonSYNChallenge
	case seg.Flags.Has(FlagFIN) && seg.End() == tw.RcvNxt:
		// "Acknowledge it, and restart the 2 MSL timeout."
		tw.expires = now.Add(tw.twoMSL).UnixNano()
		tw.ack(now, reply)
		return TimeWaitReply, ReasonFinRetransmitted
	case seg.Len() == 0 && seg.Seq == tw.RcvNxt:
		return TimeWaitDrop, ReasonNone // an acceptable ACK: nothing to do
	}
	tw.ack(now, reply)
	return TimeWaitReply, ReasonUnacceptable
}

// ack fills reply with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
func (tw *TimeWaitRecord) ack(now time.Time, reply *Segment) {
	*reply = Segment{
		SrcPort: tw.srcPort, DstPort: tw.dstPort,
		Seq: tw.SndNxt, Ack: tw.RcvNxt, Flags: FlagACK, Window: tw.window,
	}
	if tw.flags&twTimestamps != 0 {
		reply.Options.HasTimestamps = true
		reply.Options.TSVal = uint32(now.UnixMilli()) + tw.tsOffset
		reply.Options.TSEcr = tw.tsRecent
	}
}
