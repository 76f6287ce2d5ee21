package tcp

import "testing"

// A forged segment in the window with a later TSval and an ACK of data
// never sent is answered and dropped at the ACK check; TS.Recent must not
// take its TSval on the way (RFC 7323 §4.3: only a segment that passed
// the checks updates it; Linux's tcp_ack does so after its ACK checks).
// Otherwise the peer's next honest segments, with their true, smaller
// TSvals, would fail PAWS and the connection would stall.
func TestForgedSegmentDoesNotMoveTSRecent(t *testing.T) {
	h := establishedModern(t, nil)
	forged := seg(FlagACK, remoteISS+1, localISS+1+5000, "forged")
	forged.Options = Options{HasTimestamps: true, TSVal: h.peerTS + 1_000_000}
	h.send(forged)
	h.expect(out(FlagACK, localISS+1, remoteISS+1))
	if got := h.drops[len(h.drops)-1]; got != ReasonACKOfUnsent {
		t.Fatalf("forged segment dropped for %v, want %v", got, ReasonACKOfUnsent)
	}
	if ecr := h.peerTS; h.c.tsRecent != ecr {
		t.Fatalf("TS.Recent %d after the forged segment, want the last honest TSval %d", h.c.tsRecent, ecr)
	}

	h.send(h.ts(seg(FlagACK|FlagPSH, remoteISS+1, localISS+1, "honest")))
	if got := h.read(); got != "honest" {
		t.Fatalf("read %q after an honest segment, want %q (PAWS must not reject it)", got, "honest")
	}
	if h.c.tsRecent != h.peerTS {
		t.Fatalf("TS.Recent %d after an honest segment, want its TSval %d", h.c.tsRecent, h.peerTS)
	}
}
