package tcp

import "time"

// Loss recovery: what an ACK tells the sender (cumulative ACK, SACK
// blocks, duplicate ACKs), which segments are lost (RACK, RFC 8985, in
// rack.go; or RFC 6675 §4's DupThresh without it), fast recovery with
// SACK (RFC 6675) or, for a peer without SACK, NewReno (RFC 6582), and the
// tail loss probe (RFC 8985 §7). recovery decides; the Conn sends what it
// says, runs its timers and tells congestion control (sender.go).

// dupThresh is DupThresh of RFC 5681 and RFC 6675.
const dupThresh = 3

// recovery is the sender's loss recovery: the scoreboard of what is in
// flight, RACK's view of it, and the state of fast recovery.
type recovery struct {
	sb   scoreboard
	rack rackState

	dupAcks    int
	recoverSeq Seq // RecoveryPoint of RFC 6675: the highest octet sent when recovery began
	inRecovery bool
	afterRTO   bool // retransmitting after a time-out, until recoverSeq
	tlpOut     bool // a tail loss probe is outstanding
	// rtxNow, unless ReasonNone, sends the first lost segment at the next
	// output whatever cwnd says, for this reason: the fast retransmit
	// (RFC 5681 §3.2 step 4, RFC 6675 §5 (4.3)) or NewReno's
	// retransmission on a partial ACK (RFC 6582 §3.2 step 5).
	rtxNow Reason
	// highRxt is HighRxt of RFC 6675: segments below it were retransmitted
	// in this recovery. rescueRxt is RescueRxt; rescued says the one
	// rescue retransmission of this recovery went out (NextSeg rule 4).
	highRxt   Seq
	rescueRxt Seq
	rescued   bool

	// firstAcked is when the oldest segment that the last ACK
	// cumulatively acknowledged was sent, if it and every other segment
	// that ACK covered went out once (Karn's rule, RFC 6298 §3); zero
	// otherwise. It times the ACK to the clock's resolution, where a
	// timestamp echo times it to the millisecond (see ackAdvance).
	firstAcked time.Time
}

// onACK takes the scoreboard's part of an acceptable ACK: what SEG.ACK
// covers leaves it, what the SACK blocks cover (sack: SACK is in use) is
// marked, and RACK learns of each segment delivered. una and max are
// SND.UNA and the highest octet sent. It reports whether the ACK delivered
// anything, after which losses are looked for.
func (r *recovery) onACK(now time.Time, s *Segment, una, max Seq, sack bool) bool {
	delivered := false
	deliver := func(t *txSegment) {
		delivered = true
		r.rackDelivered(now, t)
	}
	r.firstAcked = time.Time{}
	if s.Ack.GreaterThan(una) {
		retransmitted := false
		r.sb.ackTo(s.Ack, func(t *txSegment) {
			if t.xmits > 1 {
				retransmitted = true
			} else if r.firstAcked.IsZero() {
				r.firstAcked = t.sentAt
			}
			deliver(t)
		})
		if retransmitted {
			r.firstAcked = time.Time{}
		}
	}
	if sack && s.Options.NumSACK > 0 {
		r.sb.markSACKed(s.Options.SACK[:s.Options.NumSACK], s.Ack.Max(una), max, deliver)
	}
	return delivered
}

// markLostBySACK marks lost every segment for which RFC 6675 §4's IsLost
// holds: DupThresh SACKed segments above it, or more than (DupThresh-1)
// full segments' worth (mss each) of SACKed octets. Segments already
// retransmitted in this recovery (below HighRxt) are left alone. RACK-TLP,
// when on, detects losses by time instead (RFC 8985 §6).
func (r *recovery) markLostBySACK(mss uint32) {
	var segs int
	var octets uint32
	limit := uint32(dupThresh-1) * mss
	for i := r.sb.len() - 1; i >= 0; i-- {
		s := r.sb.at(i)
		switch {
		case s.sacked:
			segs++
			octets += s.size()
		case segs >= dupThresh || octets > limit:
			if r.inRecovery && s.start.LessThan(r.highRxt) {
				return
			}
			r.sb.markLost(s)
		}
	}
}

