package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// admissionListener listens on port 80 with an Admit hook that hands each
// request to the test.
func admissionListener(t *testing.T, s *running) (*Listener, <-chan *SYNRequest) {
	t.Helper()
	requests := make(chan *SYNRequest, 4)
	ln, err := s.ListenWith("tcp", ":80", ListenOptions{Admit: func(r *SYNRequest) { requests <- r }})
	if err != nil {
		t.Fatalf("ListenWith: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, requests
}

func nextRequest(t *testing.T, requests <-chan *SYNRequest) *SYNRequest {
	t.Helper()
	select {
	case r := <-requests:
		return r
	case <-time.After(testTimeout):
		t.Fatal("the Admit hook was not called")
		return nil
	}
}

// waitEvent returns the next event that match accepts, failing on any
// segment the stack sends before it.
func waitEvent(t *testing.T, events <-chan Event, match func(Event) bool) Event {
	t.Helper()
	timeout := time.After(testTimeout)
	for {
		select {
		case ev := <-events:
			if match(ev) {
				return ev
			}
			if ev.Kind == EventSegmentOut {
				t.Fatalf("the stack sent %v (%s %s) while the SYN was held", ev.Seg.Flags, ev.Reason, ev.Detail)
			}
		case <-timeout:
			t.Fatal("no such event")
		}
	}
}

// TestHeldSYNIsAnsweredOnlyOnAccept: nothing goes back to the peer while
// the hook decides, its retransmitted SYN is dropped, and Accept sends
// the SYN-ACK; the handshake then ends in the listener's Accept.
func TestHeldSYNIsAnsweredOnlyOnAccept(t *testing.T) {
	s, link := startScripted(t, Options{})
	events, cancel := s.Subscribe(100)
	defer cancel()
	ln, requests := admissionListener(t, s)
	peer := newScriptedPeer(t, link)
	peer.send(tcp.FlagSYN, "")
	r := nextRequest(t, requests)
	if want := (tcp.ID{Local: peer.stack, Remote: peer.addr}); r.ID() != want {
		t.Errorf("request for %v, want %v", r.ID(), want)
	}
	peer.seq = 1000
	peer.send(tcp.FlagSYN, "") // the peer's retransmission
	waitEvent(t, events, func(ev Event) bool { return ev.Kind == EventDrop && ev.Detail == dropSYNHeld })
	if n := s.Counters().Drops[dropSYNHeld]; n != 1 {
		t.Errorf("syn-held drops = %d, want 1", n)
	}

	r.Accept()
	r.Refuse("too late") // the first decision holds
	synAck := peer.expect(false)
	if synAck.Flags != tcp.FlagSYN|tcp.FlagACK || synAck.Ack != 1001 {
		t.Fatalf("got %v, want SYN-ACK ack=1001", &synAck)
	}
	peer.ack = synAck.Seq.Add(1)
	peer.send(tcp.FlagACK, "")
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if c.(*Conn).ID() != r.ID() {
		t.Errorf("accepted %v, want %v", c.(*Conn).ID(), r.ID())
	}
}

// TestRefusedSYNGetsRST: Refuse answers the SYN as a closed port does,
// with the refusal's reason in the event and the counters.
func TestRefusedSYNGetsRST(t *testing.T) {
	s, link := startScripted(t, Options{})
	events, cancel := s.Subscribe(100)
	defer cancel()
	_, requests := admissionListener(t, s)
	peer := newScriptedPeer(t, link)
	peer.send(tcp.FlagSYN, "")
	nextRequest(t, requests).Refuse("test:refused")
	rst := peer.expect(false)
	if rst.Flags != tcp.FlagRST|tcp.FlagACK || rst.Ack != 1001 || rst.Seq != 0 {
		t.Fatalf("got %v, want RST-ACK seq=0 ack=1001", &rst)
	}
	ev := waitEvent(t, events, func(ev Event) bool { return ev.Kind == EventSegmentOut })
	if ev.Detail != "test:refused" || !ev.Seg.Flags.Has(tcp.FlagRST) {
		t.Errorf("event %+v, want the RST with detail test:refused", ev)
	}
	if c := s.Counters(); c.RSTsByReason["test:refused"] != 1 || c.RSTsSent != 1 {
		t.Errorf("RSTs = %d %v, want 1 test:refused", c.RSTsSent, c.RSTsByReason)
	}
}

// TestDroppedSYNIsAskedAgain: Drop sends nothing, and the peer's next SYN
// is a new request.
func TestDroppedSYNIsAskedAgain(t *testing.T) {
	s, link := startScripted(t, Options{})
	events, cancel := s.Subscribe(100)
	defer cancel()
	_, requests := admissionListener(t, s)
	peer := newScriptedPeer(t, link)
	peer.send(tcp.FlagSYN, "")
	nextRequest(t, requests).Drop("test:silent")
	waitEvent(t, events, func(ev Event) bool { return ev.Kind == EventDrop && ev.Detail == "test:silent" })
	peer.seq = 1000
	peer.send(tcp.FlagSYN, "")
	nextRequest(t, requests).Accept()
	if synAck := peer.expect(false); synAck.Flags != tcp.FlagSYN|tcp.FlagACK {
		t.Fatalf("got %v, want SYN-ACK", &synAck)
	}
}

// TestAbandonedHandshakeIsTold: a connection accepted by the Admit hook
// whose peer resets it in SYN-RECEIVED is reported to Abandoned, once;
// one whose handshake ends is not.
func TestAbandonedHandshakeIsTold(t *testing.T) {
	s, link := startScripted(t, Options{})
	requests := make(chan *SYNRequest, 4)
	abandoned := make(chan tcp.ID, 4)
	ln, err := s.ListenWith("tcp", ":80", ListenOptions{
		Admit:     func(r *SYNRequest) { requests <- r },
		Abandoned: func(id tcp.ID) { abandoned <- id },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	quitter := newScriptedPeer(t, link)
	quitter.send(tcp.FlagSYN, "")
	r := nextRequest(t, requests)
	r.Accept()
	synAck := quitter.expect(false)
	quitter.seq = synAck.Ack
	quitter.send(tcp.FlagRST, "")
	select {
	case id := <-abandoned:
		if id != r.ID() {
			t.Errorf("abandoned %v, want %v", id, r.ID())
		}
	case <-time.After(testTimeout):
		t.Fatal("the reset handshake was not reported abandoned")
	}

	finisher := newScriptedPeer(t, link)
	finisher.addr = netip.AddrPortFrom(peerAddr4, 40001)
	finisher.send(tcp.FlagSYN, "")
	nextRequest(t, requests).Accept()
	finisher.ack = finisher.expect(false).Seq.Add(1)
	finisher.send(tcp.FlagACK, "")
	if _, err := ln.Accept(); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-abandoned:
		t.Errorf("%v reported abandoned, after its handshake ended", id)
	default:
	}
}
