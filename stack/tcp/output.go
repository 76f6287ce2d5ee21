package tcp

import "time"

// header fills the scratch segment with the fields every segment of this
// connection carries and returns it.
func (c *Conn) header(now time.Time, seq Seq, flags Flags) *Segment {
	s := &c.env.work.out
	*s = Segment{
		SrcPort: c.id.Local.Port(),
		DstPort: c.id.Remote.Port(),
		Seq:     seq,
		Flags:   flags,
	}
	if flags&FlagACK != 0 {
		s.Ack = c.rcv.nxt
		s.Window = c.advertise()
		if c.sackOK {
			c.sackBlocks(&s.Options)
		}
	}
	if c.tsOK && flags&FlagRST == 0 {
		s.Options.HasTimestamps = true
		s.Options.TSVal = c.tsNow(now)
		s.Options.TSEcr = c.tsRecent
	}
	return s
}

// optionBytes is the room the options of a non-SYN segment take.
func (c *Conn) optionBytes(o *Options) int {
	n := 0
	if o.HasTimestamps {
		n += 12
	}
	if o.NumSACK > 0 {
		k := int(o.NumSACK)
		if o.HasTimestamps {
			k = min(k, 3)
		}
		n += 4 + 8*k
	}
	return n
}

// dataMSS is the payload of a full-sized segment: the send MSS less the
// options every segment carries (RFC 9293 §3.7.1: the MSS excludes them).
func (c *Conn) dataMSS() uint16 {
	if c.tsOK && c.snd.mss > 12+1 {
		return c.snd.mss - 12
	}
	return c.snd.mss
}

func (c *Conn) emit(now time.Time, s *Segment, why Reason) {
	c.segsOut++
	if s.Len() > 0 && !c.timers.running(timerUser) {
		c.startUserTimeout(now)
	}
	if s.Flags&FlagACK != 0 {
		c.rcv.lastAckSent = s.Ack
		c.ackNow = false
		c.rcv.ackPending = 0
		c.timers.stop(timerDelayedACK)
	}
	c.env.out.Output(c, s, why)
}

// advertise computes SEG.WND for an outgoing segment and records the right
// edge it offers. It never moves the right edge left (RFC 9293 §3.8.6.2.2:
// shrinking the window is strongly discouraged; RFC 7323 §2.4 for a scaled
// window), even when the budget runs short: the window then closes as the
// data arrives instead of opening again. It opens the window only in steps
// of min(buffer/2, MSS) (receiver-side silly window avoidance).
func (c *Conn) advertise() uint16 {
	wnd := c.rcvSpace()
	if c.mem != nil {
		var clamped bool
		wnd, clamped = c.rcvWindowClamped()
		c.noteWindow(clamped)
	}
	step := c.windowStep()
	keep := false
	if c.rcv.edge.GreaterThan(c.rcv.nxt) {
		edge := c.rcv.nxt.Add(wnd)
		if edge.LessThan(c.rcv.edge) || c.rcv.edge.Size(edge) < step {
			wnd = c.rcv.nxt.Size(c.rcv.edge)
			keep = true
		}
	} else if wnd < step {
		wnd = 0
	}
	shift := c.windowShift()
	scaled := wnd >> shift
	if keep {
		// Round up: rounding down would pull the right edge left by up
		// to 2^shift-1 octets on every ACK, and the peer may already
		// have sent up to it. The receive buffer takes that much more.
		scaled = (wnd + 1<<shift - 1) >> shift
	}
	scaled = min(scaled, 0xffff)
	c.rcv.edge = c.rcv.nxt.Add(scaled << shift)
	return uint16(scaled)
}

// windowShift is the scale of the windows we advertise: ours if both SYNs
// carried the option (RFC 7323 §2.2), else none.
func (c *Conn) windowShift() uint8 {
	if !c.wsOK {
		return 0
	}
	return c.rcv.shift
}

// windowStep is the smallest opening of the receive window worth
// advertising: min(buffer/2, MSS) (RFC 9293 §3.8.6.2.2).
func (c *Conn) windowStep() uint32 {
	return min(uint32(c.rcv.buf.limit/2), uint32(c.cfg.MSS))
}

// maybeWindowUpdate sends a window update when reading opened the window
// by enough to matter (RFC 9293 §3.8.6.2.2).
func (c *Conn) maybeWindowUpdate(now time.Time) {
	if c.windowUpdateDue() {
		c.emit(now, c.header(now, c.snd.nxt, FlagACK), ReasonWindowUpdate)
	}
}

// windowUpdateDue reports whether the window we could advertise now
// reaches past the one we last advertised by at least windowStep.
func (c *Conn) windowUpdateDue() bool {
	switch c.state {
	case Established, FinWait1, FinWait2:
	default:
		return false
	}
	// The edge that could be advertised: the window field caps it.
	shift := c.windowShift()
	wnd := c.rcvSpace()
	if c.mem != nil {
		wnd = c.budgetedWindow()
	}
	wnd = min(wnd>>shift, 0xffff) << shift
	edge := c.rcv.nxt.Add(wnd)
	return edge.GreaterThan(c.rcv.edge) && c.rcv.edge.Size(edge) >= c.windowStep()
}

