package crosscheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// tunstackEngine drives stack/tcp directly: Input, Tick and the user calls
// on a virtual clock that only Advance moves. It never waits.
//
// It plays the part of the stack's demultiplexer for one 4-tuple the way
// stack/input.go does: segments go to the connection while it exists; a
// connection that has ended is gone, so what arrives next goes to the
// listener (a fresh connection in LISTEN, kept only if the segment moved it
// on) in a passive scenario, or is answered as by a CLOSED TCB otherwise; a
// SYN that may reopen TIME-WAIT is offered to ReopenTimeWait first.
type tunstackEngine struct {
	cfg       tcp.Config
	id        tcp.ID
	now       time.Time
	conn      *tcp.Conn
	listening bool // a passive OPEN was made: a listener exists
	synced    bool // the connection reached a synchronized state
	sent      []Sent
	buf       [70000]byte // a packet being built
	illegal   error       // the first state change off RFC 9293's Figure 5
}

// NewTunstack returns tunstack's engine configured as the scenario says.
func NewTunstack(sc *Scenario) Engine {
	c := sc.Config
	iss := tcp.Seq(c.ISS)
	cfg := tcp.Config{
		MSL:               c.MSL,
		MinRTO:            c.MinRTO,
		MaxRTO:            c.MaxRTO,
		SynRetries:        c.SynRetries,
		SynAckRetries:     c.SynAckRetries,
		DataRetries:       c.DataRetries,
		FinWait2Timeout:   c.FinWait2Timeout,
		DelayedACK:        c.DelayedACK,
		DisableRFC1337:    !c.RFC1337,
		ReceiveBuffer:     c.RecvBuffer,
		UserTimeout:       c.UserTimeout,
		KeepAliveIdle:     c.KeepAliveIdle,
		KeepAliveInterval: c.KeepAliveInterval,
		KeepAliveCount:    c.KeepAliveCount,
		ISN:               func(tcp.ID, time.Time) tcp.Seq { return iss },
		DisableSACK:       !c.SACK,
		DisableTimestamps: !c.Timestamps,
		DisableRACKTLP:    !c.RACK,
	}
	if c.DelayedACK == 0 {
		cfg.DelayedACK = -1 // off
	}
	cfg.InvalidRateLimit = c.InvalidRateLimit
	if c.InvalidRateLimit == 0 {
		cfg.InvalidRateLimit = -1 // off
	}
	if c.Congestion != "" {
		cfg.Congestion, _ = tcp.ParseCongestionControl(c.Congestion)
	}
	local, remote := Endpoints(sc.Active)
	e := &tunstackEngine{cfg: cfg, id: tcp.ID{Local: local, Remote: remote}, now: time.Unix(1_000_000, 0)}
	e.conn = tcp.New(e.id, &e.cfg, tcp.NewEnv(e, e, nil))
	return e
}

// StateChange implements tcp.Observer: it notes whether the connection
// was ever synchronized, and the first state change that is not an edge
// of RFC 9293's Figure 5 (tcp.CheckTransition).
func (e *tunstackEngine) StateChange(c *tcp.Conn, from, to tcp.State, _ *tcp.Segment, why tcp.Reason) {
	if c == e.conn && to.Synchronized() {
		e.synced = true
	}
	if err := tcp.CheckTransition(from, to, why); err != nil && e.illegal == nil {
		e.illegal = err
	}
}

// IllegalTransition implements figure5Checker.
func (e *tunstackEngine) IllegalTransition() error { return e.illegal }

// Drop implements tcp.Observer.
func (e *tunstackEngine) Drop(*tcp.Conn, *tcp.Segment, tcp.Reason) {}

// Output implements tcp.Output: it keeps a copy of every segment as it
// goes on the wire, built and parsed again by stack/wire as the stack
// does, so that a script sees the options that fit in the header (three
// SACK blocks next to timestamps, not the engine's four).
func (e *tunstackEngine) Output(_ *tcp.Conn, seg *tcp.Segment, why tcp.Reason) {
	n, err := wire.BuildTCP(e.buf[:], e.id.Local.Addr(), e.id.Remote.Addr(), seg, 64)
	if err != nil {
		panic(fmt.Sprintf("tunstack sent an unbuildable segment %v: %v", seg, err))
	}
	p, err := wire.ParseIP(e.buf[:n])
	if err != nil {
		panic(fmt.Sprintf("parse a built packet: %v", err))
	}
	s := Sent{Why: why.Code()}
	if err := wire.ParseTCP(&p, &s.Segment); err != nil {
		panic(fmt.Sprintf("parse a built segment: %v", err))
	}
	s.Payload = bytes.Clone(s.Payload)
	e.sent = append(e.sent, s)
}

