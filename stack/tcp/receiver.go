package tcp

import "time"

// receiver is the receive side of the TCB (RFC 9293 §3.3.1): the receive
// sequence variables, the window last advertised, the data received and
// not yet read, and what the ACKs we send owe the peer (SACK blocks, RFC
// 2018; D-SACK, RFC 2883).
type receiver struct {
	irs   Seq
	nxt   Seq   // RCV.NXT
	edge  Seq   // RCV.NXT+RCV.WND as last advertised: the window's right edge
	shift uint8 // our window scale, applied to the window we advertise

	peerFIN  bool // the peer's FIN was received
	clamped  bool // the budget is keeping the receive window small
	hasDSACK bool
	// recentOOO holds where the latest out-of-order segments started,
	// most recent first, one per block: the order SACK blocks are
	// reported in (RFC 2018 §4).
	numRecentOOO uint8
	recentOOO    [MaxSACKBlocks]Seq
	dsack        SACKBlock

	ackPending  int // in-order segments received and not yet acknowledged
	lastAckSent Seq // Last.ACK.sent of RFC 7323 §4.3

	// Receive-window auto-tuning (recvbuf.go): what was read since
	// spaceStart.
	spaceRead  int
	spaceStart time.Time

	buf recvBuffer
}

// window is RCV.WND as last advertised: from RCV.NXT to the right edge.
func (r *receiver) window() uint32 {
	if r.edge.GreaterThan(r.nxt) {
		return r.nxt.Size(r.edge)
	}
	return 0
}

// acceptable is the sequence number test of §3.10.7.4, first step, with
// the four cases of its table; RCV.WND is the window last advertised.
func (r *receiver) acceptable(seg *Segment) bool {
	wnd := r.window()
	n := seg.Len()
	switch {
	case n == 0 && wnd == 0:
		return seg.Seq == r.nxt
	case n == 0:
		return seg.Seq.InWindow(r.nxt, wnd)
	case wnd == 0:
		// "special allowance should be made to accept valid ACKs, URGs,
		// and RSTs": a segment at RCV.NXT is processed for its control
		// bits; trim drops its text.
		return seg.Seq == r.nxt
	default:
		return seg.Seq.InWindow(r.nxt, wnd) || seg.Seq.Add(n-1).InWindow(r.nxt, wnd)
	}
}

// trim cuts what lies outside the receive window off an acceptable
// segment: "only the new parts are processed", and data beyond the window
// is not kept (§3.10.7.4, first step). It returns why the trimming owes
// the peer an ACK once the segment has passed the other checks, or
// ReasonNone: ReasonDuplicateData for data received before, which dup
// holds (reported as a D-SACK block, RFC 2883, so only if sack is on), or
// ReasonTrimmedToWindow for data beyond the window.
func (r *receiver) trim(s *Segment, sack bool) (why Reason, dup SACKBlock) {
	why = ReasonNone
	if s.Seq.LessThan(r.nxt) {
		cut := s.Seq.Size(r.nxt)
		if sack && len(s.Payload) > 0 && !s.Flags.Has(FlagSYN) {
			dup = SACKBlock{s.Seq, s.Seq.Add(min(cut, uint32(len(s.Payload))))}
			why = ReasonDuplicateData
		}
		if s.Flags.Has(FlagSYN) {
			s.Flags &^= FlagSYN
			cut--
			s.Seq = s.Seq.Add(1)
		}
		cut = min(cut, uint32(len(s.Payload)))
		s.Payload = s.Payload[cut:]
		s.Seq = s.Seq.Add(cut)
	}
	edge := r.nxt.Add(r.window())
	if end := s.Seq.Add(uint32(len(s.Payload))); end.GreaterThan(edge) {
		keep := uint32(0)
		if edge.GreaterThan(s.Seq) {
			keep = s.Seq.Size(edge)
		}
		s.Payload = s.Payload[:keep]
		s.Flags &^= FlagFIN // it came after the text cut off
		if why == ReasonNone {
			why = ReasonTrimmedToWindow // tell the sender where the window ends
		}
	}
	return why, dup
}

