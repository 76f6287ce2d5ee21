package tcp

import "time"

// RACK-TLP loss detection (RFC 8985): a segment is lost when one sent
// after it has been delivered and more than an RTT plus a reordering
// window has passed since it was sent; a tail loss probe recovers the last
// segments of a flight without waiting for the RTO.

// rackState is RACK's view of the most recently sent segment that was
// delivered (RFC 8985 §5.2).
type rackState struct {
	xmitTS time.Time // when it was sent
	endSeq Seq
	rtt    time.Duration
	minRTT time.Duration
}

// wcDelAckT is RFC 8985 §7.2's allowance for a delayed ACK in the probe
// time-out of a single segment.
const wcDelAckT = 200 * time.Millisecond

// tlpMinTimeout keeps the probe time-out above timer noise on very short
// paths (Linux uses the same 10 ms floor).
const tlpMinTimeout = 10 * time.Millisecond

// rackDelivered updates RACK with a segment the peer acknowledged or
// SACKed (RFC 8985 §6.2 step 2).
func (r *recovery) rackDelivered(now time.Time, s *txSegment) {
	rtt := now.Sub(s.sentAt)
	if s.xmits > 1 && r.rack.minRTT > 0 && rtt < r.rack.minRTT {
		return // the ACK may be for an earlier transmission
	}
	if r.rack.minRTT == 0 || rtt < r.rack.minRTT {
		r.rack.minRTT = rtt
	}
	if s.sentAt.After(r.rack.xmitTS) || (s.sentAt.Equal(r.rack.xmitTS) && s.end.GreaterThan(r.rack.endSeq)) {
		r.rack.xmitTS = s.sentAt
		r.rack.endSeq = s.end
		r.rack.rtt = rtt
	}
}

// rackDetectLoss marks lost every segment sent before the delivered one
// by more than RACK.rtt + reo_wnd (RFC 8985 §6.2 step 5), and returns when
// the first that is not yet due will be: the reordering timer's deadline,
// zero if none waits.
func (r *recovery) rackDetectLoss(now time.Time, srtt time.Duration) time.Time {
	var next time.Time
	if r.rack.xmitTS.IsZero() {
		return next
	}
	reoWnd := min(r.rack.minRTT/4, srtt)
	for i := 0; i < r.sb.len(); i++ {
		s := r.sb.at(i)
		sentBefore := s.sentAt.Before(r.rack.xmitTS) ||
			(s.sentAt.Equal(r.rack.xmitTS) && s.end.LessThan(r.rack.endSeq))
		if !sentBefore {
			if s.xmits == 1 {
				// Segments are first sent in sequence order: every later
				// one that was never retransmitted was sent later still.
				break
			}
			continue
		}
		if s.sacked || s.lost {
			continue
		}
		lostAt := s.sentAt.Add(r.rack.rtt + reoWnd)
		if !now.Before(lostAt) {
			r.sb.markLost(s)
		} else if next.IsZero() || lostAt.Before(next) {
			next = lostAt
		}
	}
	return next
}

// probeTimeout is PTO of RFC 8985 §7.2: 2*SRTT, plus a delayed-ACK
// allowance for a lone segment in flight; false when no probe is to be
// armed (in recovery, a probe out, no RTT sample, nothing in flight).
func (r *recovery) probeTimeout(rtt *rttEstimator) (time.Duration, bool) {
	if r.inRecovery || r.tlpOut || !rtt.hasSample || r.sb.empty() {
		return 0, false
	}
	pto := 2 * rtt.srtt
	if r.sb.len() == 1 {
		pto += wcDelAckT
	}
	return max(pto, tlpMinTimeout), true
}