// synOptions are the options of our SYN (peer nil) or SYN-ACK: MSS,
// window scale (RFC 7323 §2), SACK-permitted (RFC 2018) and timestamps
// (RFC 7323 §3), the last three only if the peer's SYN offered them.
func (c *Conn) synOptions(now time.Time, peer *Options) Options {
	o := Options{MSS: c.cfg.MSS}
	if peer == nil || peer.HasWindowScale {
		o.HasWindowScale = true
		o.WindowScale = c.rcv.shift
	}
	if !c.cfg.DisableSACK && (peer == nil || peer.SACKPermitted) {
		o.SACKPermitted = true
	}
	if !c.cfg.DisableTimestamps && (peer == nil || peer.HasTimestamps) {
		o.HasTimestamps = true
		o.TSVal = c.tsNow(now)
		o.TSEcr = c.tsRecent
	}
	return o
}

// sendSYN sends (or resends) our SYN.
func (c *Conn) sendSYN(now time.Time, why Reason) {
	c.sendSynchronize(now, FlagSYN, c.synOptions(now, nil), why)
}

// sendSYNACK sends (or resends) our SYN-ACK; peer is the SYN's options,
// nil for a retransmission (the options agreed then are offered again).
func (c *Conn) sendSYNACK(now time.Time, peer *Options, why Reason) {
	if peer == nil {
		peer = &Options{HasWindowScale: c.wsOK, SACKPermitted: c.sackOK, HasTimestamps: c.tsOK}
	}
	c.sendSynchronize(now, FlagSYN|FlagACK, c.synOptions(now, peer), why)
}

// sendSynchronize sends a segment with SYN: its window is never scaled
// (RFC 7323 §2.2), the retransmission timer runs, and the RTT is timed
// unless the SYN had to be sent again (Karn).
func (c *Conn) sendSynchronize(now time.Time, flags Flags, opts Options, why Reason) {
	s := c.header(now, c.snd.iss, flags)
	s.Window = uint16(min(c.rcvWindow(), 0xffff))
	if flags.Has(FlagACK) {
		c.rcv.edge = c.rcv.nxt.Add(uint32(s.Window))
	}
	s.Options = opts
	c.startRetransmitTimer(now)
	if !c.snd.rttTiming && !c.synRetransmit {
		c.snd.rttTiming, c.snd.rttSeq, c.snd.rttStart = true, c.snd.iss.Add(1), now
	}
	c.emit(now, s, why)
}

// oweACK notes that an ACK must go out before the current call returns,
// and why; data or a FIN sent meanwhile carries it instead.
func (c *Conn) oweACK(why Reason) {
	if !c.ackNow {
		c.ackNow, c.ackWhy = true, why
	}
}

// sendAck sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
func (c *Conn) sendAck(now time.Time, why Reason) {
	c.emit(now, c.header(now, c.snd.nxt, FlagACK), why)
}

// sendReset sends <SEQ=seq><CTL=RST>.
func (c *Conn) sendReset(now time.Time, seq Seq, why Reason) {
	s := c.header(now, seq, FlagRST)
	c.emit(now, s, why)
}

// dataEnd is the sequence number just past the last byte the user queued.
func (c *Conn) dataEnd() Seq { return c.snd.buf.end() }

// finSeq is the sequence number of our FIN, valid when finQueued.
func (c *Conn) finSeq() Seq { return c.snd.buf.end() }

// finAcked reports whether the peer has acknowledged our FIN.
func (c *Conn) finAcked() bool {
	return c.snd.finQueued && c.snd.una.GreaterThan(c.finSeq())
}

// output sends what the windows allow: lost segments again, then new
// data and the FIN, and an ACK if one is owed and nothing else carried it
// (RFC 9293 §3.10.2, §3.8.6; RFC 6675 §5 NextSeg).
//
// In a burst (InputBurst) an ACK owed and carried by nothing else waits
// for Flush, due at once: it is never lost, only held back.
func (c *Conn) output(now time.Time) {
	switch c.state {
	case Established, CloseWait, FinWait1, Closing, LastAck:
		for c.sendOne(now) {
		}
	}
	if c.ackNow {
		if c.burst && !c.rcv.peerFIN { // a FIN ends the burst
			c.hold(now)
			return
		}
		c.sendAck(now, c.ackWhy)
	}
	c.timers.stop(timerFlush) // nothing is held back any more
}

// hold holds output back for Flush; it is due at once, so that an owner
// that does not flush delays it by a tick and loses nothing.
func (c *Conn) hold(now time.Time) {
	if !c.timers.running(timerFlush) {
		c.timers.set(timerFlush, now)
	}
}

