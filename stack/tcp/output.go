package tcp

import "time"

// What the connection sends: every segment is built here in the Env's
// scratch segment and leaves through emit. output sends what the windows
// allow (the sender's rules: silly window avoidance, Nagle, cwnd; the
// recovery's retransmissions first) and the ACK owed, or holds the ACK for
// Flush in a burst (burst.go).

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
			c.rcv.sackBlocks(&s.Options)
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
func optionBytes(o *Options) int {
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

// dataMSS is the payload of a full-sized segment.
func (c *Conn) dataMSS() uint16 { return c.snd.dataMSS(c.tsOK) }

// emit sends s: every segment leaves through here.
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
	c.emit(now, c.header(now, seq, FlagRST), why)
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
// else new data, else what NextSeg's last rules offer. It reports whether
// it sent one.
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

// pipe is RFC 6675's estimate of the octets in flight.
func (c *Conn) pipe() uint32 { return c.rec.sb.inFlight(c.snd.outstanding()) }

// cwndHasRoom reports whether segment s may go again: cwnd - pipe holds
// it, or nothing is in flight (RFC 6675 §5 (C)).
func (c *Conn) cwndHasRoom(s *txSegment) bool {
	pipe := c.pipe()
	return pipe+s.size() <= c.cc.cwnd || pipe == 0
}

// sendNew sends one segment of new data and/or the FIN if the windows and
// the silly window rules allow; it reports whether it sent one.
func (c *Conn) sendNew(now time.Time, why Reason) bool {
	end := c.snd.dataEnd()
	if c.snd.nxt.GreaterThan(end) {
		return false // FIN already sent
	}
	unsent := c.snd.nxt.Size(end)
	mss := uint32(c.dataMSS())
	n := min(unsent, c.snd.usable(c.cc.cwnd, c.pipe(), why == ReasonTailLossProbeNewData), mss)
	wantFIN := c.snd.finQueued && c.snd.nxt.Add(n) == end

	switch {
	case n == 0 && !wantFIN:
		if unsent > 0 && c.snd.wnd == 0 && c.snd.outstanding() == 0 && !c.timers.running(timerRetransmit) {
			c.startPersistTimer(now)
		}
		return false
	case wantFIN:
	case c.snd.sillyWindow(n, unsent, mss):
		// Wait for a full segment; the retransmission timer is the
		// override time-out (RFC 9293 §3.8.6.2.1).
		if !c.timers.running(timerRetransmit) {
			c.startRetransmitTimer(now)
		}
		return false
	case c.cfg.Nagle && c.snd.nagleWaits(n, mss):
		return false // one small segment in flight at a time
	}

	flags := FlagACK
	if n > 0 && c.snd.nxt.Add(n) == end {
		flags |= FlagPSH
	}
	if wantFIN {
		flags |= FlagFIN
	}
	s := c.header(now, c.snd.nxt, flags)
	if room := int(c.snd.mss) - optionBytes(&s.Options); n > 0 && int(n) > room {
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
	if !c.tsOK {
		c.snd.time(c.snd.nxt.Add(n), now)
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
