package tcp

import (
	"slices"
	"testing"
	"time"
)

// rationedKinds are the unacceptable segments whose answering ACK is
// rate-limited per connection (RFC 5961 §7), each with the harness that
// meets it and what it answers with.
var rationedKinds = []struct {
	name  string
	setup func(*testing.T) *harness
	seg   func(h *harness) Segment
	why   Reason
}{
	{"pure ACK left of the window", established, func(h *harness) Segment { return seg(FlagACK, remoteISS-100, localISS+1) }, ReasonUnacceptable},
	{"data right of the window", established, func(h *harness) Segment {
		return seg(FlagACK, h.c.rcv.edge+10, localISS+1, "forged")
	}, ReasonUnacceptable},
	{"data far below RCV.NXT", established, func(h *harness) Segment {
		return seg(FlagACK, remoteISS+3<<30, localISS+1, "forged")
	}, ReasonUnacceptable},
	{"SYN outside the window", established, func(h *harness) Segment { return seg(FlagSYN, remoteISS+1<<30, 0) }, ReasonUnacceptable},
	{"SYN in the window", established, func(h *harness) Segment { return seg(FlagSYN, remoteISS+100, 0) }, ReasonSYNChallenge},
	{"RST in the window", established, func(h *harness) Segment { return seg(FlagRST, remoteISS+100, 0) }, ReasonRSTInWindowChallenge},
	{"ACK of unsent data", established, func(h *harness) Segment { return seg(FlagACK, remoteISS+1, localISS+1000, "x") }, ReasonACKOfUnsent},
	{"ACK too old", established, func(h *harness) Segment { return seg(FlagACK, remoteISS+1, localISS+0xfff00000, "x") }, ReasonACKOld},
	{"PAWS failure", func(t *testing.T) *harness { return establishedModern(t, nil) }, func(h *harness) Segment {
		s := h.ts(seg(FlagACK, remoteISS+1, localISS+1))
		s.Options.TSVal = 1 // older than TS.Recent
		return s
	}, ReasonPAWS},
	{"data in FIN-WAIT-2 left of the window", finWait2, func(h *harness) Segment { return seg(FlagACK, remoteISS-500, localISS+2) }, ReasonUnacceptable},
	{"SYN in TIME-WAIT", timeWait, func(h *harness) Segment { return seg(FlagSYN, remoteISS-5, 0) }, ReasonUnacceptable},
}

// TestInvalidAnswersRateLimited: a connection answers at most one
// unacceptable segment per 500 ms (Linux's tcp_invalid_ratelimit); the
// others are dropped for ReasonInvalidRateLimited, and nothing of the
// connection changes.
func TestInvalidAnswersRateLimited(t *testing.T) {
	for _, k := range rationedKinds {
		t.Run(k.name, func(t *testing.T) {
			h := k.setup(t)
			state := h.c.State()
			h.drops = nil
			for range 1000 {
				h.send(k.seg(h))
			}
			if len(h.out) != 1 || h.out[0].why != k.why || h.out[0].Flags != FlagACK {
				t.Fatalf("1000 segments drew %s, want one ACK for %v", fmtSent(h.out), k.why)
			}
			if n := count(h.drops, ReasonInvalidRateLimited); n != 999 {
				t.Fatalf("%d drops for invalid-ratelimit, want 999: %v", n, h.drops)
			}
			h.out = nil
			h.advance(DefaultInvalidRateLimit - time.Millisecond)
			h.send(k.seg(h))
			h.expectNothing()
			h.advance(time.Millisecond)
			h.send(k.seg(h))
			if len(h.out) != 1 || h.out[0].why != k.why {
				t.Fatalf("500 ms later: %s, want one ACK for %v", fmtSent(h.out), k.why)
			}
			h.expectState(state)
		})
	}
}

// TestInvalidAnswersShareOneLimit: the kinds draw on one limit per
// connection, so mixing them does not draw more.
func TestInvalidAnswersShareOneLimit(t *testing.T) {
	h := established(t)
	h.send(seg(FlagSYN, remoteISS+1<<30, 0))
	h.send(seg(FlagRST, remoteISS+100, 0))
	h.send(seg(FlagACK, remoteISS+1, localISS+1000, "x"))
	if len(h.out) != 1 {
		t.Fatalf("three kinds drew %s, want one ACK", fmtSent(h.out))
	}
}

