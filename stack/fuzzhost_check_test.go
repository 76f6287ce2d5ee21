package stack

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

func TestFuzzHostEchoesAndDrains(t *testing.T) {
	h := newFuzzHost(t)
	for _, f := range h.flows[:2] {
		before := f.stackNxt
		h.sendSegment(f, tcp.FlagACK|tcp.FlagPSH, f.peerSeq, f.stackNxt, 65535, h.tsOptions(f), []byte("hello"))
		if got := f.stackNxt - before; got != 5 {
			t.Errorf("%v: the stack sent %d octets after the peer's 5, want the echo", f.id, got)
		}
	}
	h.dial(h.flows[0].id.Remote)
	if st := h.states[h.flows[len(h.flows)-1].id]; len(h.flows) != 21 || st != tcp.SynSent {
		t.Fatalf("after a dial: %d flows, the new one in %s; want 21, SYN-SENT", len(h.flows), st)
	}
	h.drain()
}

// TestFuzzHostChecksCanFail breaks each thing the fuzz host checks and
// sees the check fail.
func TestFuzzHostChecksCanFail(t *testing.T) {
	for _, tt := range []struct {
		name    string
		breakIt func(h *fuzzHost)
		want    string
	}{
		{"a state change off Figure 5", func(h *fuzzHost) {
			h.s.events.publish(Event{Kind: EventStateChange, Conn: h.flows[0].id, From: tcp.Established, To: tcp.Listen, Reason: tcp.ReasonRSTReset})
		}, "not an edge"},
		{"a state change from the wrong state", func(h *fuzzHost) {
			h.s.events.publish(Event{Kind: EventStateChange, Conn: h.flows[0].id, From: tcp.CloseWait, To: tcp.LastAck, Reason: tcp.ReasonUserClose})
		}, "but it was in ESTABLISHED"},
		{"an engine's invariant", func(h *fuzzHost) {
			// The send buffer emptied behind the TCB's back: what is
			// in flight is no longer there to retransmit.
			c := h.s.conns[h.flows[0].id]
			c.engine.Send(h.now, []byte("in flight"))
			c.engine.ReleaseBuffers()
		}, "SND.UNA"},
		{"output held back", func(h *fuzzHost) {
			c := h.s.conns[h.flows[0].id]
			c.engine.SendMore(h.now, []byte("held")) // and no Flush
		}, "holds output back"},
		{"an application queue over its bound", func(h *fuzzHost) {
			c := h.s.conns[h.flows[1].id]
			c.recv.limit = 0
			c.recv.size = 1
		}, "application queue"},
		{"a deadline the wheel does not hold", func(h *fuzzHost) {
			h.s.timers.schedule(h.s.conns[h.flows[0].id], time.Time{})
		}, "the wheel does not hold"},
		{"a port counted twice", func(h *fuzzHost) {
			h.s.localPorts[h.flows[0].id.Local]++
		}, "ports in use"},
		{"a half-open count", func(h *fuzzHost) {
			h.listeners[0].ln.halfOpen++
		}, "half-open"},
		{"a connection left behind", func(h *fuzzHost) {
			// Its application never closes it, and without keep-alives
			// an idle connection never ends.
			h.apps = slices.DeleteFunc(h.apps, func(a *fuzzApp) bool { return a.c.ID() == h.flows[0].id })
			h.s.cfg4.KeepAliveIdle = 0
		}, "still holds 1 connections"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newFuzzHost(t)
			h.panicOnFail = true
			tt.breakIt(h)
			var got string
			func() {
				defer func() {
					if r := recover(); r != nil {
						f, ok := r.(hostFailure)
						if !ok {
							panic(r)
						}
						got = string(f)
					}
				}()
				if strings.Contains(tt.name, "left behind") {
					h.drain()
				} else {
					h.check("the break")
				}
			}()
			if !strings.Contains(got, tt.want) {
				t.Fatalf("check said %q, want a failure about %q", got, tt.want)
			}
		})
	}
}
