package stack

import (
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

func TestEventsFollowAConnection(t *testing.T) {
	client, srv := startPair(t)
	events, cancel := srv.Subscribe(1000)
	defer cancel()
	go ServeDiscard(listen(t, srv, ":80"))
	c := dial(t, client, "10.77.0.2:80")
	c.Close()

	serverID := tcp.ID{Local: c.ID().Remote, Remote: c.ID().Local}
	var ins, outs int
	var states []tcp.State
	timeout := time.After(testTimeout)
	for closed := false; !closed; {
		var ev Event
		select {
		case ev = <-events:
		case <-timeout:
			t.Fatalf("no CLOSED event; state changes so far %v", states)
		}
		if ev.Conn != serverID {
			continue
		}
		switch ev.Kind {
		case EventSegmentIn:
			ins++
		case EventSegmentOut:
			outs++
		case EventStateChange:
			states = append(states, ev.To)
			closed = ev.To == tcp.Closed
		}
	}
	// SYN, ACK, FIN in; SYN-ACK, ACK of the FIN (or FIN-ACK) and FIN out.
	if ins < 3 || outs < 2 {
		t.Errorf("%d segments in and %d out, want at least 3 and 2", ins, outs)
	}
	want := []tcp.State{tcp.Listen, tcp.SynReceived, tcp.Established, tcp.CloseWait, tcp.LastAck, tcp.Closed}
	if len(states) != len(want) {
		t.Fatalf("state changes %v, want %v", states, want)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Fatalf("state changes %v, want %v", states, want)
		}
	}
}

func TestSlowSubscriberLosesEvents(t *testing.T) {
	s, peer := startScripted(t, Options{})
	events, cancel := s.Subscribe(0) // nobody reads: every event is lost
	defer cancel()
	peer.send([]byte{0x45}) // dropped: one event
	ping(t, peer)
	if lost := s.Counters().EventsLost; lost == 0 {
		t.Errorf("EventsLost = 0, want the drop event counted")
	}
	cancel()
	if _, ok := <-events; ok {
		t.Error("channel still open after cancel")
	}
}

func TestSubscribeKinds(t *testing.T) {
	// A subscriber of state changes alone gets nothing else, and the
	// stack builds no segment event for it.
	client, srv := startPair(t)
	states, cancel := srv.SubscribeKinds(1000, EventStateChange)
	defer cancel()
	if srv.events.wants(EventSegmentIn) || srv.events.wants(EventSegmentOut) || !srv.events.wants(EventStateChange) {
		t.Fatal("wants: segment events wanted, or state changes not")
	}
	all, cancelAll := srv.Subscribe(1000)
	if !srv.events.wants(EventSegmentIn) || !srv.events.wants(EventDrop) {
		t.Fatal("a subscriber of every kind does not make every kind wanted")
	}
	cancelAll()
	for range all {
	}
	if srv.events.wants(EventSegmentIn) {
		t.Fatal("segment events still wanted after their subscriber left")
	}
	go ServeDiscard(listen(t, srv, ":80"))
	c := dial(t, client, "10.77.0.2:80")
	c.Close()
	timeout := time.After(testTimeout)
	for {
		select {
		case ev := <-states:
			if ev.Kind != EventStateChange {
				t.Fatalf("got a %v event, want state changes only", ev.Kind)
			}
			if ev.To == tcp.Closed {
				return
			}
		case <-timeout:
			t.Fatal("no state change to CLOSED")
		}
	}
}