// TestInvalidRateLimitOff: a negative limit answers every one, as RFC
// 9293 §3.10.7.4 alone says.
func TestInvalidRateLimitOff(t *testing.T) {
	cfg := testConfig()
	cfg.InvalidRateLimit = -1
	h := establishedWith(t, cfg)
	for range 5 {
		h.send(seg(FlagRST, remoteISS+100, 0))
	}
	if len(h.out) != 5 {
		t.Fatalf("limit off: %d answers, want 5", len(h.out))
	}
}

// TestHonestAnswersNotRateLimited: loss recovery's ACKs go out each time:
// duplicate ACKs for out-of-order data (RFC 5681 §4.2), the ACK and
// D-SACK of an old duplicate (RFC 2883), the ACK of a retransmitted FIN in
// TIME-WAIT (RFC 9293 §3.10.7.4).
func TestHonestAnswersNotRateLimited(t *testing.T) {
	t.Run("out of order", func(t *testing.T) {
		h := established(t)
		for i := range 5 {
			h.send(seg(FlagACK, remoteISS+1+Seq(100*(i+1)), localISS+1, "ooo"))
			h.expect(out(FlagACK, localISS+1, remoteISS+1))
		}
	})
	t.Run("old duplicate", func(t *testing.T) {
		h := establishedModern(t, nil)
		h.send(h.ts(seg(FlagACK, remoteISS+1, localISS+1, "abcdef")))
		h.out = nil
		for range 5 {
			h.send(h.ts(seg(FlagACK, remoteISS+1, localISS+1, "abcdef")))
			if len(h.out) != 1 || h.out[0].Ack != remoteISS+7 || h.out[0].Options.NumSACK == 0 {
				t.Fatalf("duplicate drew %s, want an ACK with a D-SACK block", fmtSent(h.out))
			}
			if b := h.out[0].Options.SACK[0]; b.Left != remoteISS+1 || b.Right != remoteISS+7 {
				t.Fatalf("D-SACK block %v, want %d-%d", b, remoteISS+1, remoteISS+7)
			}
			h.out = nil
		}
	})
	t.Run("FIN in TIME-WAIT", func(t *testing.T) {
		h := timeWait(t)
		for range 5 {
			h.send(seg(FlagFIN|FlagACK, remoteISS+1, localISS+2))
			h.expect(out(FlagACK, localISS+2, remoteISS+2))
		}
	})
}

// budgetHarness is a harness whose Output is also an AnswerBudget that
// allows the first n answers.
type budgetHarness struct {
	*harness
	left  int
	asked []Reason
}

func (b *budgetHarness) AllowAnswer(now time.Time, why Reason) bool {
	b.asked = append(b.asked, why)
	if b.left == 0 {
		return false
	}
	b.left--
	return true
}

func newBudgetHarness(t *testing.T, left int) *budgetHarness {
	h := newHarness(t, nil)
	b := &budgetHarness{harness: h, left: left}
	h.c = New(ID{Local: localAP, Remote: remoteAP}, testConfig(), NewEnv(b, h, nil))
	return b
}

