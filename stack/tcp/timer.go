package tcp

import "time"

// timer is one of a connection's timers (RFC 9293 §3.10.8 and the RFCs
// that add to it). Timers due at the same time fire in this order.
type timer uint8

const (
	timerFlush      timer = iota // output InputBurst or SendMore held back: due at once
	timerUser                    // USER TIMEOUT (RFC 9293 §3.8.3, RFC 5482)
	timerKeepAlive               // keep-alive (RFC 1122 §4.2.3.6)
	timerClose                   // 2*MSL in TIME-WAIT; an orphan's time-out in FIN-WAIT-2
	timerTLP                     // tail loss probe (RFC 8985 §7)
	timerRetransmit              // RTO (RFC 6298), or the persist timer (RFC 9293 §3.8.6.1)
	timerRACK                    // RACK's reordering window (RFC 8985 §6.2)
	timerDelayedACK              // delayed ACK (RFC 9293 §3.8.6.3)
	numTimers
)

// timerSet is a set of timers, one bit each.
type timerSet uint16

// timers are a connection's deadlines, one value: smoltcp's timers as
// plain deadlines checked against now, with a slot per timer, and next to
// say which fires first. A zero deadline is a stopped timer.
type timers struct {
	at [numTimers]time.Time
	// persist: timerRetransmit runs as the persist timer, which probes a
	// zero window instead of retransmitting.
	persist bool
}

func (t *timers) set(k timer, at time.Time) { t.at[k] = at }
func (t *timers) stop(k timer)              { t.at[k] = time.Time{} }
func (t *timers) running(k timer) bool      { return !t.at[k].IsZero() }

// when is k's deadline, zero if it is stopped or in off.
func (t *timers) when(k timer, off timerSet) time.Time {
	if off&(1<<k) != 0 {
		return time.Time{}
	}
	return t.at[k]
}

// next is the timer that fires first, of those not in off, and when;
// zero if none runs.
func (t *timers) next(off timerSet) (timer, time.Time) {
	first, when := timer(0), time.Time{}
	for k := range numTimers {
		if at := t.at[k]; !at.IsZero() && off&(1<<k) == 0 && (when.IsZero() || at.Before(when)) {
			first, when = k, at
		}
	}
	return first, when
}

// idle is the set of timers whose deadline is kept but that must not fire
// now: keep-alives only when on and while nothing is outstanding in
// ESTABLISHED or CLOSE-WAIT (RFC 1122 §4.2.3.6), the tail loss probe not
// while the persist timer runs.
func (c *Conn) idle() timerSet {
	var off timerSet
	if c.snd.una != c.snd.max || (c.state != Established && c.state != CloseWait) || c.cfg.KeepAliveIdle <= 0 {
		off |= 1 << timerKeepAlive
	}
	if c.timers.persist {
		off |= 1 << timerTLP
	}
	return off
}

func (c *Conn) startRetransmitTimer(now time.Time) {
	c.timers.persist = false
	c.timers.set(timerRetransmit, now.Add(c.rtt.backedOff(c.backoff, c.cfg.MaxRTO)))
}

func (c *Conn) startPersistTimer(now time.Time) {
	c.timers.persist = true
	c.timers.set(timerRetransmit, now.Add(c.rtt.backedOff(c.backoff, c.cfg.MaxRTO)))
}

func (c *Conn) stopRetransmitTimer() {
	c.timers.stop(timerRetransmit)
	c.timers.persist = false
}

// startTimeWait starts the one timer of TIME-WAIT, 2*MSL (RFC 9293
// §3.10.8); every other stops, as the compact record has no other.
func (c *Conn) startTimeWait(now time.Time) {
	c.timers = timers{}
	c.timers.set(timerClose, now.Add(2*c.cfg.MSL))
}

// Deadline is when Tick must next be called; zero if no timer runs.
func (c *Conn) Deadline() time.Time {
	_, at := c.timers.next(c.idle())
	return at
}

// Tick fires every timer whose deadline is at or before now, earliest
// first, each at most once (§3.10.8).
func (c *Conn) Tick(now time.Time) {
	var fired timerSet
	for {
		k, at := c.timers.next(c.idle() | fired)
		if at.IsZero() || now.Before(at) {
			return
		}
		fired |= 1 << k
		c.fire(now, k, at)
	}
}

// fire runs timer k, which was due at at.
func (c *Conn) fire(now time.Time, k timer, at time.Time) {
	c.timers.stop(k)
	switch k {
	case timerFlush:
		c.output(now)
	case timerUser:
		c.err = ErrTimedOut
		c.enterClosed(nil, ReasonUserTimeout)
	case timerKeepAlive:
		c.keepAliveExpired(now, at)
	case timerClose:
		switch c.state {
		case TimeWait:
			c.enterClosed(nil, ReasonTimeWaitExpired)
		case FinWait2:
			c.enterClosed(nil, ReasonFinWait2Timeout)
		}
	case timerTLP:
		// The probe was due no later than the RTO: it goes instead of
		// the RTO and restarts the timer (RFC 8985 §7.2).
		c.tlpExpired(now)
	case timerRetransmit:
		if c.timers.persist {
			c.timers.persist = false
			c.persistExpired(now)
		} else {
			c.retransmitExpired(now)
		}
	case timerRACK:
		c.rackExpired(now)
	case timerDelayedACK:
		if c.rcv.ackPending > 0 {
			c.sendAck(now, ReasonDelayedACK)
		}
	}
}

// heard notes that the peer sent a segment: keep-alive counts from it
// (RFC 1122 §4.2.3.6).
func (c *Conn) heard(now time.Time) {
	c.keepAlivesSent = 0
	if c.cfg.KeepAliveIdle > 0 {
		c.timers.set(timerKeepAlive, now.Add(c.cfg.KeepAliveIdle))
	}
}

// startUserTimeout starts the USER TIMEOUT for the oldest octet not yet
// acknowledged, sent at now (RFC 5482).
func (c *Conn) startUserTimeout(now time.Time) {
	if c.cfg.UserTimeout > 0 {
		c.timers.set(timerUser, now.Add(c.cfg.UserTimeout))
	}
}