// nextSegWithoutLoss is NextSeg's rules (3) and (4) of RFC 6675 §4, for
// when nothing is judged lost and no new data can go: an unSACKed segment
// below the highest SACKed octet not yet retransmitted in this recovery,
// else once per recovery, after a partial ACK (SND.UNA is una), the
// highest unSACKed segment (the rescue retransmission). They apply with
// SACK and without RACK-TLP, whose probes take their place.
func (r *recovery) nextSegWithoutLoss(una Seq) (seg *txSegment, rescue bool) {
	if !r.inRecovery {
		return nil, false
	}
	highestSACKed := -1
	for i := r.sb.len() - 1; i >= 0; i-- {
		if r.sb.at(i).sacked {
			highestSACKed = i
			break
		}
	}
	for i := 0; i < highestSACKed; i++ {
		if s := r.sb.at(i); !s.sacked && s.start.GreaterThanEq(r.highRxt) {
			return s, false
		}
	}
	if !r.rescued && una.GreaterThan(r.rescueRxt) {
		for i := r.sb.len() - 1; i >= 0; i-- {
			if s := r.sb.at(i); !s.sacked {
				return s, true
			}
		}
	}
	return nil, false
}

// duplicateACK counts an ACK that acknowledges nothing new while data is
// outstanding (RFC 5681 §2 "DUPLICATE ACKNOWLEDGMENT": no data, no SYN or
// FIN, the window unchanged unless it carries SACK blocks; sndWnd is
// SND.WND, shift the peer's window scale); the third marks the first
// unacknowledged segment lost (RFC 5681 §3.2, RFC 6675 §5 (a)). It
// reports whether it counted the ACK.
func (r *recovery) duplicateACK(s *Segment, una, max Seq, sndWnd uint32, shift uint8) bool {
	if len(s.Payload) > 0 || s.Flags&(FlagSYN|FlagFIN) != 0 || una == max ||
		sndWnd == 0 || (uint32(s.Window)<<shift != sndWnd && s.Options.NumSACK == 0) {
		return false
	}
	r.dupAcks++
	if r.dupAcks == dupThresh && !r.sb.empty() {
		r.sb.markLost(r.sb.at(0))
	}
	return true
}

// afterACK runs once an ACK has been applied (advanced: it moved
// SND.UNA, now una; max is the highest octet sent): fast recovery ends
// on a full acknowledgment (RFC 6675 §5, RFC 6582 §3.2 step 3), NewReno
// retransmits after a partial one, and recovery starts when a segment is
// lost. It reports whether it started, a congestion event.
func (r *recovery) afterACK(advanced bool, una, max Seq, sack bool) bool {
	if r.inRecovery && una.GreaterThanEq(r.recoverSeq) {
		r.inRecovery = false
	}
	if r.inRecovery && advanced && !sack && !r.sb.empty() {
		// NewReno partial acknowledgment (RFC 6582 §3.2 step 5): the next
		// hole is lost too, and goes at once.
		r.sb.markLost(r.sb.at(0))
		r.rtxNow = ReasonRecoveryRetransmit
	}
	if !r.inRecovery && !r.afterRTO && r.sb.lostBytes > 0 {
		r.inRecovery = true
		r.recoverSeq = max
		r.rtxNow = ReasonFastRetransmit
		r.highRxt, r.rescued = una, false
		return true
	}
	return false
}

// onAdvance notes that SND.UNA moved to ack: duplicate ACKs start over,
// a probe is answered, and a retransmission after a time-out ends at the
// recovery point.
func (r *recovery) onAdvance(ack Seq) {
	r.dupAcks = 0
	r.tlpOut = false
	if r.afterRTO && ack.GreaterThanEq(r.recoverSeq) {
		r.afterRTO = false
	}
}

// onTimeout is the retransmission time-out's view (RFC 6675 §5.1, RFC
// 8985 §6.3): recovery ends, everything not SACKed is lost, and what is
// retransmitted up to max, the highest octet sent, is not a new
// congestion event.
func (r *recovery) onTimeout(max Seq) {
	r.inRecovery, r.rtxNow = false, ReasonNone
	r.afterRTO = true
	r.recoverSeq = max
	r.dupAcks = 0
	r.tlpOut = false
	r.sb.markAllLost()
}

// retransmitted records that t went out again at now.
func (r *recovery) retransmitted(t *txSegment, now time.Time) {
	r.sb.retransmitted(t, now)
	if r.inRecovery {
		r.highRxt = r.highRxt.Max(t.end)
	}
}

// resegment cuts what is in flight to segments of at most mss, after the
// path MTU fell, and marks every one not SACKed lost: they were dropped on
// the way (RFC 1191 §6.3).
func (r *recovery) resegment(mss uint32) {
	r.sb.split(mss)
	for i := 0; i < r.sb.len(); i++ {
		if s := r.sb.at(i); s.size() > 0 && !s.sacked {
			r.sb.markLost(s)
		}
	}
}
