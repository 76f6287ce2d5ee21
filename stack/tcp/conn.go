package tcp

import "time"

// Conn is one TCP connection: its TCB (RFC 9293 §3.3.1) and the state
// machine that drives it. A Conn is not safe for concurrent use: one event
// loop owns it and calls Input, Tick and the user calls.
type Conn struct {
	id  ID
	cfg *Config // shared with the other connections of the stack, read only
	env *Env    // shared with the other connections of the owner's loop
	mem *Budget // where the buffers' storage comes from; nil: no bound, or released

	state   State
	err     error
	softErr error // the last soft ICMP error, reported on a time-out
	data    any

	snd    sender     // the send side of the TCB (sender.go)
	rcv    receiver   // the receive side (receiver.go)
	rec    recovery   // loss recovery (recovery.go)
	cc     congestion // congestion control (congestion.go)
	rtt    rttEstimator
	timers timers

	sackOK   bool   // both SYNs carried SACK-permitted
	tsOK     bool   // both SYNs carried timestamps
	wsOK     bool   // both SYNs carried a window scale
	tsRecent uint32 // TS.Recent of RFC 7323
	tsOffset uint32

	closeOnEstab  bool  // CLOSE in SYN-RECEIVED, done on entering ESTABLISHED
	orphaned      bool  // the user will neither send nor receive again
	passive       bool  // opened from LISTEN
	synRetransmit bool  // the SYN or SYN-ACK had to be retransmitted
	ackNow        bool  // an ACK must go out before the call returns (or be held: burst)
	burst         bool  // InputBurst runs: an owed ACK waits for Flush
	memFloor      int32 // each buffer's guaranteed storage (memory.go)
	ackWhy        Reason

	keepAlivesSent int
	backoff        int // RTO doublings in force (RFC 6298 §5.5)
	timeouts       int // consecutive time-outs without progress: R1/R2 of §3.8.3
	retransmits    int
	segsIn         int
	segsOut        int
	// invalidAnswerAt is when the connection last answered an
	// unacceptable segment (ratelimit.go); zero: never.
	invalidAnswerAt time.Time
}

// New returns a connection in CLOSED, working in env (NewEnv), whose
// buffers join env's Budget. A cfg made by Config.WithDefaults is shared,
// not copied: the many connections of a stack keep one, and it must not
// change afterwards. Any other cfg (or nil) is copied, with defaults
// filled in. Once the owner is done with the connection it calls
// ReleaseBuffers.
func New(id ID, cfg *Config, env *Env) *Conn {
	c := &Conn{id: id, cfg: completed(cfg), env: env, mem: env.mem}
	c.mem.Join(2) // the send and the receive buffer
	c.snd.buf.limit = c.cfg.SendBuffer
	c.rcv.buf.limit = c.cfg.ReceiveBuffer
	c.memFloor = floorFor(c.cfg)
	c.rtt = newRTTEstimator(c.cfg.InitialRTO)
	c.rcv.shift = receiveShift(c.cfg)
	return c
}

// receiveShift is the window scale we offer (RFC 7323 §2.3): the least
// shift that lets the window field cover the largest receive buffer.
func receiveShift(cfg *Config) uint8 {
	shift := uint8(0)
	for shift < 14 && cfg.MaxReceiveBuffer>>shift > 0xffff {
		shift++
	}
	return shift
}

// ID is the connection's 4-tuple.
func (c *Conn) ID() ID { return c.id }

// State is the current state.
func (c *Conn) State() State { return c.state }

// Err is why the connection ended abnormally (ErrConnectionRefused,
// ErrConnectionReset, ErrTimedOut, ErrConnectionAborted), or nil.
func (c *Conn) Err() error { return c.err }

// SetUserData attaches a value for the owner of the connection.
func (c *Conn) SetUserData(v any) { c.data = v }

// UserData returns what SetUserData attached.
func (c *Conn) UserData() any { return c.data }

// Passive reports whether the connection was opened from LISTEN.
func (c *Conn) Passive() bool { return c.passive }

// PeerClosed reports whether the peer's FIN has arrived.
func (c *Conn) PeerClosed() bool { return c.rcv.peerFIN }

