package tcp

import (
	"testing"
	"time"
)

// The RTT is sampled to the clock's resolution from the send time of the
// segment an ACK covers, even with timestamps, whose echo counts whole
// milliseconds: a 300µs path reads as 300µs (it read as no time at all,
// and SRTT fell to its 1µs floor).
func TestRTTSampledBelowAMillisecond(t *testing.T) {
	h := establishedModern(t, nil)
	before := h.c.Status().SRTT // the handshake's, on a clock that did not move
	h.out = nil
	h.write("x")
	h.out = nil
	h.advance(300 * time.Microsecond)
	h.send(h.ts(seg(FlagACK, remoteISS+1, localISS+2)))
	if got, want := h.c.Status().SRTT, (7*before+300*time.Microsecond)/8; got != want {
		t.Fatalf("SRTT %v after a 300µs sample (from %v), want %v (RFC 6298 §2.3)", got, before, want)
	}
}

// A segment sent twice gives no sample of its own (Karn's rule, RFC 6298
// §3); the timestamp echo then times the ACK (RFC 7323 §4), under one
// tick counting as one, as Linux's tcp_rtt_tsopt_us does.
func TestRTTOfARetransmittedSegmentFromTheEcho(t *testing.T) {
	h := establishedModern(t, nil)
	before := h.c.Status().SRTT
	h.out = nil
	h.write("x")
	h.out = nil
	h.advance(h.c.Status().RTO) // the retransmission timer sends it again
	if len(h.out) == 0 {
		t.Fatal("nothing sent again at the RTO")
	}
	h.send(h.ts(seg(FlagACK, remoteISS+1, localISS+2)))
	if got, want := h.c.Status().SRTT, (7*before+time.Millisecond)/8; got != want {
		t.Fatalf("SRTT %v after an echo of this very tick (from %v), want %v: one tick (1ms) sampled", got, before, want)
	}
}
