package fault

import (
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// Inbound decides a segment from the client (upstream) for a port with
// faults, before the stack demultiplexes it. It may rewrite seg (the MSS
// option of a SYN).
func (t *Tracker) Inbound(now time.Time, rules *Rules, id tcp.ID, seg *tcp.Segment) (v Verdict) {
	faults := rules.For(id.Local.Port())
	if len(faults) == 0 {
		return v
	}
	syn := isBareSYN(seg)
	fresh := t.conns[id] == nil
	st := t.state(now, id, seg)
	defer func() {
		// A SYN refused or dropped makes no connection: nothing will
		// tell the tracker to forget it.
		if fresh && syn && (v.Refuse || v.Drop) {
			delete(t.conns, id)
		}
	}()
	if syn {
		st.scaleOffer = seg.Options.HasWindowScale
	}
	before := st.count(in, seg)
	data := len(seg.Payload) > 0
	handshook := st.handshook // before this segment
	if !syn && seg.Flags.Has(tcp.FlagACK) && st.synAckSent {
		st.handshook = true
	}
	for _, f := range faults {
		if !st.appliesTo(f, t.rng) {
			continue
		}
		up := f.Stream.has(true)
		switch f.Type {
		case Refuse:
			if syn {
				v.Refuse = true
				v.act(f)
				return v
			}
		case DropSYN:
			if syn && t.dropSYN(now, id, f.Attrs.Count) {
				v.Drop = true
				v.act(f)
				return v
			}
		case MSS:
			// Downstream: the client's MSS option bounds what we send.
			if syn && f.Stream.has(false) && (seg.Options.MSS == 0 || int(seg.Options.MSS) > f.Attrs.Size) {
				seg.Options.MSS = uint16(f.Attrs.Size)
				v.Changed = true
				v.act(f)
			}
		case Blackhole:
			if handshook && st.blackholed(now, f) {
				v.Drop = true
				v.act(f)
				return v
			}
		case Timeout:
			if up && data {
				v.Drop = true
				v.act(f)
			}
			t.scheduleTimeout(st, id, f)
		case ResetPeer:
			if f.Attrs.After > 0 {
				t.schedule(st, f, Action{At: st.opened.Add(f.Attrs.After), ID: id, Kind: ActReset, Reason: f.Reason()})
			} else if data {
				v.Drop = true
				v.act(f)
				t.kill(now, id, ActReset, f)
			}
		case RSTAfter:
			t.scheduleAfter(st, id, f, ActReset)
			if up && data && f.Attrs.Bytes > 0 && before+int64(len(seg.Payload)) > f.Attrs.Bytes {
				v.Drop = true
				v.act(f)
				t.kill(now, id, ActReset, f)
			}
		case LimitData:
			if up && data && before >= f.Attrs.Bytes {
				v.Drop = true
				v.act(f)
				t.kill(now, id, ActReset, f)
			}
		case Forget:
			if !syn && !st.dead && forgetNow(now, st, f, before, data) {
				st.dead = true
				v.Forget = true
				v.act(f)
			}
		case Loss:
			if up && t.chance(f.Attrs.Percent) {
				v.Drop = true
				v.act(f)
				return v
			}
		default:
			t.timing(now, st, f, in, up, seg, &v)
		}
		if v.Drop {
			return v
		}
	}
	return v
}

// Outbound decides a segment the stack sends to the client (downstream)
// on a port with faults. seg is the stack's copy: Outbound may rewrite it
// (window, MSS option, FIN).
func (t *Tracker) Outbound(now time.Time, rules *Rules, id tcp.ID, seg *tcp.Segment) (v Verdict) {
	faults := rules.For(id.Local.Port())
	if len(faults) == 0 {
		return v
	}
	st := t.state(now, id, seg)
	synAck := seg.Flags.Has(tcp.FlagSYN | tcp.FlagACK)
	if synAck {
		st.synAckSent = true
		if seg.Options.HasWindowScale && st.scaleOffer {
			st.shift = seg.Options.WindowScale
		}
	}
	before := st.count(out, seg)
	data := len(seg.Payload) > 0
	for _, f := range faults {
		if !st.appliesTo(f, t.rng) {
			continue
		}
		down := f.Stream.has(false)
		switch f.Type {
		case DelaySYNACK:
			if synAck {
				v.Delay += f.Attrs.Delay
				v.act(f)
			}
		case MSS:
			// Upstream: our MSS option bounds what the client sends.
			if synAck && f.Stream.has(true) && int(seg.Options.MSS) > f.Attrs.Size {
				seg.Options.MSS = uint16(f.Attrs.Size)
				v.Changed = true
				v.act(f)
			}
		case Blackhole:
			if st.handshook && st.blackholed(now, f) {
				v.Drop = true
				v.act(f)
			}
		case Timeout:
			if down && data {
				v.Drop = true
				v.act(f)
			}
			t.scheduleTimeout(st, id, f)
		case HangClose:
			if seg.Flags.Has(tcp.FlagFIN) {
				if !data {
					v.Drop = true
				} else {
					seg.Flags &^= tcp.FlagFIN
					v.Changed = true
				}
				v.act(f)
			}
		case SlowClose:
			if seg.Flags.Has(tcp.FlagFIN) {
				v.Delay += f.Attrs.Delay
				v.act(f)
			}
		case ZeroWindow:
			if !synAck && st.bytes[in] >= f.Attrs.Bytes && seg.Window != 0 && !seg.Flags.Has(tcp.FlagRST) {
				seg.Window = 0
				v.Changed = true
				v.act(f)
			}
		case SlowRead:
			if !synAck && !seg.Flags.Has(tcp.FlagRST) {
				w := max(uint16(min(f.Attrs.Size>>st.shift, 0xffff)), 1)
				if seg.Window > w {
					seg.Window = w
					v.Changed = true
					v.act(f)
				}
			}
		case RSTAfter:
			t.scheduleAfter(st, id, f, ActReset)
			if down && data && f.Attrs.Bytes > 0 && before+int64(len(seg.Payload)) > f.Attrs.Bytes {
				v.Drop = true
				v.act(f)
				t.kill(now, id, ActReset, f)
			}
		case LimitData:
			if !down || !data || before+int64(len(seg.Payload)) <= f.Attrs.Bytes {
				break
			}
			v.act(f)
			t.kill(now, id, ActReset, f)
			if before >= f.Attrs.Bytes {
				v.Drop = true
				break
			}
			// The segment that crosses the limit leaves cut at it.
			keep := int(f.Attrs.Bytes - before)
			v.Slices = []int{keep}
			st.passedEnd, st.passed = seg.Seq.Add(uint32(keep)), true
			return v
		case Slicer:
			if down && len(seg.Payload) > f.Attrs.Size {
				v.Slices = t.slices(len(seg.Payload), f.Attrs.Size, f.Attrs.Vary)
				v.Gap = f.Attrs.Delay
				v.act(f)
			}
		case Loss:
			if down && t.chance(f.Attrs.Percent) {
				v.Drop = true
				v.act(f)
			}
		default:
			t.timing(now, st, f, out, down, seg, &v)
		}
		if v.Drop {
			return v
		}
	}
	if end := seg.End(); !st.passed || end.GreaterThan(st.passedEnd) {
		st.passedEnd, st.passed = end, true
	}
	return v
}

// timing applies the faults that only hold or copy segments, the same
// way in both directions.
func (t *Tracker) timing(now time.Time, st *connState, f *Fault, dir int, on bool, seg *tcp.Segment, v *Verdict) {
	if !on {
		return
	}
	switch f.Type {
	case Latency:
		v.Delay = st.inOrder(now, dir, v.Delay+t.jittered(f.Attrs.Latency, f.Attrs.Jitter))
		v.act(f)
	case Bandwidth:
		v.Delay += st.pace(now.Add(v.Delay), dir, len(seg.Payload), f.Attrs.Rate)
		v.act(f)
	case Duplicate:
		if t.chance(f.Attrs.Percent) {
			v.Copies++
			v.act(f)
		}
	case Reorder:
		if t.chance(f.Attrs.Percent) {
			v.Delay += f.Attrs.Delay
			v.act(f)
		}
	}
}

// dropSYN counts the SYNs of one attempt (the client's address and port)
// and reports whether this one is among the first count.
func (t *Tracker) dropSYN(now time.Time, id tcp.ID, count int) bool {
	if t.synDrops == nil {
		t.synDrops = make(map[netip.AddrPort]synAttempt)
	}
	t.pruneSYNDrops(now)
	a := t.synDrops[id.Remote]
	a.last = now
	if a.dropped >= count {
		delete(t.synDrops, id.Remote) // the next attempt from this port starts over
		return false
	}
	a.dropped++
	t.synDrops[id.Remote] = a
	return true
}

// blackholed reports whether the cable is unplugged for the connection,
// once the handshake is over: from the fault's byte count (both ways
// together) or time on.
func (st *connState) blackholed(now time.Time, f *Fault) bool {
	return st.bytes[in]+st.bytes[out] >= f.Attrs.Bytes && !now.Before(st.opened.Add(f.Attrs.After))
}

// forgetNow: forget from the byte count or time on, by default at the
// client's first data.
func forgetNow(now time.Time, st *connState, f *Fault, before int64, data bool) bool {
	if f.Attrs.Bytes == 0 && f.Attrs.After == 0 {
		return data
	}
	return before+1 > f.Attrs.Bytes && !now.Before(st.opened.Add(f.Attrs.After))
}

func (t *Tracker) scheduleTimeout(st *connState, id tcp.ID, f *Fault) {
	if f.Attrs.After > 0 {
		t.schedule(st, f, Action{At: st.opened.Add(f.Attrs.After), ID: id, Kind: ActReset, Reason: f.Reason()})
	}
}

func (t *Tracker) scheduleAfter(st *connState, id tcp.ID, f *Fault, kind ActionKind) {
	if f.Attrs.After > 0 {
		t.schedule(st, f, Action{At: st.opened.Add(f.Attrs.After), ID: id, Kind: kind, Reason: f.Reason()})
	}
}

// slices cuts n bytes into pieces of size ± vary.
func (t *Tracker) slices(n, size, vary int) []int {
	var out []int
	for n > 0 {
		s := size
		if vary > 0 {
			s += t.rng.IntN(2*vary+1) - vary
		}
		s = max(1, min(s, n))
		out = append(out, s)
		n -= s
	}
	return out
}

// AcceptDelay says how long an established connection waits before the
// stack hands it to Accept (accept_hold); it asks once per connection.
// It queues the ActReleaseAccept action for then.
func (t *Tracker) AcceptDelay(now time.Time, rules *Rules, id tcp.ID) time.Duration {
	st := t.conns[id]
	if st == nil || st.acceptAsked {
		return 0
	}
	st.acceptAsked = true
	var d time.Duration
	var reason string
	for _, f := range rules.For(id.Local.Port()) {
		if f.Type == AcceptHold && st.appliesTo(f, t.rng) && f.Attrs.Delay > d {
			d, reason = f.Attrs.Delay, f.Reason()
		}
	}
	if d > 0 {
		t.actions = append(t.actions, Action{At: now.Add(d), ID: id, Kind: ActReleaseAccept, Reason: reason})
	}
	return d
}
