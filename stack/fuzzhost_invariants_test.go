package stack

import (
	"bytes"
	"fmt"
	"maps"
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// check verifies the invariants after a step.
func (h *fuzzHost) check(what string) {
	s := h.s
	s.loopMu.Lock()
	defer s.loopMu.Unlock()
	h.checkEvents(what)
	ports := make(map[netip.AddrPort]int)
	halfOpen := make(map[*Listener]int)
	scheduled := 0
	for id, c := range s.conns {
		e := c.engine
		if c.ID() != id || c.removed {
			h.fail("after %s: the table holds %v under %v (removed %v)", what, c.ID(), id, c.removed)
		}
		if st := e.State(); st == tcp.Closed || (st == tcp.Listen && c.listener != nil) {
			h.fail("after %s: %v stays in the table in %s", what, id, st)
		}
		if err := e.CheckInvariants(); err != nil {
			h.fail("after %s: %v: %v", what, id, err)
		}
		if e.Held() {
			h.fail("after %s: %v holds output back at the end of the loop's turn: an InputBurst or SendMore without its Flush", what, id)
		}
		c.mu.Lock()
		for _, q := range []*byteQueue{&c.recv, &c.send} {
			if q.Len() > q.limit || len(q.buf) > q.limit {
				h.fail("after %s: %v: an application queue holds %d in %d of storage, limit %d", what, id, q.Len(), len(q.buf), q.limit)
			}
		}
		c.mu.Unlock()
		if dl := e.Deadline(); !dl.IsZero() && (c.timerSlot == notScheduled || c.timerAt.After(dl)) {
			h.fail("after %s: %v in %s has a deadline in %v that the wheel does not hold (slot %d at %v)",
				what, id, e.State(), dl.Sub(h.now), c.timerSlot, c.timerAt.Sub(h.now))
		}
		if c.timerSlot != notScheduled {
			scheduled++
		}
		ports[id.Local]++
		if c.listener != nil && !c.handedOff {
			halfOpen[c.listener]++
		}
	}
	if s.timers.count != scheduled {
		h.fail("after %s: the timer wheel holds %d connections, the table %d scheduled ones", what, s.timers.count, scheduled)
	}
	s.timeWait.each(func(id tcp.ID, _ *timeWaitEntry) {
		if _, ok := s.conns[id]; ok {
			h.fail("after %s: %v is both a connection and a TIME-WAIT record", what, id)
		}
		ports[id.Local]++
	})
	if !maps.Equal(ports, s.localPorts) {
		h.fail("after %s: ports in use %v, counted %v", what, s.localPorts, ports)
	}
	for _, l := range h.listeners {
		ln := l.ln
		if ln.halfOpen != halfOpen[ln] {
			h.fail("after %s: listener %v counts %d half-open connections, the table holds %d", what, ln.Addr(), ln.halfOpen, halfOpen[ln])
		}
		if q := ln.acceptQueueLen(); q > acceptQueueBound(ln) {
			h.fail("after %s: listener %v has %d connections waiting for Accept, bound %d", what, ln.Addr(), q, acceptQueueBound(ln))
		}
	}
}

// acceptQueueBound is how many connections may wait for Accept: the
// backlog, and the connections that were half-open when it filled
// (listen_queue.go).
func acceptQueueBound(ln *Listener) int { return ln.backlog + ln.synBacklog }

// checkEvents checks the state changes the events report: each is an
// edge of Figure 5 and starts where the connection was.
func (h *fuzzHost) checkEvents(what string) {
	for {
		var ev Event
		select {
		case ev = <-h.events:
		default:
			if lost := h.s.events.lost.Load(); lost > 0 {
				h.fail("%d events lost", lost)
			}
			return
		}
		if ev.Kind != EventStateChange {
			continue
		}
		if err := tcp.CheckTransition(ev.From, ev.To, ev.Reason); err != nil {
			h.fail("after %s: %v: %v", what, ev.Conn, err)
		}
		prev, known := h.states[ev.Conn]
		if ev.From == tcp.Closed && (ev.To == tcp.Listen || ev.To == tcp.SynSent) {
			// A new TCB; a connection discarded in LISTEN made way.
			if known && prev != tcp.Closed && prev != tcp.Listen {
				h.fail("after %s: a new connection for %v, whose connection is in %s", what, ev.Conn, prev)
			}
		} else if !known || prev != ev.From {
			h.fail("after %s: %v changes %s -> %s (%s), but it was in %s (known %v)", what, ev.Conn, ev.From, ev.To, ev.Reason, prev, known)
		}
		h.states[ev.Conn] = ev.To
	}
}

// drain closes every application and listener and lets three virtual
// hours pass with the peers silent: every connection must end, and the
// stack must hold nothing for any of them.
func (h *fuzzHost) drain() {
	h.flushBatch()
	for _, a := range h.apps {
		a.close()
	}
	for _, l := range h.listeners {
		l.ln.Close()
	}
	h.turn(h.s.serviceDirty)
	h.afterStep("closing everything")
	h.advance(3 * time.Hour)
	s := h.s
	s.loopMu.Lock()
	defer s.loopMu.Unlock()
	if len(s.conns) > 0 || s.timeWait.len() > 0 || len(s.localPorts) > 0 || s.timers.count > 0 {
		h.fail("three hours after closing everything the stack still holds %d connections, %d TIME-WAIT records, ports %v, %d timers: %s",
			len(s.conns), s.timeWait.len(), s.localPorts, s.timers.count, h.describeLocked())
	}
}

// describe lists the connections, for failure messages.
func (h *fuzzHost) describe() string {
	h.s.loopMu.Lock()
	defer h.s.loopMu.Unlock()
	return h.describeLocked()
}

func (h *fuzzHost) describeLocked() string {
	var b bytes.Buffer
	for id, c := range h.s.conns {
		st := c.engine.Status()
		fmt.Fprintf(&b, "\n  %v %s snd.una=%d snd.nxt=%d snd.wnd=%d rcv.nxt=%d sendq=%d recvq=%d deadline=%v",
			id, st.State, st.SndUna, st.SndNxt, st.SndWnd, st.RcvNxt, st.SendQueue, st.RecvQueue, c.engine.Deadline().Sub(h.now))
	}
	return b.String()
}
