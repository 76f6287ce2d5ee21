package tcp

import (
	"errors"
	"syscall"
	"testing"
	"time"
)

func TestSYNRetransmitBackoffAndGiveUp(t *testing.T) {
	h := synSent(t)
	want := DefaultInitialRTO
	total := time.Duration(0)
	for i := 0; i < DefaultSynRetries; i++ {
		got := h.nextTimer()
		if got != min(want, DefaultMaxRTO) {
			t.Fatalf("retransmission %d after %v, want %v", i+1, got, min(want, DefaultMaxRTO))
		}
		total += got
		h.expect(out(FlagSYN, localISS, 0))
		want *= 2
	}
	got := h.nextTimer()
	if got != min(want, DefaultMaxRTO) {
		t.Fatalf("give-up after %v, want %v", got, min(want, DefaultMaxRTO))
	}
	// RFC 9293 §3.8.3: R2 for a SYN MUST be at least 3 minutes.
	if total += got; total < 3*time.Minute {
		t.Fatalf("gave up after %v, under the 3 minutes RFC 9293 requires", total)
	}
	h.expectNothing()
	h.expectState(Closed)
	if !errors.Is(h.c.Err(), ErrTimedOut) || !errors.Is(h.c.Err(), syscall.ETIMEDOUT) {
		t.Fatalf("Err %v, want timed out", h.c.Err())
	}
}

func TestSynAckRetransmitBackoff(t *testing.T) {
	h := synReceived(t)
	want := DefaultInitialRTO
	for i := 0; i < DefaultSynAckRetries; i++ {
		if got := h.nextTimer(); got != want {
			t.Fatalf("SYN-ACK retransmission %d after %v, want %v", i+1, got, want)
		}
		h.expect(out(FlagSYN|FlagACK, localISS, remoteISS+1))
		want *= 2
	}
	h.nextTimer()
	h.expectState(Closed)
}

func TestLostSynAckThenEstablishedUsesThreeSecondRTO(t *testing.T) {
	// RFC 6298 §5.7.
	h := synReceived(t)
	h.nextTimer()
	h.out = nil
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	h.expectState(Established)
	h.write("x")
	if got := h.c.Deadline().Sub(h.now); got != 3*time.Second {
		t.Fatalf("RTO %v after a lost SYN-ACK, want 3s", got)
	}
}

// RFC 6298 §5.5 alone: with RACK-TLP on, a tail loss probe comes first
// (TestFINTailLossProbeAtRTOTime).
func TestFINRetransmitBackoff(t *testing.T) {
	cfg := testConfig()
	cfg.DisableRACKTLP = true
	h := finWait1With(t, cfg)
	rto := h.c.Deadline().Sub(h.now)
	for i := 0; i < 4; i++ {
		if got := h.nextTimer(); got != rto {
			t.Fatalf("FIN retransmission %d after %v, want %v", i+1, got, rto)
		}
		h.expect(out(FlagFIN|FlagACK, localISS+1, remoteISS+1))
		rto *= 2
	}
	h.send(seg(FlagACK, remoteISS+1, localISS+2))
	h.expectState(FinWait2)
	if !h.c.Deadline().IsZero() {
		t.Fatal("timer still running in FIN-WAIT-2 of a half-closed connection")
	}
}

func TestDataRetransmitGoBackAndGiveUp(t *testing.T) {
	cfg := testConfig()
	cfg.DisableRACKTLP = true // no probe before the first time-out
	cfg.DataRetries = 3
	cfg.MaxRTO = 4 * time.Second
	h := newHarness(t, cfg)
	h.c.OpenActive(h.now)
	h.send(seg(FlagSYN|FlagACK, remoteISS, localISS+1))
	h.out = nil
	h.write("abc")
	h.expect(out(FlagACK|FlagPSH, localISS+1, remoteISS+1, "abc"))
	var intervals []time.Duration
	for h.c.State() == Established {
		intervals = append(intervals, h.nextTimer())
	}
	if len(intervals) != 4 {
		t.Fatalf("%d time-outs before giving up, want R2+1 = 4: %v", len(intervals), intervals)
	}
	for i := 1; i < len(intervals); i++ {
		if intervals[i] != min(2*intervals[i-1], cfg.MaxRTO) {
			t.Fatalf("intervals %v: want doubling up to MaxRTO", intervals)
		}
	}
	if !errors.Is(h.c.Err(), ErrTimedOut) {
		t.Fatalf("Err %v", h.c.Err())
	}
	if len(h.out) != 3 {
		t.Fatalf("%d retransmissions, want 3", len(h.out))
	}
}

