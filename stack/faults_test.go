package stack

import (
	"strings"
	"testing"

	"github.com/tunstack/tunstack/stack/fault"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

func addFault(t *testing.T, s *running, typ fault.Type, attrs map[string]string) {
	t.Helper()
	f, err := fault.New("", typ, 80, fault.Downstream, 1, attrs)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Faults().Add(f, false); err != nil {
		t.Fatal(err)
	}
}

// TestFaultReasonsReachTraceCaptureAndCounters: a RST that a fault makes
// up carries "fault:refuse" in the event, the capture's comment and the
// counters, and removing the fault brings the listener back.
func TestFaultReasonsReachTraceCaptureAndCounters(t *testing.T) {
	rec := &recorder{}
	s, link := startScripted(t, Options{Capture: rec})
	events, cancel := s.Subscribe(100)
	defer cancel()
	if _, err := s.Listen("tcp", ":80"); err != nil {
		t.Fatal(err)
	}
	addFault(t, s, fault.Refuse, nil)
	peer := newScriptedPeer(t, link)
	peer.send(tcp.FlagSYN, "")
	if rst := peer.expect(false); rst.Flags != tcp.FlagRST|tcp.FlagACK || rst.Ack != 1001 {
		t.Fatalf("got %v, want RST-ACK ack=1001", &rst)
	}
	ev := waitEvent(t, events, func(ev Event) bool { return ev.Kind == EventSegmentOut })
	if ev.Detail != "fault:refuse" {
		t.Errorf("event %+v, want detail fault:refuse", ev)
	}
	c := s.Counters()
	if c.Faults["fault:refuse"] != 1 || c.RSTsByReason["fault:refuse"] != 1 || c.Drops["fault:refuse"] != 1 {
		t.Errorf("counters: faults %v, RSTs %v, drops %v", c.Faults, c.RSTsByReason, c.Drops)
	}
	var comments []string
	testkit.Eventually(t, "the RST in the capture", func() bool {
		comments = nil
		for _, p := range rec.packets() {
			comments = append(comments, p.Comment())
		}
		return len(comments) >= 2
	})
	if comments[0] != "drop: fault:refuse" || comments[1] != "sent: fault:refuse" {
		t.Errorf("capture comments %q, want the SYN dropped and the RST sent for fault:refuse", comments)
	}

	s.Faults().Clear()
	peer.seq = 1000
	peer.send(tcp.FlagSYN, "")
	if synAck := peer.expect(false); synAck.Flags != tcp.FlagSYN|tcp.FlagACK {
		t.Fatalf("after the fault: got %v, want SYN-ACK", &synAck)
	}
}

// TestFaultForgetsAndResets: forget drops the connection without a word,
// so the peer's data meets the listener's RST; the application reads a
// reset.
func TestFaultForgetsAndResets(t *testing.T) {
	s, peer, _, c := acceptedScripted(t)
	addFault(t, s, fault.Forget, nil)
	peer.send(tcp.FlagACK|tcp.FlagPSH, "hello")
	rst := peer.expect(true)
	if !rst.Flags.Has(tcp.FlagRST) || rst.Seq != peer.ack {
		t.Fatalf("got %v, want a RST at seq %d", &rst, peer.ack)
	}
	if _, err := c.Read(make([]byte, 10)); err == nil || !strings.Contains(err.Error(), "reset") {
		t.Errorf("Read after forget: %v, want a reset", err)
	}
	if n := s.Counters().RSTsByReason[tcp.ReasonListenACKReset.Code()]; n != 1 {
		t.Errorf("listen-ack-reset RSTs = %d, want 1 (the listener's answer to the forgotten connection)", n)
	}
}

// TestFaultHoldsSegments: latency holds the SYN-ACK and releases it
// whole, with the fault's reason in the capture.
func TestFaultHoldsSegments(t *testing.T) {
	rec := &recorder{}
	s, link := startScripted(t, Options{Capture: rec})
	if _, err := s.Listen("tcp", ":80"); err != nil {
		t.Fatal(err)
	}
	addFault(t, s, fault.Latency, map[string]string{"latency": "30ms"})
	peer := newScriptedPeer(t, link)
	peer.send(tcp.FlagSYN, "")
	if synAck := peer.expect(false); synAck.Flags != tcp.FlagSYN|tcp.FlagACK || synAck.Ack != 1001 {
		t.Fatalf("got %v, want the SYN-ACK", &synAck)
	}
	testkit.Eventually(t, "the held SYN-ACK in the capture", func() bool {
		for _, p := range rec.packets() {
			if p.Outbound && p.Comment() == "sent: "+describeReason(tcp.ReasonListenSYN)+" (fault:latency)" {
				return true
			}
		}
		return false
	})
}
