package tcp

import "time"

// sender is the send side of the TCB (RFC 9293 §3.3.1): the send sequence
// variables, what the peer's SYN and ACKs offered (window, MSS, scale),
// the data the user queued, and the RTT measurement of one segment at a
// time (RFC 6298, Karn) for a peer without timestamps.
type sender struct {
	iss    Seq
	una    Seq    // SND.UNA
	nxt    Seq    // SND.NXT
	max    Seq    // the highest SND.NXT so far: SND.NXT goes back on a time-out
	wnd    uint32 // SND.WND, scaled
	wl1    Seq    // SND.WL1
	wl2    Seq    // SND.WL2
	maxWnd uint32 // MAX.SND.WND: the largest window the peer offered (RFC 5961 §5.2)
	mss    uint16 // the send MSS (RFC 9293 §3.7.1)
	shift  uint8  // the peer's window scale, applied to SEG.WND (RFC 7323 §2.3)

	finQueued   bool // the user closed: a FIN follows the data
	swsOverride bool // the override time-out of §3.8.6.2.1 expired
	clamped     bool // the budget is keeping the send space small
	rttTiming   bool // rttSeq, sent at rttStart, is being timed
	probesOut   int  // zero-window probes sent since the peer's last ACK
	rttSeq      Seq
	rttStart    time.Time

	buf sendBuffer
}

// init starts the send sequence at iss: ours, or one a SYN cookie
// carried; the SYN takes ISS.
func (s *sender) init(iss Seq) {
	s.iss, s.una = iss, iss
	s.nxt = iss.Add(1)
	s.max = s.nxt
	s.buf.seq = s.nxt
}

// dataEnd is the sequence number just past the last octet the user
// queued: where our FIN goes once the user closes.
func (s *sender) dataEnd() Seq { return s.buf.end() }

// finAcked reports whether the peer has acknowledged our FIN.
func (s *sender) finAcked() bool { return s.finQueued && s.una.GreaterThan(s.dataEnd()) }

// outstanding is what was sent and not acknowledged: SND.UNA up to the
// highest octet sent.
func (s *sender) outstanding() uint32 { return s.una.Size(s.max) }

// windowFromSYN takes SND.WND from the peer's SYN, whose window is never
// scaled (RFC 7323 §2.2).
func (s *sender) windowFromSYN(seg *Segment) {
	s.wnd = uint32(seg.Window)
	s.maxWnd = s.wnd
	s.wl1 = seg.Seq
}

// takeWindow sets SND.WND from an acceptable segment.
func (s *sender) takeWindow(seg *Segment) {
	s.wnd = uint32(seg.Window) << s.shift
	s.maxWnd = max(s.maxWnd, s.wnd)
	s.wl1, s.wl2 = seg.Seq, seg.Ack
}

// updateWindow is the window update of §3.10.7.4's fifth step: only a
// segment newer than the one that set the window last (SND.WL1, SND.WL2)
// changes it. It reports whether it did.
func (s *sender) updateWindow(seg *Segment) bool {
	if s.wl1.LessThan(seg.Seq) || (s.wl1 == seg.Seq && s.wl2.LessThanEq(seg.Ack)) {
		s.takeWindow(seg)
		return true
	}
	return false
}

// checkACK is the fifth step's test of SEG.ACK in a synchronized state:
// ReasonACKOfUnsent for an ACK of something not yet sent, ReasonACKOld
// for one older than any window the peer could have seen (RFC 5961 §5.2),
// ReasonNone for an acceptable one.
func (s *sender) checkACK(ack Seq) Reason {
	switch {
	case ack.GreaterThan(s.max):
		return ReasonACKOfUnsent
	case ack.LessThan(s.una.Add(-s.maxWnd)):
		return ReasonACKOld
	}
	return ReasonNone
}

// advance moves SND.UNA to ack, which acknowledges new data, and drops
// the acknowledged octets from the buffer.
func (s *sender) advance(ack Seq) {
	s.una = ack
	if s.nxt.LessThan(ack) {
		s.nxt = ack
	}
	s.buf.ack(ack)
}

// dataMSS is the payload of a full-sized segment: the send MSS less the
// options every segment carries (RFC 9293 §3.7.1: the MSS excludes them),
// the timestamps' 12 octets if ts.
func (s *sender) dataMSS(ts bool) uint16 {
	if ts && s.mss > 12+1 {
		return s.mss - 12
	}
	return s.mss
}

// usable is how many new octets the windows let go: the peer's window
// less what is outstanding, within cwnd less pipe unless probe (RFC 8985
// §7.3: a tail loss probe's new segment needs only the peer's window).
func (s *sender) usable(cwnd, pipe uint32, probe bool) uint32 {
	var usable uint32
	if outstanding := s.outstanding(); s.wnd > outstanding {
		usable = s.wnd - outstanding
	}
	switch {
	case probe:
	case cwnd > pipe:
		usable = min(usable, cwnd-pipe)
	default:
		usable = 0
	}
	return usable
}

// sillyWindow reports whether n octets, fewer than a full segment of mss
// and fewer than the unsent ones, should wait for more: sender-side silly
// window avoidance (RFC 9293 §3.8.6.2.1), until half the largest window
// the peer offered is usable or the override time-out expired.
func (s *sender) sillyWindow(n, unsent, mss uint32) bool {
	return n > 0 && n < mss && n < unsent && (n < s.maxWnd/2 || s.maxWnd == 0) && !s.swsOverride
}

// nagleWaits reports whether n octets, fewer than a full segment of mss,
// wait for the ACK of what is outstanding (Nagle, RFC 9293 §3.7.4).
func (s *sender) nagleWaits(n, mss uint32) bool {
	return n > 0 && n < mss && s.outstanding() > 0
}

// time starts timing the segment that ends at seq, sent at now, if no
// other is timed (one at a time, RFC 6298 §3).
func (s *sender) time(seq Seq, now time.Time) {
	if !s.rttTiming {
		s.rttTiming, s.rttSeq, s.rttStart = true, seq, now
	}
}

// timed returns the RTT of the timed segment if ack covers it.
func (s *sender) timed(ack Seq, now time.Time) (time.Duration, bool) {
	if !s.rttTiming || ack.LessThan(s.rttSeq) {
		return 0, false
	}
	s.rttTiming = false
	return now.Sub(s.rttStart), true
}
