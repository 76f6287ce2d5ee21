package ladder

import (
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// mergePeer puts the peer's own state changes into the rows built from the
// stack's events, replacing the inferred column.
//
// A change joins the row of the segment that caused it, as the stack's own
// state changes do: one the peer made on receiving a segment joins the
// last segment the stack sent it before the change with the flags that
// edge of Figure 5 needs (LISTEN → SYN-RECEIVED joins the SYN, FIN-WAIT-1
// → CLOSING the FIN); one the peer made on its own call joins the first
// segment from it after the change that the call sent (ESTABLISHED →
// FIN-WAIT-1 joins its FIN). Where no such row exists, or joining it would
// show the peer's changes out of order (two FINs crossing: the peer
// entered FIN-WAIT-1 and then CLOSING before the stack read its FIN), the
// change gets a row of its own at its time.
func (b *builder) mergePeer(p *PeerReport) {
	d := b.d
	rows := d.Rows
	at := func(i int) time.Time { return d.Start.Add(rows[i].At) }

	// A change goes at a key: (row, true) joins rows[row]; (row, false)
	// is a row of its own before rows[row]. Keys never go back.
	type key struct {
		row  int
		join bool
	}
	before := func(a, b key) bool { return a.row < b.row || a.row == b.row && !a.join && b.join }
	keys := make([]key, len(p.Changes))
	floor := key{row: -1, join: true}
	for k, c := range p.Changes {
		own := key{row: len(rows)}
		for i := range rows {
			if at(i).After(c.Time) {
				own.row = i
				break
			}
		}
		place := own
		if j := b.causeRow(p, k, floor.row); j >= 0 {
			place = key{row: j, join: true}
		}
		if before(place, floor) {
			place = own
		}
		if before(place, floor) {
			place = floor
		}
		keys[k], floor = place, place
	}

	peerState := func(st tcp.State) SideState { return SideState{State: st, Known: true} }
	state := p.initial()
	var merged []Row
	stackState := b.stackInitial
	k := 0
	for i := 0; i <= len(rows); i++ {
		for ; k < len(keys) && keys[k] == (key{row: i}); k++ {
			c := p.Changes[k]
			state = c.To
			r := Row{Kind: RowPeer, At: c.Time.Sub(d.Start)}
			b.notePeer(&r, p, c)
			r.Client, r.Server = b.columns(stackState, peerState(state))
			merged = append(merged, r)
		}
		if i == len(rows) {
			break
		}
		r := rows[i]
		for ; k < len(keys) && keys[k] == (key{row: i, join: true}); k++ {
			state = p.Changes[k].To
			b.notePeer(&r, p, p.Changes[k])
		}
		stackState = r.Server
		if b.stackIsClient {
			stackState = r.Client
		}
		r.Client, r.Server = b.columns(stackState, peerState(state))
		merged = append(merged, r)
	}
	d.Rows = merged
	d.Client.Initial, d.Server.Initial = b.columns(b.stackInitial, peerState(p.initial()))
	if b.stackIsClient {
		d.Server.Report = p
	} else {
		d.Client.Report = p
	}
}

// causeRow finds the row of the segment behind change k of the peer, not
// before row floor; -1 if there is none.
func (b *builder) causeRow(p *PeerReport, k, floor int) int {
	c := p.Changes[k]
	rows := b.d.Rows
	at := func(i int) time.Time { return b.d.Start.Add(rows[i].At) }
	cause, sends, own := peerEdge(c.From, c.To)
	if c.To == tcp.Closed && c.From != tcp.LastAck && c.From != tcp.TimeWait {
		// A RST the stack sent before, or else the peer's abort.
		cause, sends, own = tcp.FlagRST, 0, false
		if b.segmentRow(floor, c.Time, false, tcp.FlagRST) < 0 {
			cause, sends, own = 0, tcp.FlagRST, true
		}
	}
	switch {
	case !own && cause != 0:
		return b.causeSegment(floor, c, cause)
	case own && sends != 0:
		// The first segment from the peer with what the call sent, unless
		// the peer changed state again before it arrived.
		for i := max(floor, 0); i < len(rows); i++ {
			r := &rows[i]
			if at(i).Before(c.Time) || r.Kind != RowSegment || !r.inbound || !carries(r.seg.Flags, sends) {
				continue
			}
			if k+1 < len(p.Changes) && p.Changes[k+1].Time.Before(at(i)) {
				return -1
			}
			return i
		}
	}
	return -1
}

// causeSegment is the first row from floor on of a segment the stack sent
// before change c that reached the peer and can have moved it along c's
// edge: it carries cause, and an edge taken on the ACK of the peer's SYN
// or FIN needs a segment that acknowledges it. -1 if none.
func (b *builder) causeSegment(floor int, c PeerChange, cause tcp.Flags) int {
	rows := b.d.Rows
	var acks tcp.Seq
	needAck := false
	if cause == tcp.FlagACK {
		// What the ACK must cover: the peer's FIN once it has sent one,
		// else its SYN.
		for i := range rows {
			r := &rows[i]
			if r.Kind != RowSegment || !r.inbound {
				continue
			}
			f := r.seg.Flags
			if f.Has(tcp.FlagFIN) && c.From != tcp.SynReceived {
				acks, needAck = r.seg.Seq.Add(uint32(r.seg.Len)+1), true
				break
			}
			if f.Has(tcp.FlagSYN) && !needAck {
				acks, needAck = r.seg.Seq.Add(1), true
			}
		}
	}
	for i := max(floor, 0); i < len(rows); i++ {
		r := &rows[i]
		if b.d.Start.Add(r.At).After(c.Time) {
			break
		}
		if r.Kind != RowSegment || r.inbound || r.Dropped || !carries(r.seg.Flags, cause) {
			continue
		}
		if needAck && !r.seg.Ack.GreaterThanEq(acks) {
			continue
		}
		return i
	}
	return -1
}

// segmentRow is the last row from floor on of a segment the stack sent
// (inbound false) at or before t that carries flags and reached the peer;
// -1 if none.
func (b *builder) segmentRow(floor int, t time.Time, inbound bool, flags tcp.Flags) int {
	rows := b.d.Rows
	found := -1
	for i := max(floor, 0); i < len(rows); i++ {
		r := &rows[i]
		if b.d.Start.Add(r.At).After(t) {
			break
		}
		if r.Kind == RowSegment && r.inbound == inbound && !r.Dropped && carries(r.seg.Flags, flags) {
			found = i
		}
	}
	return found
}

// carries reports whether a segment's flags make it the cause an edge
// needs: all of cause's flags, and for a SYN the same ACK bit, so that a
// SYN-ACK does not pass for a SYN.
func carries(flags, cause tcp.Flags) bool {
	if flags&cause != cause {
		return false
	}
	return !cause.Has(tcp.FlagSYN) || flags&tcp.FlagACK == cause&tcp.FlagACK
}

// notePeer says why the peer changed state: the edge, and the rule RFC
// 9293 gives for it.
func (b *builder) notePeer(r *Row, p *PeerReport, c PeerChange) {
	reset := c.To == tcp.Closed && b.segmentRow(0, c.Time, false, tcp.FlagRST) >= 0
	text := p.Name + ": " + c.From.String() + " → " + c.To.String()
	if why := Cite(edgeReason(c.From, c.To, reset)); why != "" {
		text += ": " + why
	}
	r.Notes = append(r.Notes, text)
	if c.Note != "" {
		r.Notes = append(r.Notes, "  "+c.Note)
	}
	r.plain = false
}
