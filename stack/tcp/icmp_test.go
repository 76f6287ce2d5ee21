package tcp

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

func TestPortUnreachableRefusesHandshake(t *testing.T) {
	h := synSent(t)
	h.c.ICMP(h.now, ICMPError{Kind: ICMPPortUnreachable, Seq: localISS})
	h.expectState(Closed)
	if !errors.Is(h.c.Err(), syscall.ECONNREFUSED) {
		t.Fatalf("Err %v", h.c.Err())
	}
}

func TestSoftErrorReportedOnTimeout(t *testing.T) {
	h := synSent(t)
	h.c.ICMP(h.now, ICMPError{Kind: ICMPHostUnreachable, Seq: localISS})
	h.expectState(SynSent) // soft: keep trying
	for h.c.State() == SynSent {
		h.nextTimer()
	}
	if !errors.Is(h.c.Err(), syscall.EHOSTUNREACH) {
		t.Fatalf("Err %v, want the soft error EHOSTUNREACH", h.c.Err())
	}
}

func TestICMPOutsideFlightIgnored(t *testing.T) {
	// RFC 5927 §4.1: a blind attacker cannot guess SND.UNA..SND.NXT.
	h := synSent(t)
	h.c.ICMP(h.now, ICMPError{Kind: ICMPPortUnreachable, Seq: localISS + 5000})
	h.expectState(SynSent)
	h2 := established(t)
	h2.c.ICMP(h2.now, ICMPError{Kind: ICMPPortUnreachable, Seq: localISS + 1})
	h2.expectState(Established) // RFC 5461: soft in synchronized states
}

func TestPacketTooBigLowersMSSAndResends(t *testing.T) {
	h := established(t)
	h.write(strings.Repeat("m", 3000))
	if len(h.out) != 3 || len(h.out[0].Payload) != 1000 {
		t.Fatalf("sent %s", fmtSent(h.out))
	}
	h.out = nil
	h.c.ICMP(h.now, ICMPError{Kind: ICMPPacketTooBig, Seq: localISS + 1, MTU: 640})
	if got := h.c.Status().MSS; got != 600 {
		t.Fatalf("MSS %d after a 640-byte MTU, want 600", got)
	}
	for _, s := range h.out {
		if len(s.Payload) > 600 {
			t.Fatalf("resent a %d-byte segment over the new MSS", len(s.Payload))
		}
	}
	if len(h.out) == 0 || h.out[0].Seq != localISS+1 {
		t.Fatalf("did not resend from SND.UNA: %s", fmtSent(h.out))
	}
	// A forged tiny MTU cannot push the MSS under the floor.
	h.c.ICMP(h.now, ICMPError{Kind: ICMPPacketTooBig, Seq: localISS + 1, MTU: 68})
	if got := h.c.Status().MSS; got != 536 {
		t.Fatalf("MSS %d after a 68-byte MTU, want the 536 floor", got)
	}
}