// reportDuplicate makes b, octets received twice, the D-SACK block of the
// next ACK (RFC 2883 §4).
func (r *receiver) reportDuplicate(b SACKBlock) { r.hasDSACK, r.dsack = true, b }

// oldDuplicate reports whether seg is data or a FIN already received
// (rcvNxt is RCV.NXT), within one largest window below RCV.NXT (the
// window field at most, at scale shift): a retransmission the peer may
// still make, because its SND.UNA trails our RCV.NXT by at most a window.
// A SYN is never one.
func oldDuplicate(seg *Segment, rcvNxt Seq, shift uint8) bool {
	if seg.Len() == 0 || seg.Flags.Has(FlagSYN) || seg.End().GreaterThan(rcvNxt) {
		return false
	}
	return seg.Seq.GreaterThanEq(rcvNxt.Add(-(uint32(0xffff) << shift)))
}

// keepAliveProbe reports whether an unacceptable segment is a keep-alive
// probe: an ACK with SEG.SEQ = RCV.NXT-1 and no more than the one octet of
// garbage old implementations put in it (RFC 1122 §4.2.3.6). It is
// unacceptable by design, so that the answer is an ACK; it is told apart
// from the rest because a peer that keeps idle connections alive sends one
// per connection and interval. Go's net.Dialer turns keep-alives on (15 s)
// for every connection it makes: a client that opens tens of thousands of
// connections over more than 15 s made the stack report tens of thousands
// of "unacceptable" segments while they were being opened (issue 9); they
// were these probes, each rightly answered.
func keepAliveProbe(seg *Segment, rcvNxt Seq) bool {
	return seg.Flags&(FlagSYN|FlagFIN|FlagRST|FlagACK) == FlagACK &&
		len(seg.Payload) <= 1 && seg.Seq == rcvNxt.Add(^uint32(0))
}

// atRightEdge reports whether seg starts exactly at the right edge of the
// window last advertised, RCV.NXT+RCV.WND, which is not in the window.
func (r *receiver) atRightEdge(seg *Segment) bool {
	return r.edge.GreaterThan(r.nxt) && seg.Seq == r.edge
}

// offer is SEG.WND for wnd octets of free space, at scale shift, and
// records the right edge it offers. It never moves the right edge left
// (RFC 9293 §3.8.6.2.2: shrinking the window is strongly discouraged; RFC
// 7323 §2.4 for a scaled window): the window closes as data arrives
// instead of opening again. It opens the window only in steps of step
// octets (receiver-side silly window avoidance).
func (r *receiver) offer(wnd, step uint32, shift uint8) uint16 {
	keep := false
	if r.edge.GreaterThan(r.nxt) {
		edge := r.nxt.Add(wnd)
		if edge.LessThan(r.edge) || r.edge.Size(edge) < step {
			wnd = r.nxt.Size(r.edge)
			keep = true
		}
	} else if wnd < step {
		wnd = 0
	}
	scaled := wnd >> shift
	if keep {
		// Round up: rounding down would pull the right edge left by up
		// to 2^shift-1 octets on every ACK, and the peer may already
		// have sent up to it. The receive buffer takes that much more.
		scaled = (wnd + 1<<shift - 1) >> shift
	}
	scaled = min(scaled, 0xffff)
	r.edge = r.nxt.Add(scaled << shift)
	return uint16(scaled)
}

// opens reports whether offering wnd octets at scale shift would move the
// right edge at least step past the edge last advertised.
func (r *receiver) opens(wnd, step uint32, shift uint8) bool {
	wnd = min(wnd>>shift, 0xffff) << shift // the window field caps it
	edge := r.nxt.Add(wnd)
	return edge.GreaterThan(r.edge) && r.edge.Size(edge) >= step
}
