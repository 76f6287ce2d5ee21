package tcp

import (
	"strings"
	"testing"
	"time"
)

func TestFigure5HasEveryArrowOfTheFigure(t *testing.T) {
	// The arrows of RFC 9293 Figure 5, read off the figure.
	arrows := [][2]State{
		{Closed, Listen}, {Closed, SynSent}, {Listen, Closed}, {Listen, SynReceived}, {Listen, SynSent},
		{SynSent, Closed}, {SynSent, SynReceived}, {SynSent, Established}, {SynReceived, Listen},
		{SynReceived, Established}, {SynReceived, FinWait1}, {Established, FinWait1}, {Established, CloseWait},
		{FinWait1, FinWait2}, {FinWait1, Closing}, {FinWait2, TimeWait}, {Closing, TimeWait},
		{CloseWait, LastAck}, {LastAck, Closed}, {TimeWait, Closed},
	}
	for _, a := range arrows {
		if !LegalEdge(a[0], a[1]) {
			t.Errorf("%s -> %s is missing", a[0], a[1])
		}
	}
}

func TestFigure5RefusesWhatTheRFCDoesNotSay(t *testing.T) {
	for _, tt := range []struct {
		from, to State
		why      Reason
		want     string
	}{
		{Established, Listen, ReasonRSTReset, "not an edge"},
		{Closed, SynReceived, ReasonListenSYN, "not an edge"},
		{TimeWait, Established, ReasonTimeWaitReopen, "not an edge"},
		{FinWait2, FinWait1, ReasonUserClose, "not an edge"},
		{CloseWait, TimeWait, ReasonFinInFinWait2, "not an edge"},
		{Established, Closed, ReasonLastAckDone, "not for reason"},
		{Listen, SynReceived, ReasonSynSentSimultaneous, "not for reason"},
		{FinWait2, Closed, ReasonKeepAliveTimeout, "not for reason"},
	} {
		err := CheckTransition(tt.from, tt.to, tt.why)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckTransition(%s, %s, %s) = %v, want an error saying %q", tt.from, tt.to, tt.why, err, tt.want)
		}
	}
	for _, e := range Figure5() {
		if len(e.Reasons) == 0 || e.Event == "" || e.Rule == "" {
			t.Errorf("%s -> %s: every edge needs an event, a rule and a reason: %+v", e.From, e.To, e)
		}
		for _, r := range e.Reasons {
			if err := CheckTransition(e.From, e.To, r); err != nil {
				t.Errorf("the table refuses its own edge: %v", err)
			}
		}
	}
}

func TestFigure5IsACopy(t *testing.T) {
	edges := Figure5()
	edges[0].To = TimeWait
	edges[0].Reasons[0] = ReasonNone
	if err := CheckTransition(Closed, Listen, ReasonUserOpenPassive); err != nil {
		t.Fatalf("changing Figure5's result changed the table: %v", err)
	}
}

func TestCheckInvariantsCatchesABrokenTCB(t *testing.T) {
	for _, tt := range []struct {
		name    string
		breakIt func(h *harness)
		want    string
	}{
		{"SND.UNA beyond SND.NXT", func(h *harness) { h.c.snd.una = h.c.snd.nxt + 1 }, "SND.UNA"},
		{"SND.NXT beyond what was sent", func(h *harness) { h.c.snd.nxt = h.c.snd.max + 1 }, "highest sent"},
		{"send buffer over its limit", func(h *harness) { h.c.snd.buf.limit = 3 }, "send buffer holds"},
		{"receive buffer over its limit", func(h *harness) {
			h.send(seg(FlagACK|FlagPSH, remoteISS+1, localISS+1, "some data"))
			h.c.rcv.buf.limit = 2
		}, "receive buffer holds"},
		{"out-of-order data past the window", func(h *harness) {
			h.send(seg(FlagACK, remoteISS+100, localISS+1, "abcd"))
			h.c.rcv.buf.ooo[0].seq = h.c.rcv.edge - 2
		}, "past the window"},
		{"out-of-order data below RCV.NXT", func(h *harness) {
			h.send(seg(FlagACK, remoteISS+100, localISS+1, "abcd"))
			h.c.rcv.buf.ooo[0].seq = h.c.rcv.nxt
		}, "not above RCV.NXT"},
		{"a timer in CLOSED", func(h *harness) {
			h.c.state = Closed
			h.c.timers.set(timerRetransmit, h.now.Add(time.Second))
		}, "CLOSED"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := established(t)
			h.write("queued")
			if err := h.c.CheckInvariants(); err != nil {
				t.Fatalf("before the break: %v", err)
			}
			tt.breakIt(h)
			err := h.c.CheckInvariants()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckInvariants = %v, want an error about %q", err, tt.want)
			}
		})
	}
}
