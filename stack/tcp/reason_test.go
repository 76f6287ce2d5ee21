package tcp

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Every Reason is emitted somewhere, or it is gone. The tour below drives
// the engine through a situation for each (grouped where one situation
// shows several), collects every reason the observer and the output saw
// (harness.seen), and fails on any Reason nothing emitted. The owner's
// reasons are listed apart: the engine names them, its owner emits them.

// ownerReasons are emitted by the engine's owner, not by a Conn, with
// where. The stack's tests check them there.
var ownerReasons = map[Reason]string{
	ReasonSynCookieSent: "the owner sends SynCookieSYNACK's segment (stack/listen_queue.go; stack/listen_queue_test.go sees it)",
}

// reasonStop is one stop of the tour: a situation and the reasons it
// shows.
type reasonStop struct {
	name string
	want []Reason
	run  func(t *testing.T) []*harness
}

func one(h *harness) []*harness { return []*harness{h} }

var reasonTour = []reasonStop{
	{"passive open and close", []Reason{ReasonUserOpenPassive, ReasonListenSYN, ReasonSynReceivedACK, ReasonUserClose,
		ReasonFinAcked, ReasonFinInFinWait2, ReasonTimeWaitExpired},
		func(t *testing.T) []*harness { h := timeWait(t); h.advance(2 * DefaultMSL); return one(h) }},
	{"active open", []Reason{ReasonUserOpenActive, ReasonSynSentSynAck}, func(t *testing.T) []*harness {
		return one(establishedActive(t))
	}},
	{"the peer closes", []Reason{ReasonFinReceived, ReasonLastAckDone}, func(t *testing.T) []*harness {
		h := lastAck(t)
		h.send(seg(FlagACK, remoteISS+2, localISS+2))
		return one(h)
	}},
	{"simultaneous close", []Reason{ReasonFinInFinWait1, ReasonClosingDone}, func(t *testing.T) []*harness {
		h := closing(t)
		h.send(seg(FlagACK, remoteISS+2, localISS+2))
		return one(h)
	}},
	{"abort", []Reason{ReasonUserAbort}, func(t *testing.T) []*harness {
		h := established(t)
		h.c.Abort(h.now)
		return one(h)
	}},
	{"close with unread data", []Reason{ReasonCloseUnreadData}, func(t *testing.T) []*harness {
		h := established(t)
		h.send(seg(FlagACK, remoteISS+1, localISS+1, "unread"))
		h.c.Close(h.now)
		return one(h)
	}},
	{"data after close", []Reason{ReasonFinAfterRecvClosed}, func(t *testing.T) []*harness {
		h := established(t)
		h.c.Close(h.now)
		h.send(seg(FlagACK, remoteISS+1, localISS+1, "late"))
		return one(h)
	}},
	{"CLOSED", []Reason{ReasonClosedRST}, func(t *testing.T) []*harness {
		h := newHarness(t, nil)
		h.send(seg(FlagACK, remoteISS, 777))
		return one(h)
	}},
	{"LISTEN", []Reason{ReasonListenRSTIgnored, ReasonListenACKReset, ReasonListenNoSYN}, func(t *testing.T) []*harness {
		h := listening(t)
		h.send(seg(FlagRST, remoteISS, 0))
		h.send(seg(FlagACK, remoteISS, 777))
		h.send(seg(FlagFIN, remoteISS, 0))
		return one(h)
	}},
	{"SYN cookies", []Reason{ReasonSynCookieValid, ReasonSynCookieRejected}, func(t *testing.T) []*harness {
		cfg := testConfig()
		syn := cookieSYN(Options{MSS: 1000})
		sa := SynCookieSYNACK(cookieEpoch, cfg, cookieID(), &syn)
		good, bad := cookieACK(&sa), cookieACK(&sa)
		bad.Ack++
		a, b := cookieListener(t, cfg, cookieEpoch), cookieListener(t, cfg, cookieEpoch)
		a.c.InputSynCookie(a.now, &good)
		b.c.InputSynCookie(b.now, &bad)
		return []*harness{a, b}
	}},
	{"SYN-SENT", []Reason{ReasonSynSentBadACK, ReasonSynSentRSTIgnored, ReasonSynSentNoSYN, ReasonSynSentRefused},
		func(t *testing.T) []*harness {
			h := synSent(t)
			h.send(seg(FlagACK, remoteISS, localISS+100))
			h.send(seg(FlagRST, remoteISS, 0))
			h.send(seg(FlagACK, remoteISS, localISS+1))
			h.send(seg(FlagRST|FlagACK, remoteISS, localISS+1))
			return one(h)
		}},
	{"simultaneous open refused", []Reason{ReasonSynSentSimultaneous, ReasonSynReceivedRefused}, func(t *testing.T) []*harness {
		h := synSent(t)
		h.send(seg(FlagSYN, remoteISS, 0))
		h.send(seg(FlagRST, remoteISS+1, 0))
		return one(h)
	}},
	{"SYN-RECEIVED", []Reason{ReasonSynReceivedBadACK, ReasonSYNInSynReceived, ReasonRSTSynReceivedToListen},
		func(t *testing.T) []*harness {
			a, b := synReceived(t), synReceived(t)
			a.send(seg(FlagACK, remoteISS+1, localISS+100))
			a.send(seg(FlagSYN, remoteISS+1, 0))
			b.send(seg(FlagRST, remoteISS+1, 0))
			return []*harness{a, b}
		}},
	{"unacceptable segments", []Reason{ReasonUnacceptable, ReasonInvalidRateLimited, ReasonRSTOutsideWindow,
		ReasonRSTInWindowChallenge, ReasonSYNChallenge, ReasonNoACK, ReasonACKOfUnsent, ReasonACKOld,
		ReasonKeepAliveProbe, ReasonRSTAtWindowEdge}, func(t *testing.T) []*harness {
		h := established(t)
		limit := func() { h.advance(DefaultInvalidRateLimit) }
		h.send(seg(FlagACK, remoteISS+100000, localISS+1, "x"))
		h.send(seg(FlagACK, remoteISS+100000, localISS+1, "x")) // within the limit
		limit()
		h.send(seg(FlagRST, remoteISS+100000, 0))
		h.send(seg(FlagRST, remoteISS+100, 0))
		limit()
		h.send(seg(FlagSYN, remoteISS+100, 0))
		h.send(seg(0, remoteISS+1, 0, "no ack"))
		limit()
		h.send(seg(FlagACK, remoteISS+1, localISS+5000))
		limit()
		back := Seq(100000) // older than any window the peer saw
		h.send(seg(FlagACK, remoteISS+1, localISS+1-back))
		limit()
		h.send(seg(FlagACK, remoteISS, localISS+1))
		limit()
		h.send(seg(FlagRST, remoteISS+1+65535, 0))
		return one(h)
	}},
	{"a RST", []Reason{ReasonRSTReset}, func(t *testing.T) []*harness {
		h := established(t)
		h.send(seg(FlagRST, remoteISS+1, 0))
		return one(h)
	}},
	{"a RST in LAST-ACK; TIME-WAIT's", []Reason{ReasonRSTClose, ReasonTimeWaitRST, ReasonFinRetransmitted, ReasonTimeWaitReopen},
		func(t *testing.T) []*harness {
			a, b := lastAck(t), timeWait(t)
			a.send(seg(FlagRST, remoteISS+2, 0))
			b.send(seg(FlagRST, remoteISS+2, 0))
			b.send(seg(FlagFIN|FlagACK, remoteISS+1, localISS+2))
			syn := seg(FlagSYN, remoteISS+100000, 0)
			b.c.ReopenTimeWait(&syn)
			return []*harness{a, b}
		}},
	{"data in", []Reason{ReasonData, ReasonDelayedACK, ReasonOutOfOrder, ReasonTextAfterFIN, ReasonTrimmedToWindow},
		func(t *testing.T) []*harness {
			cfg := testConfig()
			cfg.ReceiveBuffer = 4000
			a, b := establishedWith(t, cfg), closeWait(t)
			a.send(seg(FlagACK, remoteISS+1, localISS+1, "a"))
			a.advance(time.Second)
			a.send(seg(FlagACK, remoteISS+2, localISS+1, "b"))
			a.send(seg(FlagACK, remoteISS+3, localISS+1, "c"))
			a.send(seg(FlagACK, remoteISS+100, localISS+1, "ahead"))
			a.send(seg(FlagACK, remoteISS+4, localISS+1, strings.Repeat("w", 5000)))
			b.send(seg(FlagACK, remoteISS+2, localISS+1, "after FIN"))
			return []*harness{a, b}
		}},
	{"the window", []Reason{ReasonWindowUpdate}, func(t *testing.T) []*harness {
		cfg := testConfig()
		cfg.ReceiveBuffer, cfg.MaxReceiveBuffer = 4000, 4000
		h := establishedWith(t, cfg)
		for i := range 4 {
			h.send(seg(FlagACK, remoteISS+1+Seq(1000*i), localISS+1, strings.Repeat("f", 1000)))
		}
		h.read()
		return one(h)
	}},
	{"data out, lost", []Reason{ReasonUserSend, ReasonRetransmitData, ReasonRetransmitFIN, ReasonGiveUp},
		func(t *testing.T) []*harness {
			cfg := testConfig()
			cfg.DataRetries = 2
			a, b := establishedWith(t, cfg), finWait1With(t, cfg)
			a.write("lost")
			a.advance(time.Hour)
			b.advance(time.Second)
			return []*harness{a, b}
		}},
	{"the handshake, lost", []Reason{ReasonRetransmitSYN, ReasonRetransmitSYNACK}, func(t *testing.T) []*harness {
		a, b := synSent(t), synReceived(t)
		a.nextTimer()
		b.nextTimer()
		return []*harness{a, b}
	}},
	{"a zero window", []Reason{ReasonZeroWindowProbe}, func(t *testing.T) []*harness {
		h := established(t)
		shut := seg(FlagACK, remoteISS+1, localISS+1)
		shut.Window = 0
		h.send(shut)
		h.write("probe")
		h.nextTimer()
		return one(h)
	}},
	{"recovery", []Reason{ReasonACKDuplicate, ReasonFastRetransmit, ReasonRecoveryRetransmit}, func(t *testing.T) []*harness {
		h := established(t)
		h.write(strings.Repeat("p", 5000))
		dup := seg(FlagACK, remoteISS+1, localISS+1001)
		for range 5 {
			h.send(dup)
		}
		h.send(seg(FlagACK, remoteISS+1, localISS+2001))
		return one(h)
	}},
	{"tail loss probes", []Reason{ReasonTailLossProbe, ReasonTailLossProbeNewData}, func(t *testing.T) []*harness {
		a := establishedModern(t, nil)
		for range 8 {
			a.withRTT(30 * time.Millisecond)
		}
		a.write(strings.Repeat("t", 988*3))
		a.nextTimer()
		b := establishedModern(t, nil)
		for range 8 {
			b.withRTT(30 * time.Millisecond)
		}
		b.c.cc.cwnd = 988 // one segment goes; the second waits for cwnd, not for the peer's window
		b.write(strings.Repeat("n", 2*988))
		b.nextTimer()
		return []*harness{a, b}
	}},
	{"timestamps and SACK", []Reason{ReasonPAWS, ReasonNoTimestamp, ReasonDuplicateData}, func(t *testing.T) []*harness {
		h := establishedModern(t, nil)
		old := seg(FlagACK, remoteISS+1, localISS+1, "stale")
		old.Options = Options{HasTimestamps: true, TSVal: h.peerTS - 50}
		h.send(old)
		h.send(seg(FlagACK, remoteISS+1, localISS+1, "no ts"))
		h.send(h.ts(seg(FlagACK, remoteISS+1, localISS+1, "abc")))
		h.send(h.ts(seg(FlagACK, remoteISS+1, localISS+1, "abcdef")))
		return one(h)
	}},
	{"timeouts", []Reason{ReasonFinWait2Timeout, ReasonUserTimeout, ReasonKeepAlive, ReasonKeepAliveTimeout},
		func(t *testing.T) []*harness {
			a := finWait2(t)
			a.c.Close(a.now)
			a.advance(DefaultFinWait2Timeout)
			cfg := testConfig()
			cfg.UserTimeout = 10 * time.Second
			b := establishedWith(t, cfg)
			b.write("unanswered")
			b.advance(time.Minute)
			cfg = testConfig()
			cfg.KeepAliveIdle, cfg.KeepAliveCount = time.Hour, 2
			c := establishedWith(t, cfg)
			c.advance(2 * time.Hour)
			return []*harness{a, b, c}
		}},
	{"ICMP", []Reason{ReasonICMPIgnored, ReasonICMPHardError, ReasonPMTU}, func(t *testing.T) []*harness {
		a, b := established(t), synSent(t)
		a.write(strings.Repeat("m", 3000))
		a.c.ICMP(a.now, ICMPError{Kind: ICMPHostUnreachable, Seq: localISS + 100000})
		a.c.ICMP(a.now, ICMPError{Kind: ICMPPacketTooBig, Seq: localISS + 1, MTU: 640})
		b.c.ICMP(b.now, ICMPError{Kind: ICMPPortUnreachable, Seq: localISS})
		return []*harness{a, b}
	}},
	{"the owner's budgets", []Reason{ReasonChallengeACKLimit, ReasonRSTRateLimited}, func(t *testing.T) []*harness {
		a, b := newBudgetHarness(t, 0), newBudgetHarness(t, 0)
		a.c.OpenPassive(a.now)
		a.send(seg(FlagSYN, remoteISS, 0))
		a.send(seg(FlagACK, remoteISS+1, localISS+1))
		a.send(seg(FlagRST, remoteISS+100, 0))
		b.send(seg(FlagACK, remoteISS, 777))
		return []*harness{a.harness, b.harness}
	}},
	{"memory bounds", []Reason{ReasonOOOLimit, ReasonRecvBudget}, func(t *testing.T) []*harness {
		a := established(t)
		for i := range maxOOOBlocks + 1 {
			a.send(seg(FlagACK, remoteISS+2+Seq(2*i), localISS+1, "o"))
		}
		mem := NewBudget(1 << 20)
		b := budgeted(t, mem, nil)
		others := fill(mem, 0)
		defer releaseAll(mem, others)
		b.send(seg(FlagACK, remoteISS+1001, localISS+1, strings.Repeat("o", 1000)))
		return []*harness{a, b}
	}},
}

func TestEveryReasonIsEmitted(t *testing.T) {
	seen := map[Reason]bool{}
	for _, stop := range reasonTour {
		t.Run(stop.name, func(t *testing.T) {
			here := map[Reason]bool{}
			for _, h := range stop.run(t) {
				for r := range h.seen {
					here[r], seen[r] = true, true
				}
			}
			for _, r := range stop.want {
				if !here[r] {
					t.Errorf("no %s (%s); the connections gave %v", r, r.Text(), sortedReasons(here))
				}
			}
		})
	}
	for r := Reason(1); r < numReasons; r++ {
		if _, owner := ownerReasons[r]; !seen[r] && !owner {
			t.Errorf("%s (%s) is never emitted: emit it where its rule decides, or remove it", r, r.Text())
		}
	}
}

func sortedReasons(m map[Reason]bool) []Reason {
	var rs []Reason
	for r := range m {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return rs
}
