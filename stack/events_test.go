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
