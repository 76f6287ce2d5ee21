package crosscheck

import (
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// tunstackRecord is tunstack's engine as the stack runs it in TIME-WAIT:
// a connection that enters TIME-WAIT with nothing left for its user to
// read shrinks to its compact record (tcp.TimeWaitRecord), which answers
// for the 4-tuple from then on, and which its owner deletes when 2*MSL
// ends, a RST ends it (RFC 1337 off) or a new SYN reopens it (RFC 6191),
// as stack/timewait.go does. Every scenario that reaches TIME-WAIT plays
// on it as well as on the Conn: the scripts then check the record as they
// check the Conn.
type tunstackRecord struct {
	*tunstackEngine
	full   tcp.Config // the Config the connections were made with, defaults filled in
	rec    tcp.TimeWaitRecord
	inRec  bool // the connection is its record
	shrunk bool // it was, at some point: the scenario reached TIME-WAIT
}

// NewTunstackRecord returns tunstack's engine with the TIME-WAIT record.
func NewTunstackRecord(sc *Scenario) Engine {
	e := NewTunstack(sc).(*tunstackEngine)
	return &tunstackRecord{tunstackEngine: e, full: e.cfg.WithDefaults()}
}

// ReachedTimeWait reports whether the connection was ever shrunk.
func (r *tunstackRecord) ReachedTimeWait() bool { return r.shrunk }

// shrink replaces a connection in TIME-WAIT by its record, when its user
// has read everything.
func (r *tunstackRecord) shrink() {
	if r.inRec || r.conn.Readable() > 0 {
		return
	}
	if rec, ok := r.conn.TimeWaitRecord(); ok {
		r.rec, r.inRec, r.shrunk = rec, true, true
	}
}

// end deletes the record: the 4-tuple has no connection any more.
func (r *tunstackRecord) end(why tcp.Reason) {
	r.inRec = false
	r.conn = tcp.New(r.id, &r.cfg, tcp.NewEnv(r.tunstackEngine, r.tunstackEngine, nil))
	if err := tcp.CheckTransition(tcp.TimeWait, tcp.Closed, why); err != nil && r.illegal == nil {
		r.illegal = err
	}
}

func (r *tunstackRecord) Input(seg *tcp.Segment) {
	if !r.inRec {
		r.tunstackEngine.Input(seg)
		r.shrink()
		return
	}
	var reply tcp.Segment
	act, why := r.rec.Input(r.now, &r.full, nil, seg, &reply)
	switch act {
	case tcp.TimeWaitReply, tcp.TimeWaitChallenge:
		r.Output(nil, &reply, why)
	case tcp.TimeWaitClosed:
		r.end(why)
	case tcp.TimeWaitReopen:
		r.end(why)
		r.toListener(seg)
	}
}

func (r *tunstackRecord) Advance(d time.Duration) {
	if !r.inRec {
		r.tunstackEngine.Advance(d)
		r.shrink()
		return
	}
	r.now = r.now.Add(d)
	if !r.now.Before(r.rec.Expires()) {
		r.end(tcp.ReasonTimeWaitExpired)
	}
}

func (r *tunstackRecord) State() tcp.State {
	if r.inRec {
		return tcp.TimeWait
	}
	return r.tunstackEngine.State()
}

// Abort of a connection that is only a record deletes the record: ABORT
// in TIME-WAIT sends nothing (RFC 9293 §3.10.5).
func (r *tunstackRecord) Abort() error {
	if r.inRec {
		r.end(tcp.ReasonUserAbort)
		return nil
	}
	return r.tunstackEngine.Abort()
}

// The user calls reach the Conn, which stays in TIME-WAIT under the
// record and answers them as a connection in TIME-WAIT does; what they do
// to it may shrink it.

func (r *tunstackRecord) Send(p []byte) error {
	defer r.shrink()
	return r.tunstackEngine.Send(p)
}

func (r *tunstackRecord) Shutdown() error {
	defer r.shrink()
	return r.tunstackEngine.Shutdown()
}

func (r *tunstackRecord) Close() error {
	defer r.shrink()
	return r.tunstackEngine.Close()
}

func (r *tunstackRecord) Read() ([]byte, bool, error) {
	defer r.shrink()
	return r.tunstackEngine.Read()
}