// sendOne sends one segment: the first lost one if cwnd has room for it,
// else new data. It reports whether it sent one.
func (c *Conn) sendOne(now time.Time) bool {
	if lost := c.rec.sb.firstLost(); lost != nil {
		why := c.rec.rtxNow
		if why == ReasonNone && !c.cwndHasRoom(lost) {
			return false
		}
		if why == ReasonFastRetransmit {
			// RFC 6675 §5 (4.3): RescueRxt is the last octet of the
			// fast retransmission.
			c.rec.rescueRxt = lost.end - 1
		}
		c.rec.rtxNow = ReasonNone
		c.retransmit(now, lost, why)
		if !c.timers.running(timerRetransmit) {
			c.startRetransmitTimer(now)
		}
		return true
	}
	c.rec.rtxNow = ReasonNone
	if c.sendNew(now, ReasonNone) {
		return true
	}
	if s, rescue := c.nextSegWithoutLoss(); s != nil && c.cwndHasRoom(s) {
		if rescue {
			c.rec.rescued = true
		}
		c.retransmit(now, s, ReasonRecoveryRetransmit)
		return true
	}
	return false
}

// cwndHasRoom reports whether segment s may go again: cwnd - pipe holds
// it, or nothing is in flight (RFC 6675 §5 (C)).
func (c *Conn) cwndHasRoom(s *txSegment) bool {
	pipe := c.rec.sb.inFlight(c.snd.una.Size(c.snd.max))
	return pipe+s.size() <= c.cc.cwnd || pipe == 0
}

// sendNew sends one segment of new data and/or the FIN if the windows and
// the silly window rules allow; it reports whether it sent one.
func (c *Conn) sendNew(now time.Time, why Reason) bool {
	end := c.dataEnd()
	if c.snd.nxt.GreaterThan(end) {
		return false // FIN already sent
	}
	unsent := c.snd.nxt.Size(end)
	outstanding := c.snd.una.Size(c.snd.max)
	pipe := c.rec.sb.inFlight(outstanding)
	var usable uint32
	if c.snd.wnd > outstanding {
		usable = c.snd.wnd - outstanding
	}
	switch {
	case why == ReasonTailLossProbeNewData:
		// RFC 8985 §7.3: the probe's new segment needs only the
		// receive window.
	case c.cc.cwnd > pipe:
		usable = min(usable, c.cc.cwnd-pipe)
	default:
		usable = 0
	}
	mss := uint32(c.dataMSS())
	n := min(unsent, usable, mss)
	wantFIN := c.snd.finQueued && c.snd.nxt.Add(n) == end

	if n == 0 && !wantFIN {
		if unsent > 0 && c.snd.wnd == 0 && outstanding == 0 && !c.timers.running(timerRetransmit) {
			c.startPersistTimer(now)
		}
		return false
	}
	if n > 0 && n < mss && n < unsent && !wantFIN {
		// Sender silly window avoidance (RFC 9293 §3.8.6.2.1): wait for a
		// full segment unless half the largest window the peer offered
		// is usable.
		if (n < c.snd.maxWnd/2 || c.snd.maxWnd == 0) && !c.snd.swsOverride {
			if !c.timers.running(timerRetransmit) {
				c.startRetransmitTimer(now)
			}
			return false
		}
	}
	if n > 0 && n < mss && c.cfg.Nagle && outstanding > 0 && !wantFIN {
		return false // Nagle: one small segment in flight at a time
	}

	flags := FlagACK
	if n > 0 && c.snd.nxt.Add(n) == end {
		flags |= FlagPSH
	}
	if wantFIN {
		flags |= FlagFIN
	}
	s := c.header(now, c.snd.nxt, flags)
	if room := int(c.snd.mss) - c.optionBytes(&s.Options); n > 0 && int(n) > room {
		// SACK blocks took payload room. A FIN alone needs none: made
		// to carry an octet it has not got, it would go as a bare ACK
		// that moves nothing, again and again (found by
		// FuzzStackSession: a peer's MSS of 1 and timestamps).
		n = uint32(max(room, 1))
		s.Flags &^= FlagFIN | FlagPSH
		if c.snd.nxt.Add(n) == end {
			s.Flags |= FlagPSH
		}
	}
	s.Payload = c.snd.buf.slice(c.snd.nxt, int(n))
	if why == ReasonNone {
		why = ReasonUserSend
		if s.Flags.Has(FlagFIN) && n == 0 {
			why = ReasonUserClose
		}
	}
	if !c.snd.rttTiming && !c.tsOK {
		c.snd.rttTiming, c.snd.rttSeq, c.snd.rttStart = true, c.snd.nxt.Add(n), now
	}
	c.rec.sb.add(c.snd.nxt, s.End(), now)
	c.snd.nxt = s.End()
	c.snd.max = c.snd.max.Max(c.snd.nxt)
	if !c.timers.running(timerRetransmit) || c.timers.persist {
		c.startRetransmitTimer(now)
	}
	c.emit(now, s, why)
	if why != ReasonTailLossProbeNewData {
		c.armTLP(now)
	}
	return true
}