func TestRetransmissionAfterTimeoutResendsFromSndUna(t *testing.T) {
	h := established(t)
	h.write("0123456789")
	h.expect(out(FlagACK|FlagPSH, localISS+1, remoteISS+1, "0123456789"))
	h.send(seg(FlagACK, remoteISS+1, localISS+5)) // partial ACK
	h.nextTimer()
	h.expect(out(FlagACK|FlagPSH, localISS+5, remoteISS+1, "456789"))
	h.send(seg(FlagACK, remoteISS+1, localISS+11))
	if !h.c.Deadline().IsZero() {
		t.Fatal("timer runs with nothing outstanding")
	}
}

func TestRTTEstimator(t *testing.T) {
	e := newRTTEstimator(time.Second)
	e.sample(100*time.Millisecond, 200*time.Millisecond, time.Minute)
	if e.srtt != 100*time.Millisecond || e.rttvar != 50*time.Millisecond || e.rto != 300*time.Millisecond {
		t.Fatalf("first sample: %+v", e)
	}
	e.sample(200*time.Millisecond, 200*time.Millisecond, time.Minute)
	// RTTVAR = 3/4*50 + 1/4*100 = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5
	if e.srtt != 112500*time.Microsecond || e.rttvar != 62500*time.Microsecond {
		t.Fatalf("second sample: %+v", e)
	}
	if e.rto != 362500*time.Microsecond {
		t.Fatalf("rto %v", e.rto)
	}
	e.sample(time.Microsecond, 200*time.Millisecond, time.Minute)
	if e.rto < 200*time.Millisecond {
		t.Fatalf("rto %v below the minimum", e.rto)
	}
	if got := e.backedOff(10, 60*time.Second); got != 60*time.Second {
		t.Fatalf("backed-off rto %v, want the 60 s maximum", got)
	}
}

func TestKarnNoSampleFromRetransmission(t *testing.T) {
	h := established(t)
	srtt := h.c.rtt.srtt
	h.write("x")
	h.nextTimer() // retransmit
	h.advance(5 * time.Second)
	h.send(seg(FlagACK, remoteISS+1, localISS+2))
	if h.c.rtt.srtt != srtt {
		t.Fatalf("SRTT changed from %v to %v on the ACK of a retransmitted segment", srtt, h.c.rtt.srtt)
	}
}

func TestTwoMinuteMSLIsVirtual(t *testing.T) {
	cfg := testConfig()
	cfg.MSL = 2 * time.Minute
	start := time.Now()
	h := newHarness(t, cfg)
	h.c.OpenActive(h.now)
	h.send(seg(FlagSYN|FlagACK, remoteISS, localISS+1))
	h.c.CloseSend(h.now)
	h.send(seg(FlagFIN|FlagACK, remoteISS+1, localISS+2))
	h.expectState(TimeWait)
	h.advance(4*time.Minute - time.Nanosecond)
	h.expectState(TimeWait)
	h.advance(time.Nanosecond)
	h.expectState(Closed)
	if el := time.Since(start); el > time.Second {
		t.Fatalf("a 4-minute TIME-WAIT took %v of real time", el)
	}
}

