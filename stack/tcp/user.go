package tcp

import (
	"io"
	"time"
)

// The user calls of RFC 9293 §3.10.1–§3.10.5: OPEN, SEND, RECEIVE,
// CLOSE, ABORT (STATUS is in conn.go; SendMore and Flush in burst.go).

// OpenActive is the active OPEN of RFC 9293 §3.10.1: select an ISS, send
// SYN, enter SYN-SENT.
func (c *Conn) OpenActive(now time.Time) error {
	if c.state != Closed {
		return ErrAlreadyOpen
	}
	c.selectISS(now)
	c.setState(SynSent, nil, ReasonUserOpenActive)
	c.sendSYN(now, ReasonUserOpenActive)
	return nil
}

// OpenPassive is the passive OPEN of RFC 9293 §3.10.1: enter LISTEN. A
// connection opened this way returns to LISTEN where the RFC says so; the
// owner then discards it (one Conn serves one connection).
func (c *Conn) OpenPassive(now time.Time) error {
	if c.state != Closed {
		return ErrAlreadyOpen
	}
	c.passive = true
	c.setState(Listen, nil, ReasonUserOpenPassive)
	return nil
}

func (c *Conn) selectISS(now time.Time) {
	if c.cfg.ISN != nil {
		c.initSend(c.cfg.ISN(c.id, now))
	} else {
		c.initSend(initialSequenceNumber(&c.cfg.ISNKey, c.id, now))
	}
}

// initSend sets the send side up for an initial sequence number: ours
// (selectISS), or one a SYN cookie carried (syncookie.go).
func (c *Conn) initSend(iss Seq) {
	c.snd.init(iss)
	c.snd.mss = defaultPeerMSS(c.id)
	c.tsOffset = timestampOffset(c.snd.iss)
	c.cc.init(c.cfg.MSS)
}

// Send is SEND (RFC 9293 §3.10.2): queue as much of p as fits in the send
// buffer and send what the windows allow. It returns how much it took.
func (c *Conn) Send(now time.Time, p []byte) (int, error) {
	n, err := c.send(p)
	if err == nil && (c.state == Established || c.state == CloseWait) {
		c.output(now)
	}
	return n, err
}

// send queues what fits of p.
func (c *Conn) send(p []byte) (int, error) {
	switch c.state {
	case Closed, Listen:
		if c.err != nil {
			return 0, c.err
		}
		return 0, ErrNotConnected
	case SynSent, SynReceived, Established, CloseWait:
		if c.snd.finQueued {
			return 0, ErrClosing
		}
	default:
		return 0, ErrClosing
	}
	if c.mem != nil {
		p = p[:min(len(p), c.sendSpace())]
	}
	return c.snd.buf.write(c.mem, c.floor(), p), nil
}

// SendSpace is how many bytes Send would take now.
func (c *Conn) SendSpace() int {
	switch c.state {
	case SynSent, SynReceived, Established, CloseWait:
		if !c.snd.finQueued {
			return c.sendSpace()
		}
	}
	return 0
}

// SendQueue is how many bytes are queued and not yet acknowledged.
func (c *Conn) SendQueue() int { return c.snd.buf.len() }

// Receive is RECEIVE (RFC 9293 §3.10.3): copy received in-order data into
// p. It returns io.EOF once the peer's FIN has been received and all data
// before it read, and the connection's error if it was reset. With nothing
// to read yet it returns 0, nil.
func (c *Conn) Receive(now time.Time, p []byte) (int, error) {
	if c.rcv.buf.len() > 0 {
		// Only a read that opens the window is worth a segment of its
		// own. A window that could already grow before it (the SYN's
		// unscaled field capped the first advertisement) reaches the
		// peer on the next ACK; the peer is not short of window then.
		alreadyDue := c.windowUpdateDue()
		n := c.rcv.buf.read(p)
		c.autotune(now, n)
		if c.mem != nil || c.state == Closed {
			c.releaseIfIdle()
		}
		if !alreadyDue {
			c.maybeWindowUpdate(now)
		}
		return n, nil
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.rcv.peerFIN {
		return 0, io.EOF
	}
	if c.state == Closed {
		return 0, ErrNotConnected
	}
	return 0, nil
}

// Readable is how many bytes Receive would return now.
func (c *Conn) Readable() int { return c.rcv.buf.len() }

// CloseSend is CLOSE of RFC 9293 §3.10.4, a half-close: no more sends, a
// FIN follows the queued data, and receiving goes on until the peer's FIN.
// net.Conn's CloseWrite maps to it.
func (c *Conn) CloseSend(now time.Time) error {
	switch c.state {
	case Closed:
		if c.err != nil {
			return c.err
		}
		return ErrNotConnected
	case Listen, SynSent:
		// "Delete the TCB and return 'error: closing' responses to any
		// queued SENDs, or RECEIVEs." The SYN's timer goes with it.
		c.enterClosed(nil, ReasonUserClose)
		return nil
	case SynReceived:
		if c.snd.finQueued || c.closeOnEstab {
			return ErrClosing
		}
		if c.snd.buf.len() > 0 {
			// "otherwise, queue for processing after entering ESTABLISHED state"
			c.closeOnEstab = true
			return nil
		}
		// "If no SENDs have been issued and there is no pending data to
		// send, then form a FIN segment and send it, and enter FIN-WAIT-1."
		c.snd.finQueued = true
		c.setState(FinWait1, nil, ReasonUserClose)
	case Established:
		c.snd.finQueued = true
		c.setState(FinWait1, nil, ReasonUserClose)
	case CloseWait:
		c.snd.finQueued = true
		c.setState(LastAck, nil, ReasonUserClose)
	default:
		return ErrClosing
	}
	c.output(now)
	return nil
}

// Close is CloseSend for a user who also stops receiving (net.Conn's
// Close): the connection is orphaned. With unread received data it is
// reset instead (RFC 2525 §2.17); data that arrives afterwards is answered
// with RST; an orphan in FIN-WAIT-2 ends after Config.FinWait2Timeout.
func (c *Conn) Close(now time.Time) error {
	if c.orphaned {
		return ErrClosing
	}
	c.orphaned = true
	if c.rcv.buf.len() > 0 && c.state.Synchronized() {
		c.sendReset(now, c.snd.nxt, ReasonCloseUnreadData)
		c.rcv.buf.pop(c.rcv.buf.len())
		c.enterClosed(nil, ReasonCloseUnreadData)
		return nil
	}
	var err error
	if !c.snd.finQueued && !c.closeOnEstab {
		err = c.CloseSend(now)
	}
	if c.state == FinWait2 {
		c.timers.set(timerClose, now.Add(c.cfg.FinWait2Timeout))
	}
	return err
}

// Abort is ABORT (RFC 9293 §3.10.5): send RST in the states that have a
// peer to tell, and enter CLOSED.
func (c *Conn) Abort(now time.Time) {
	switch c.state {
	case SynReceived, Established, FinWait1, FinWait2, CloseWait:
		c.sendReset(now, c.snd.nxt, ReasonUserAbort)
	case Closed:
		return
	}
	if c.err == nil {
		c.err = ErrConnectionAborted
	}
	c.enterClosed(nil, ReasonUserAbort)
}