// TestAnswerBudget: after the connection's own limit, the owner's budget
// decides; a refused ACK is dropped for ReasonChallengeACKLimit, a refused
// RST (LISTEN, CLOSED) for ReasonRSTRateLimited.
func TestAnswerBudget(t *testing.T) {
	t.Run("challenge", func(t *testing.T) {
		b := newBudgetHarness(t, 1)
		h := b.harness
		h.c.OpenPassive(h.now)
		h.send(seg(FlagSYN, remoteISS, 0))
		h.send(seg(FlagACK, remoteISS+1, localISS+1))
		h.out = nil
		h.send(seg(FlagRST, remoteISS+100, 0))
		h.expect(out(FlagACK, localISS+1, remoteISS+1))
		h.advance(DefaultInvalidRateLimit)
		h.drops = nil
		h.send(seg(FlagRST, remoteISS+100, 0))
		h.expectNothing()
		if !slices.Equal(h.drops, []Reason{ReasonChallengeACKLimit}) {
			t.Fatalf("drops %v, want challenge-ack-limit", h.drops)
		}
		// The connection's own limit comes first: the budget is not asked
		// for an answer the connection would not send anyway.
		h.send(seg(FlagRST, remoteISS+100, 0))
		if want := []Reason{ReasonRSTInWindowChallenge, ReasonRSTInWindowChallenge}; !slices.Equal(b.asked, want) {
			t.Fatalf("budget asked for %v, want %v", b.asked, want)
		}
	})
	t.Run("RST in LISTEN", func(t *testing.T) {
		b := newBudgetHarness(t, 0)
		h := b.harness
		h.c.OpenPassive(h.now)
		h.send(seg(FlagACK, remoteISS, 777))
		h.expectNothing()
		if !slices.Equal(h.drops, []Reason{ReasonRSTRateLimited}) || !slices.Equal(b.asked, []Reason{ReasonListenACKReset}) {
			t.Fatalf("drops %v, asked %v", h.drops, b.asked)
		}
	})
	t.Run("RST in CLOSED", func(t *testing.T) {
		b := newBudgetHarness(t, 1)
		h := b.harness
		h.send(seg(FlagACK, remoteISS, 777))
		h.expect(out(FlagRST, 777, 0))
		h.send(seg(FlagACK, remoteISS, 777))
		h.expectNothing()
		h.send(seg(FlagRST, remoteISS, 777)) // never answered: the budget is not asked
		if !slices.Equal(b.asked, []Reason{ReasonClosedRST, ReasonClosedRST}) {
			t.Fatalf("asked %v", b.asked)
		}
	})
}

// TestTimeWaitRecordRateLimited: the compact record answers as the
// connection does, and carries over when the connection last answered.
func TestTimeWaitRecordRateLimited(t *testing.T) {
	h := timeWait(t)
	h.send(seg(FlagSYN, remoteISS-5, 0)) // the connection answers (an old SYN), then shrinks
	h.expect(out(FlagACK, localISS+2, remoteISS+2))
	tw, _ := h.c.TimeWaitRecord()
	var reply Segment
	now := h.now
	cfg := h.c.cfg
	stray := seg(FlagACK, remoteISS+100000, localISS+2, "x") // beyond the window
	if act, why := tw.Input(now, cfg, nil, &stray, &reply); act != TimeWaitDrop || why != ReasonInvalidRateLimited {
		t.Fatalf("answer within 500 ms of the connection's: %v %v", act, why)
	}
	fin := seg(FlagFIN|FlagACK, remoteISS+1, localISS+2)
	if act, why := tw.Input(now, cfg, nil, &fin, &reply); act != TimeWaitReply || why != ReasonFinRetransmitted {
		t.Fatalf("retransmitted FIN: %v %v, want an ACK whatever the limit", act, why)
	}
	now = now.Add(DefaultInvalidRateLimit)
	oldSyn := seg(FlagSYN, remoteISS, 0)
	if act, why := tw.Input(now, cfg, nil, &oldSyn, &reply); act != TimeWaitReply || why != ReasonUnacceptable {
		t.Fatalf("500 ms later: %v %v, want the ACK of an unacceptable segment", act, why)
	}
	if reply.SrcPort != localAP.Port() || reply.DstPort != remoteAP.Port() {
		t.Fatalf("reply ports %d > %d", reply.SrcPort, reply.DstPort)
	}
	answered := 0
	for i := range 1000 {
		s := seg(FlagSYN, remoteISS-Seq(i), 0)
		if act, _ := tw.Input(now.Add(time.Duration(i)*time.Millisecond), cfg, nil, &s, &reply); act == TimeWaitReply {
			answered++
		}
	}
	if answered != 1 { // the one 500 ms after the challenge above
		t.Fatalf("1000 SYNs over the next second drew %d answers, want 1", answered)
	}
}

func count(rs []Reason, r Reason) int {
	n := 0
	for _, x := range rs {
		if x == r {
			n++
		}
	}
	return n
}
