package stack

import (
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// A connection that reaches TIME-WAIT with nothing left for the
// application to read is shrunk to the engine's compact record
// (tcp.TimeWaitRecord, 40 bytes): the Conn, its engine and its buffers are
// released, and the record answers for the 4-tuple until 2*MSL ends, with
// the same rules a Conn in TIME-WAIT follows (the engine has one
// TIME-WAIT). A stack that closes first holds one per connection for a
// minute, so this is what lets it keep 100,000 of them in a few tens of
// megabytes.

// timeWaitTable holds the records, and their 4-tuples in the order they
// entered TIME-WAIT: every record lasts the same 2*MSL, so the oldest
// expires first and expiry needs no timer per record. A record whose
// 2*MSL restarted (a retransmitted FIN) goes to the back when its turn
// comes.
type timeWaitTable struct {
	records map[timeWaitKey]timeWaitEntry
	order   []timeWaitKey // order[head:] is the queue
	head    int
}

// timeWaitKey is a 4-tuple in 36 bytes: tcp.ID's netip.AddrPorts carry a
// zone handle each and take 64. Addresses are kept as 16 bytes, IPv4 as
// IPv4-mapped IPv6.
type timeWaitKey struct {
	local, remote [16]byte
	lport, rport  uint16
}

func keyOf(id tcp.ID) timeWaitKey {
	return timeWaitKey{
		local: id.Local.Addr().As16(), remote: id.Remote.Addr().As16(),
		lport: id.Local.Port(), rport: id.Remote.Port(),
	}
}

func (k timeWaitKey) id() tcp.ID {
	return tcp.ID{
		Local:  netip.AddrPortFrom(netip.AddrFrom16(k.local).Unmap(), k.lport),
		Remote: netip.AddrPortFrom(netip.AddrFrom16(k.remote).Unmap(), k.rport),
	}
}

// get returns the record of a 4-tuple in TIME-WAIT.
func (t *timeWaitTable) get(id tcp.ID) (timeWaitEntry, bool) {
	if t.records == nil {
		return timeWaitEntry{}, false
	}
	e, ok := t.records[keyOf(id)]
	return e, ok
}

// set replaces the record of a 4-tuple already in the table.
func (t *timeWaitTable) set(id tcp.ID, e timeWaitEntry) { t.records[keyOf(id)] = e }

// remove forgets a record before its time (a RST, a new SYN).
func (t *timeWaitTable) remove(id tcp.ID) { delete(t.records, keyOf(id)) }

// each calls fn for every record.
func (t *timeWaitTable) each(fn func(tcp.ID, *timeWaitEntry)) {
	for k, e := range t.records {
		fn(k.id(), &e)
	}
}

// timeWaitEntry is a record with what ss and the trace show of its past:
// the states it went through (as a set: every path into TIME-WAIT visits
// states in the order tcp.State lists them), its ISNs and when it entered
// TIME-WAIT. 64 bytes.
type timeWaitEntry struct {
	rec      tcp.TimeWaitRecord
	iss, irs tcp.Seq
	states   uint16 // bit i: tcp.State(i) was visited
	// restarted: a retransmitted FIN restarted 2*MSL, so the record
	// expires after others that entered TIME-WAIT later.
	restarted bool
	since     int64 // Unix nanoseconds
}

func (t *timeWaitTable) add(id tcp.ID, rec timeWaitEntry) {
	if t.records == nil {
		t.records = make(map[timeWaitKey]timeWaitEntry)
	}
	k := keyOf(id)
	if _, ok := t.records[k]; !ok {
		t.push(k)
	}
	t.records[k] = rec
}

func (t *timeWaitTable) push(id timeWaitKey) {
	if t.head > 64 && t.head > len(t.order)/2 {
		n := copy(t.order, t.order[t.head:])
		clear(t.order[n:])
		t.order = t.order[:n]
		t.head = 0
	}
	t.order = append(t.order, id)
}

// settle drops deleted entries from the front of the queue and sends a
// restarted record at the front to the back, so that the front is the
// record that expires first. Each restart moves a record once.
func (t *timeWaitTable) settle() {
	for t.head < len(t.order) {
		id := t.order[t.head]
		e, ok := t.records[id]
		if ok && !e.restarted {
			return
		}
		t.order[t.head] = timeWaitKey{}
		t.head++
		if ok {
			e.restarted = false
			t.records[id] = e
			t.push(id)
		}
	}
	t.order, t.head = t.order[:0], 0
}

// next is when the oldest record expires; zero if there is none.
func (t *timeWaitTable) next() time.Time {
	t.settle()
	if t.head == len(t.order) {
		return time.Time{}
	}
	return t.records[t.order[t.head]].rec.Expires()
}

// expire removes every record whose 2*MSL has ended and calls gone for it.
func (t *timeWaitTable) expire(now time.Time, gone func(tcp.ID)) {
	for t.settle(); t.head < len(t.order); t.settle() {
		id := t.order[t.head]
		if t.records[id].rec.Expires().After(now) {
			return
		}
		t.order[t.head] = timeWaitKey{}
		t.head++
		delete(t.records, id)
		gone(id.id())
	}
}

func (t *timeWaitTable) len() int { return len(t.records) }

// shrinkTimeWait replaces c, in TIME-WAIT, by its record. It reports
// whether it did: not while the engine still holds data for the
// application.
func (s *Stack) shrinkTimeWait(c *Conn) bool {
	if c.engine.Readable() > 0 {
		return false
	}
	c.engine.Flush(s.now) // the ACK the burst owes goes first
	rec, ok := c.engine.TimeWaitRecord()
	if !ok {
		return false
	}
	st := c.engine.Status()
	entry := timeWaitEntry{rec: rec, iss: st.ISS, irs: st.IRS, since: c.stateSince.UnixNano()}
	for _, st := range c.loopStates {
		entry.states |= 1 << st
	}
	s.unregister(c)
	s.timeWait.add(c.ID(), entry)
	s.localPorts[c.ID().Local]++ // the 4-tuple stays in use until 2*MSL ends
	return true
}

// inputTimeWait is SEGMENT ARRIVES for a 4-tuple in TIME-WAIT: the
// record decides (tcp.TimeWaitRecord.Input, the engine's one TIME-WAIT,
// which a Conn in TIME-WAIT answers through too), within the stack's
// budget of answers (ratelimit.go), and the stack reports the decision as
// it reports a Conn's. It returns false when a new SYN ended TIME-WAIT and
// a listener should take it.
func (s *Stack) inputTimeWait(id tcp.ID, e timeWaitEntry, seg *tcp.Segment) bool {
	reply := &s.twReply
	expires := e.rec.Expires()
	action, why := e.rec.Input(s.now, s.configFor(id), s.hooks, seg, reply)
	switch action {
	case tcp.TimeWaitClosed, tcp.TimeWaitReopen:
		s.timeWait.remove(id)
		s.timeWaitGone(id, why)
		return action == tcp.TimeWaitClosed
	}
	// The record may have changed: 2*MSL restarted, its turn to answer
	// taken, TS.Recent moved.
	e.restarted = e.restarted || !e.rec.Expires().Equal(expires)
	s.timeWait.set(id, e)
	if action == tcp.TimeWaitReply || action == tcp.TimeWaitDrop && why != tcp.ReasonNone {
		s.counters.engineDrop(why)
		s.capture.noteEngineDrop(why)
		if s.events.active() {
			ev := segmentEvent(s.now, EventDrop, id, nil, tcp.TimeWait, seg, why)
			ev.ISN = e.isns()
			s.events.publish(ev)
		}
	}
	if action != tcp.TimeWaitDrop {
		if s.sendTCP(id.Local.Addr(), id.Remote.Addr(), reply, why) && s.events.active() {
			ev := segmentEvent(s.now, EventSegmentOut, id, nil, tcp.TimeWait, reply, why)
			ev.ISN = e.isns()
			s.events.publish(ev)
		}
	}
	return true
}

// timeWaitGone releases the 4-tuple of a record that ended.
func (s *Stack) timeWaitGone(id tcp.ID, why tcp.Reason) {
	if s.localPorts[id.Local]--; s.localPorts[id.Local] <= 0 {
		delete(s.localPorts, id.Local)
	}
	s.counters.stateChange(tcp.TimeWait, tcp.Closed)
	if s.events.active() {
		s.events.publish(Event{Time: s.now, Kind: EventStateChange, Conn: id, From: tcp.TimeWait, To: tcp.Closed, State: tcp.Closed, Reason: why})
	}
}

// info is a record's entry in a snapshot.
func (e *timeWaitEntry) info(id tcp.ID, now time.Time) ConnInfo {
	info := ConnInfo{Status: e.rec.Status(), Since: time.Unix(0, e.since), At: now}
	info.Status.ID, info.Status.ISS, info.Status.IRS = id, e.iss, e.irs
	for st := tcp.Closed; st <= tcp.TimeWait; st++ {
		if e.states&(1<<st) != 0 {
			info.States = append(info.States, st)
		}
	}
	return info
}

func (s *Stack) isTimeWait(id tcp.ID) bool {
	_, ok := s.timeWait.get(id)
	return ok
}

// isns are the record's ISNs, for events.
func (e *timeWaitEntry) isns() ISNs {
	return ISNs{Local: e.iss, Remote: e.irs, LocalKnown: true, RemoteKnown: true}
}