func TestUserTimeout(t *testing.T) {
	// RFC 5482: the user timeout replaces the retry count.
	cfg := testConfig()
	cfg.UserTimeout = 10 * time.Second
	cfg.DataRetries = 1
	h := newHarness(t, cfg)
	h.c.OpenPassive(h.now)
	h.send(seg(FlagSYN, remoteISS, 0))
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	h.out = nil
	h.write("data")
	h.advance(10*time.Second - time.Millisecond)
	h.expectState(Established)
	if len(h.out) < 3 {
		t.Fatalf("only %d transmissions before the user timeout", len(h.out))
	}
	h.advance(time.Millisecond)
	h.expectState(Closed)
	if !errors.Is(h.c.Err(), ErrTimedOut) || h.states[len(h.states)-1].why != ReasonUserTimeout {
		t.Fatalf("Err %v, reason %v", h.c.Err(), h.states[len(h.states)-1].why)
	}
}

func TestUserTimeoutCountsFromOldestUnacked(t *testing.T) {
	cfg := testConfig()
	cfg.UserTimeout = 10 * time.Second
	h := newHarness(t, cfg)
	h.c.OpenPassive(h.now)
	h.send(seg(FlagSYN, remoteISS, 0))
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	h.write("a")
	h.advance(8 * time.Second)
	h.send(seg(FlagACK, remoteISS+1, localISS+2)) // acknowledged: the clock restarts
	h.write("b")
	h.advance(8 * time.Second)
	h.expectState(Established)
}

func TestKeepAlive(t *testing.T) {
	cfg := testConfig()
	cfg.KeepAliveIdle = 2 * time.Hour
	cfg.KeepAliveInterval = 75 * time.Second
	cfg.KeepAliveCount = 3
	h := newHarness(t, cfg)
	h.c.OpenPassive(h.now)
	h.send(seg(FlagSYN, remoteISS, 0))
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	h.out = nil
	if d := h.nextTimer(); d != 2*time.Hour {
		t.Fatalf("first probe after %v", d)
	}
	h.expect(out(FlagACK, localISS, remoteISS+1)) // SND.NXT-1
	h.send(seg(FlagACK, remoteISS+1, localISS+1)) // the peer answers
	if d := h.nextTimer(); d != 2*time.Hour {
		t.Fatalf("probe after an answer came %v later, want the full idle time", d)
	}
	h.out = nil
	for i := 0; i < 2; i++ {
		if d := h.nextTimer(); d != 75*time.Second {
			t.Fatalf("probe %d after %v", i+2, d)
		}
	}
	h.nextTimer()
	h.expectState(Closed)
	if !errors.Is(h.c.Err(), ErrTimedOut) {
		t.Fatalf("Err %v", h.c.Err())
	}
}

func TestKeepAliveOffByDefault(t *testing.T) {
	h := established(t)
	if !h.c.Deadline().IsZero() {
		t.Fatalf("a timer runs on an idle connection: %v", h.c.Deadline())
	}
}

// RFC 8985 §7.2: when the RTO would fire before the probe time-out (a lone
// FIN: PTO = 2*SRTT plus the delayed-ACK allowance), the probe goes at the
// RTO's time instead, and the RTO is armed again from then, not backed
// off; the time-outs that follow back off as usual.
func TestFINTailLossProbeAtRTOTime(t *testing.T) {
	h := finWait1(t)
	rto := h.c.Deadline().Sub(h.now)
	if got := h.nextTimer(); got != rto {
		t.Fatalf("probe after %v, want at the RTO's time %v", got, rto)
	}
	if len(h.out) != 1 || h.out[0].why != ReasonTailLossProbe || !h.out[0].Flags.Has(FlagFIN) {
		t.Fatalf("sent %s, want the FIN as a tail loss probe", fmtSent(h.out))
	}
	h.out = nil
	for i := 0; i < 3; i++ {
		if got := h.nextTimer(); got != rto {
			t.Fatalf("time-out %d after %v, want %v", i+1, got, rto)
		}
		if len(h.out) != 1 || h.out[0].why != ReasonRetransmitFIN {
			t.Fatalf("sent %s, want the FIN on a time-out", fmtSent(h.out))
		}
		h.out = nil
		rto *= 2
	}
}