// Status is STATUS (RFC 9293 §3.10.6).
func (c *Conn) Status() Status {
	s := Status{
		ID: c.id, State: c.state,
		ISS: c.snd.iss, IRS: c.rcv.irs,
		SndUna: c.snd.una, SndNxt: c.snd.nxt, SndWnd: c.snd.wnd,
		RcvNxt: c.rcv.nxt, RcvWnd: c.rcvWindow(),
		SendQueue: c.snd.buf.len(), RecvQueue: c.rcv.buf.len(),
		MSS:  c.snd.mss,
		SRTT: c.rtt.srtt, RTTVar: c.rtt.rttvar, RTO: c.rtt.backedOff(c.backoff, c.cfg.MaxRTO),
		Backoff:      c.backoff,
		DelayedACKAt: c.timers.at[timerDelayedACK],
		Retransmits:  c.retransmits, SegsIn: c.segsIn, SegsOut: c.segsOut,
		PeerClosed: c.rcv.peerFIN, Closed: c.snd.finQueued, Orphaned: c.orphaned,

		Congestion: c.cfg.Congestion, Cwnd: c.cc.cwnd, Ssthresh: c.cc.ssthresh, InRecovery: c.rec.inRecovery,
		InFlight:    c.rec.sb.inFlight(c.snd.una.Size(c.snd.max)),
		SackedBytes: c.rec.sb.sackedBytes, LostBytes: c.rec.sb.lostBytes, SACKHoles: c.rec.sb.holes(),
		MinRTT:          c.rec.rack.minRTT,
		SendWindowScale: -1, RecvWindowScale: -1,
		SACK: c.sackOK, Timestamps: c.tsOK,
		KeepAliveAt: c.timers.when(timerKeepAlive, c.idle()), TLPAt: c.timers.when(timerTLP, c.idle()),
		RACKAt: c.timers.at[timerRACK], UserTimeoutAt: c.timers.at[timerUser],
	}
	if c.wsOK {
		s.SendWindowScale, s.RecvWindowScale = int(c.snd.shift), int(c.rcv.shift)
	}
	if c.timers.persist {
		s.PersistAt = c.timers.at[timerRetransmit]
	} else {
		s.RetransmitAt = c.timers.at[timerRetransmit]
	}
	switch c.state {
	case TimeWait:
		s.TimeWaitAt = c.timers.at[timerClose]
	case FinWait2:
		s.FinWait2At = c.timers.at[timerClose]
	}
	return s
}

// setState moves to a new state and tells the observer.
func (c *Conn) setState(to State, cause *Segment, why Reason) {
	from := c.state
	c.state = to
	if to == TimeWait {
		c.releaseAfterClose() // nothing more is sent or received
	}
	if c.env.obs != nil && from != to {
		c.env.obs.StateChange(c, from, to, cause, why)
	}
}

// returnToListen takes a connection of a passive OPEN in SYN-RECEIVED
// back to LISTEN, which runs no timer: the SYN-ACK's retransmission and
// user timeout stop (the user timeout of an answered SYN, left running,
// closed a connection in LISTEN; found by FuzzInput).
func (c *Conn) returnToListen(cause *Segment, why Reason) {
	c.timers = timers{}
	c.setState(Listen, cause, why)
}

// enterClosed deletes the TCB: every timer stops.
func (c *Conn) enterClosed(cause *Segment, why Reason) {
	c.timers = timers{}
	c.rec.sb.reset()
	c.ackNow = false
	c.releaseAfterClose()
	c.setState(Closed, cause, why)
}

func (c *Conn) drop(seg *Segment, why Reason) {
	if c.env.obs != nil {
		c.env.obs.Drop(c, seg, why)
	}
}

// defaultPeerMSS is the send MSS to assume when the peer's SYN carries no
// MSS option (RFC 9293 §3.7.1; RFC 8200 §5 for IPv6's 1280 MTU).
func defaultPeerMSS(id ID) uint16 {
	if id.Remote.Addr().Is6() && !id.Remote.Addr().Is4In6() {
		return 1220
	}
	return 536
}