func (e *tunstackEngine) Input(seg *tcp.Segment) {
	c := e.conn
	if c.State() == tcp.TimeWait && c.ReopenTimeWait(seg) {
		// A new SYN ended TIME-WAIT: the listener takes it (RFC 6191).
		e.toListener(seg)
		return
	}
	if c.State() == tcp.Closed && e.listening {
		e.toListener(seg)
		return
	}
	c.Input(e.now, seg)
}

// toListener hands a segment to a new connection in LISTEN, as the stack
// does when no connection matches the 4-tuple, and keeps that connection
// if the segment moved it out of LISTEN.
func (e *tunstackEngine) toListener(seg *tcp.Segment) {
	if !e.listening {
		e.conn.Input(e.now, seg) // no listener: CLOSED answers (§3.10.7.1)
		return
	}
	c := tcp.New(e.id, &e.cfg, tcp.NewEnv(e, e, nil))
	if err := c.OpenPassive(e.now); err != nil {
		panic(err) // a new Conn is CLOSED
	}
	c.Input(e.now, seg)
	if st := c.State(); st != tcp.Listen && st != tcp.Closed {
		e.conn, e.synced = c, false
	}
}

func (e *tunstackEngine) Advance(d time.Duration) {
	end := e.now.Add(d)
	for i := 0; ; i++ {
		dl := e.conn.Deadline()
		if dl.IsZero() || dl.After(end) {
			break
		}
		if i > 100000 {
			panic(fmt.Sprintf("timers keep firing at %v in %s", dl, e.conn.State()))
		}
		if dl.After(e.now) {
			e.now = dl
		}
		e.conn.Tick(e.now)
	}
	e.now = end
}

func (e *tunstackEngine) Sent() []Sent {
	s := e.sent
	e.sent = nil
	return s
}

// State is the connection's state. A connection of a passive OPEN that
// ends before it was ever synchronized leaves the listener: LISTEN, as in
// gVisor and in the stack (RFC 9293 §3.10.7.4 returns such a connection to
// LISTEN on RST; a timed-out one is gone and the listener remains).
func (e *tunstackEngine) State() tcp.State {
	st := e.conn.State()
	if st == tcp.Closed && e.listening && !e.synced {
		return tcp.Listen
	}
	return st
}

func (e *tunstackEngine) Err() error { return e.conn.Err() }

func (e *tunstackEngine) OpenPassive() error {
	e.listening = true
	return e.conn.OpenPassive(e.now)
}

func (e *tunstackEngine) OpenActive() error { return e.conn.OpenActive(e.now) }

func (e *tunstackEngine) Send(p []byte) error {
	n, err := e.conn.Send(e.now, p)
	if err == nil && n < len(p) {
		err = fmt.Errorf("send took %d of %d bytes", n, len(p))
	}
	return err
}

func (e *tunstackEngine) Shutdown() error {
	e.closeListener()
	return e.conn.CloseSend(e.now)
}

func (e *tunstackEngine) Close() error {
	e.closeListener()
	return e.conn.Close(e.now)
}

// closeListener notes that a CLOSE in LISTEN ends the listener too.
func (e *tunstackEngine) closeListener() {
	if e.State() == tcp.Listen {
		e.listening = false
	}
}

func (e *tunstackEngine) Abort() error {
	e.conn.Abort(e.now)
	return nil
}

func (e *tunstackEngine) Read() ([]byte, bool, error) {
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := e.conn.Receive(e.now, buf)
		out = append(out, buf[:n]...)
		switch {
		case errors.Is(err, io.EOF):
			return out, true, nil
		case err != nil:
			return out, false, err
		case n == 0:
			return out, false, nil
		}
	}
}

func (e *tunstackEngine) Release() {}
