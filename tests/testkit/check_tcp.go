package testkit

import (
	"bytes"
	"testing"
)

// Transport is what TCP and UDP checkers see: a *Segment or a *Datagram.
type Transport interface {
	ports() (src, dst uint16)
}

func (s *Segment) ports() (uint16, uint16)  { return s.SrcPort, s.DstPort }
func (d *Datagram) ports() (uint16, uint16) { return d.SrcPort, d.DstPort }

// A TransportChecker checks one property of a TCP segment or UDP datagram
// and reports what it found with t.Errorf.
type TransportChecker func(testing.TB, Transport)

// TCP checks that the packet carries a whole TCP segment whose checksum
// verifies, and runs every checker on it.
func TCP(checkers ...TransportChecker) NetworkChecker {
	return func(t testing.TB, p *Packet) {
		t.Helper()
		if p.TCP == nil {
			t.Errorf("protocol %d (fragment %v), want a TCP segment", p.Protocol, p.IsFragment)
			return
		}
		if !p.ChecksumOK {
			t.Errorf("bad TCP checksum on %v", p.TCP)
		}
		for _, check := range checkers {
			check(t, p.TCP)
		}
	}
}

// UDP checks that the packet carries a UDP datagram whose checksum
// verifies, and runs every checker on it.
func UDP(checkers ...TransportChecker) NetworkChecker {
	return func(t testing.TB, p *Packet) {
		t.Helper()
		if p.UDP == nil {
			t.Errorf("protocol %d (fragment %v), want a UDP datagram", p.Protocol, p.IsFragment)
			return
		}
		if !p.ChecksumOK {
			t.Error("bad UDP checksum")
		}
		for _, check := range checkers {
			check(t, p.UDP)
		}
	}
}

// CheckTCP runs checkers on a segment a test holds in hand, for tests that
// see segments rather than packets (the engine's): they convert theirs to
// a Segment.
func CheckTCP(t testing.TB, s *Segment, checkers ...TransportChecker) {
	t.Helper()
	for _, check := range checkers {
		check(t, s)
	}
}

// SrcPort checks the source port.
func SrcPort(want uint16) TransportChecker {
	return func(t testing.TB, h Transport) {
		t.Helper()
		if got, _ := h.ports(); got != want {
			t.Errorf("source port %d, want %d", got, want)
		}
	}
}

// DstPort checks the destination port.
func DstPort(want uint16) TransportChecker {
	return func(t testing.TB, h Transport) {
		t.Helper()
		if _, got := h.ports(); got != want {
			t.Errorf("destination port %d, want %d", got, want)
		}
	}
}

// UDPPayload checks a UDP datagram's payload.
func UDPPayload(want []byte) TransportChecker {
	return func(t testing.TB, h Transport) {
		t.Helper()
		d, ok := h.(*Datagram)
		switch {
		case !ok:
			t.Errorf("%T, want a UDP datagram", h)
		case !bytes.Equal(d.Payload, want):
			t.Errorf("UDP payload %q, want %q", clip(d.Payload), clip(want))
		}
	}
}

// tcpCheck makes a TransportChecker that runs check on a TCP segment.
func tcpCheck(check func(t testing.TB, s *Segment)) TransportChecker {
	return func(t testing.TB, h Transport) {
		t.Helper()
		s, ok := h.(*Segment)
		if !ok {
			t.Errorf("%T, want a TCP segment", h)
			return
		}
		check(t, s)
	}
}

// TCPFlags checks that exactly the flags want are set.
func TCPFlags(want Flags) TransportChecker {
	return TCPFlagsMatch(want, 0xff)
}

// TCPFlagsMatch checks the flags under mask: those of want are set, the
// other bits of mask are clear, bits outside mask may be anything.
func TCPFlagsMatch(want, mask Flags) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		if s.Flags&mask != want&mask {
			t.Errorf("flags %v (under the mask %v), want %v: %v", s.Flags&mask, mask, want&mask, s)
		}
	})
}

// TCPSeqNum checks the sequence number.
func TCPSeqNum(want uint32) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		if s.Seq != want {
			t.Errorf("seq %d, want %d: %v", s.Seq, want, s)
		}
	})
}

// TCPAckNum checks that ACK is set and the acknowledgment number.
func TCPAckNum(want uint32) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		if s.Flags&ACK == 0 || s.Ack != want {
			t.Errorf("ack %d (flags %v), want ACK %d: %v", s.Ack, s.Flags, want, s)
		}
	})
}

// TCPWindow checks the window field, unscaled.
func TCPWindow(want uint16) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		if s.Window != want {
			t.Errorf("window %d, want %d: %v", s.Window, want, s)
		}
	})
}

// TCPUrgent checks the urgent pointer.
func TCPUrgent(want uint16) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		if s.Urgent != want {
			t.Errorf("urgent pointer %d, want %d: %v", s.Urgent, want, s)
		}
	})
}

// TCPPayload checks the payload, byte for byte.
func TCPPayload(want []byte) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		if !bytes.Equal(s.Payload, want) {
			t.Errorf("payload %q, want %q: %v", clip(s.Payload), clip(want), s)
		}
	})
}

// TCPPayloadLen checks the payload's length.
func TCPPayloadLen(want int) TransportChecker {
	return tcpCheck(func(t testing.TB, s *Segment) {
		t.Helper()
		if len(s.Payload) != want {
			t.Errorf("payload of %d bytes, want %d: %v", len(s.Payload), want, s)
		}
	})
}

// clip shortens a payload for a message.
func clip(b []byte) []byte { return b[:min(len(b), 40)] }
