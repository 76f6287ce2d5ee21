package tcp

import "time"

// The three-way handshake (RFC 9293 §3.5): SEGMENT ARRIVES in LISTEN
// (§3.10.7.2) and SYN-SENT (§3.10.7.3), the options the SYNs agree on, and
// our SYN and SYN-ACK. SYN-RECEIVED's ACK is taken in ack.go; a SYN
// cookie's in syncookie.go.

// inputListen is §3.10.7.2.
func (c *Conn) inputListen(now time.Time, seg *Segment) {
	switch {
	case seg.Flags.Has(FlagRST):
		c.drop(seg, ReasonListenRSTIgnored)
	case seg.Flags.Has(FlagACK):
		// "Any acknowledgment is bad if it arrives on a connection still
		// in the LISTEN state. An acceptable reset segment should be formed
		// for any arriving ACK-bearing segment."
		if c.resetAllowed(now, seg, ReasonListenACKReset) {
			c.drop(seg, ReasonListenACKReset)
			c.sendReset(now, seg.Ack, ReasonListenACKReset)
		}
	case seg.Flags.Has(FlagSYN):
		c.rcv.irs = seg.Seq
		c.rcv.nxt = seg.Seq.Add(1)
		c.rcv.edge = c.rcv.nxt
		c.selectISS(now)
		c.negotiate(&seg.Options)
		c.snd.windowFromSYN(seg)
		c.snd.wl2 = c.snd.iss
		c.setState(SynReceived, seg, ReasonListenSYN)
		// Text and FIN on the SYN are not queued: the peer sends them again.
		c.sendSYNACK(now, &seg.Options, ReasonListenSYN)
	default:
		c.drop(seg, ReasonListenNoSYN)
	}
}

// negotiate applies the options of the peer's SYN: MSS (RFC 9293 §3.7.1)
// and window scaling (RFC 7323 §2.2: in use only if both SYNs carry it).
func (c *Conn) negotiate(o *Options) {
	if o.MSS != 0 {
		c.snd.mss = o.MSS
	}
	c.snd.mss = min(c.snd.mss, c.cfg.MSS)
	if c.snd.mss == 0 {
		c.snd.mss = 1
	}
	c.wsOK = o.HasWindowScale
	if c.wsOK {
		c.snd.shift = min(o.WindowScale, 14) // RFC 7323 §2.3
	}
	c.sackOK = o.SACKPermitted && !c.cfg.DisableSACK
	c.tsOK = o.HasTimestamps && !c.cfg.DisableTimestamps
	if c.tsOK {
		c.tsRecent = o.TSVal
	}
	c.cc.init(c.snd.mss)
}

// inputSynSent is §3.10.7.3.
func (c *Conn) inputSynSent(now time.Time, seg *Segment) {
	ackOK := false
	if seg.Flags.Has(FlagACK) {
		// "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless
		// the RST bit is set, if so drop the segment and return)."
		if seg.Ack.LessThanEq(c.snd.iss) || seg.Ack.GreaterThan(c.snd.nxt) {
			c.drop(seg, ReasonSynSentBadACK)
			if !seg.Flags.Has(FlagRST) {
				c.sendReset(now, seg.Ack, ReasonSynSentBadACK)
			}
			return
		}
		ackOK = true
	}
	if seg.Flags.Has(FlagRST) {
		if !ackOK {
			c.drop(seg, ReasonSynSentRSTIgnored)
			return
		}
		c.err = ErrConnectionRefused
		c.enterClosed(seg, ReasonSynSentRefused)
		return
	}
	if !seg.Flags.Has(FlagSYN) {
		c.drop(seg, ReasonSynSentNoSYN)
		return
	}
	c.rcv.irs = seg.Seq
	c.rcv.nxt = seg.Seq.Add(1)
	c.rcv.edge = c.rcv.nxt
	c.negotiate(&seg.Options)
	c.snd.windowFromSYN(seg)
	if !ackOK {
		// Simultaneous open (Figure 7): <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
		c.snd.wl2 = c.snd.iss
		c.setState(SynReceived, seg, ReasonSynSentSimultaneous)
		c.sendSYNACK(now, &seg.Options, ReasonSynSentSimultaneous)
		return
	}
	c.snd.wl2 = seg.Ack
	c.ackAdvance(now, seg)
	c.setState(Established, seg, ReasonSynSentSynAck)
	c.established()
	// Data or FIN on the SYN-ACK continue at the sixth step.
	s := &c.env.work.in
	*s = *seg
	s.Flags &^= FlagSYN
	s.Seq = s.Seq.Add(1)
	c.oweACK(ReasonSynSentSynAck)
	c.processText(now, s)
	c.output(now)
}

// established runs on entering ESTABLISHED from either side of the handshake.
func (c *Conn) established() {
	// RFC 6298 §5.7: if the SYN or SYN-ACK was lost, start data with an
	// RTO of 3 s unless an RTT was measured.
	if c.synRetransmit && !c.rtt.hasSample {
		c.rtt.rto = max(c.rtt.rto, 3*time.Second)
		c.backoff = 0 // "re-initialized to 3 seconds"
	}
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
	if !c.synRetransmit {
		c.snd.time(c.snd.iss.Add(1), now)
	}
	c.emit(now, s, why)
}
