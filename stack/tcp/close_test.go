package tcp

import (
	"errors"
	"io"
	"testing"
	"time"
)

// The peer closes first: ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED.
func TestPeerClosesFirst(t *testing.T) {
	h := lastAck(t)
	buf := make([]byte, 10)
	if _, err := h.c.Receive(h.now, buf); err != io.EOF {
		t.Fatalf("Receive after FIN: %v, want io.EOF", err)
	}
	h.send(seg(FlagACK, remoteISS+2, localISS+2))
	h.expectNothing()
	h.expectState(Closed)
	if h.c.Err() != nil {
		t.Fatalf("orderly close left error %v", h.c.Err())
	}
	wantPath(t, h, Closed, Listen, SynReceived, Established, CloseWait, LastAck, Closed)
}

// We close first: ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED.
func TestWeCloseFirst(t *testing.T) {
	h := timeWait(t)
	if got := h.nextTimer(); got != 2*DefaultMSL {
		t.Fatalf("TIME-WAIT lasted %v, want 2*MSL = %v", got, 2*DefaultMSL)
	}
	h.expectState(Closed)
	wantPath(t, h, Closed, Listen, SynReceived, Established, FinWait1, FinWait2, TimeWait, Closed)
}

func TestHalfCloseKeepsReceiving(t *testing.T) {
	h := finWait2(t)
	h.send(seg(FlagACK|FlagPSH, remoteISS+1, localISS+2, "more"))
	if got := h.read(); got != "more" {
		t.Fatalf("read %q in FIN-WAIT-2", got)
	}
	h.expectState(FinWait2)
	if !h.c.Status().FinWait2At.IsZero() {
		t.Fatal("FIN-WAIT-2 time-out runs for a half-closed, not orphaned, connection")
	}
}

func TestSendAfterCloseFails(t *testing.T) {
	h := finWait1(t)
	if _, err := h.c.Send(h.now, []byte("x")); !errors.Is(err, ErrClosing) {
		t.Fatalf("Send in FIN-WAIT-1: %v, want ErrClosing", err)
	}
	if err := h.c.CloseSend(h.now); !errors.Is(err, ErrClosing) {
		t.Fatalf("second CLOSE: %v, want ErrClosing", err)
	}
}

func TestFINFollowsQueuedData(t *testing.T) {
	h := established(t)
	h.write("last words")
	h.expect(out(FlagACK|FlagPSH, localISS+1, remoteISS+1, "last words"))
	h.c.CloseSend(h.now)
	h.expect(out(FlagFIN|FlagACK, localISS+11, remoteISS+1))
	h.send(seg(FlagACK, remoteISS+1, localISS+12))
	h.expectState(FinWait2)
}

func TestFINRidesOnLastData(t *testing.T) {
	h := established(t)
	w := seg(FlagACK, remoteISS+1, localISS+1)
	w.Window = 0
	h.send(w)
	h.write("bye")
	h.c.CloseSend(h.now)
	h.expectNothing()
	h.send(seg(FlagACK, remoteISS+1, localISS+1)) // window opens
	h.expect(out(FlagACK|FlagPSH|FlagFIN, localISS+1, remoteISS+1, "bye"))
}

// Simultaneous close, RFC 9293 Figure 13: both FINs cross.
func TestSimultaneousClose(t *testing.T) {
	h := closing(t)
	h.send(seg(FlagACK, remoteISS+2, localISS+2))
	h.expectNothing()
	h.expectState(TimeWait)
	h.advance(2 * DefaultMSL)
	h.expectState(Closed)
	wantPath(t, h, Closed, Listen, SynReceived, Established, FinWait1, Closing, TimeWait, Closed)
}

func TestFINWithACKOfOurFINGoesStraightToTimeWait(t *testing.T) {
	h := finWait1(t)
	h.send(seg(FlagFIN|FlagACK, remoteISS+1, localISS+2))
	h.expect(out(FlagACK, localISS+2, remoteISS+2))
	h.expectState(TimeWait)
}

func TestTimeWaitReACKsRetransmittedFINAndRestarts2MSL(t *testing.T) {
	h := timeWait(t)
	h.advance(DefaultMSL)
	h.send(seg(FlagFIN|FlagACK, remoteISS+1, localISS+2))
	h.expect(out(FlagACK, localISS+2, remoteISS+2))
	if got := h.c.Deadline().Sub(h.now); got != 2*DefaultMSL {
		t.Fatalf("2MSL not restarted: %v left", got)
	}
	h.advance(2*DefaultMSL - time.Millisecond)
	h.expectState(TimeWait)
	h.advance(time.Millisecond)
	h.expectState(Closed)
}

func TestTimeWaitIgnoresRST(t *testing.T) {
	// RFC 1337: TIME-WAIT assassination.
	h := timeWait(t)
	h.send(seg(FlagRST, remoteISS+2, 0))
	h.expectState(TimeWait)

	cfg := testConfig()
	cfg.DisableRFC1337 = true
	h2 := newHarness(t, cfg)
	h2.c.OpenActive(h2.now)
	h2.send(seg(FlagSYN|FlagACK, remoteISS, localISS+1))
	h2.c.CloseSend(h2.now)
	h2.send(seg(FlagFIN|FlagACK, remoteISS+1, localISS+2))
	h2.expectState(TimeWait)
	h2.send(seg(FlagRST, remoteISS+2, 0))
	h2.expectState(Closed)
}

func TestTimeWaitReopenOnNewSYN(t *testing.T) {
	h := timeWait(t)
	old := seg(FlagSYN, remoteISS, 0)
	if h.c.ReopenTimeWait(&old) {
		t.Fatal("an old SYN reopened TIME-WAIT")
	}
	fresh := seg(FlagSYN, remoteISS+100000, 0)
	if !h.c.ReopenTimeWait(&fresh) {
		t.Fatal("a SYN beyond RCV.NXT did not reopen TIME-WAIT")
	}
	h.expectState(Closed)
}

func TestLastAckRST(t *testing.T) {
	h := lastAck(t)
	h.send(seg(FlagRST, remoteISS+2, 0))
	h.expectState(Closed)
}

func TestCloseWithUnreadDataResets(t *testing.T) {
	// RFC 2525 §2.17.
	h := established(t)
	h.send(seg(FlagACK|FlagPSH, remoteISS+1, localISS+1, "unread"))
	h.out = nil
	h.c.Close(h.now)
	h.expect(out(FlagRST, localISS+1, 0))
	h.expectState(Closed)
}

func TestDataAfterOrphanedCloseResets(t *testing.T) {
	h := established(t)
	h.c.Close(h.now)
	h.expect(out(FlagFIN|FlagACK, localISS+1, remoteISS+1))
	h.send(seg(FlagACK, remoteISS+1, localISS+2, "late"))
	h.expect(out(FlagRST, localISS+2, 0))
	h.expectState(Closed)
}

func TestOrphanedFinWait2TimesOut(t *testing.T) {
	h := established(t)
	h.c.Close(h.now)
	h.out = nil
	h.send(seg(FlagACK, remoteISS+1, localISS+2))
	h.expectState(FinWait2)
	if got := h.nextTimer(); got != DefaultFinWait2Timeout {
		t.Fatalf("FIN-WAIT-2 time-out after %v", got)
	}
	h.expectState(Closed)
	if h.states[len(h.states)-1].why != ReasonFinWait2Timeout {
		t.Fatalf("reason %v", h.states[len(h.states)-1].why)
	}
}

func TestAbort(t *testing.T) {
	h := established(t)
	h.write("pending")
	h.out = nil
	h.c.Abort(h.now)
	h.expect(out(FlagRST, localISS+8, 0))
	h.expectState(Closed)
	if !errors.Is(h.c.Err(), ErrConnectionAborted) {
		t.Fatalf("Err %v", h.c.Err())
	}
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	h.expect(out(FlagRST, localISS+1, 0)) // CLOSED answers with RST
}

func TestAbortInTimeWaitSendsNothing(t *testing.T) {
	h := timeWait(t)
	h.c.Abort(h.now)
	h.expectNothing()
	h.expectState(Closed)
}

func wantPath(t *testing.T, h *harness, want ...State) {
	t.Helper()
	got := []State{Closed}
	for _, e := range h.states {
		got = append(got, e.to)
	}
	if len(got) != len(want) {
		t.Fatalf("path %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("path %v, want %v", got, want)
		}
	}
}

func TestTimeWaitReuseCanBeDisabled(t *testing.T) {
	cfg := testConfig()
	cfg.DisableTimeWaitReuse = true
	h := newHarness(t, cfg)
	h.c.OpenActive(h.now)
	h.send(seg(FlagSYN|FlagACK, remoteISS, localISS+1))
	h.c.CloseSend(h.now)
	h.send(seg(FlagFIN|FlagACK, remoteISS+1, localISS+2))
	h.expectState(TimeWait)
	fresh := seg(FlagSYN, remoteISS+100000, 0)
	if h.c.ReopenTimeWait(&fresh) {
		t.Fatal("reopened with reuse disabled")
	}
}

func TestFINAloneWhenOptionsFillTheMSS(t *testing.T) {
	// A peer's MSS of 1 leaves no payload room beside the timestamps
	// option. The FIN needs none: it goes once, and CLOSE returns (found
	// by FuzzStackSession, testdata/fuzz/FuzzStackSession/5668cf78311bc247:
	// the FIN went as a bare ACK, forever).
	h := listening(t)
	syn := seg(FlagSYN, remoteISS, 0)
	syn.Options = Options{MSS: 1, HasTimestamps: true, TSVal: 1}
	h.send(syn)
	h.expect(out(FlagSYN|FlagACK, localISS, remoteISS+1))
	ack := seg(FlagACK, remoteISS+1, localISS+1)
	ack.Options = Options{HasTimestamps: true, TSVal: 2}
	h.send(ack)
	h.expectState(Established)
	if err := h.c.CloseSend(h.now); err != nil {
		t.Fatal(err)
	}
	h.expect(out(FlagFIN|FlagACK, localISS+1, remoteISS+1))
	h.expectState(FinWait1)
}

func TestACKOfOurFINOnAnUnacceptableSegmentMovesOn(t *testing.T) {
	// An unacceptable segment's ACK still counts (RFC 9293 §3.10.7.4's
	// zero-window allowance, TestZeroWindowStillTakesACKs); when it
	// acknowledges our FIN, the state moves on as in the ACK step, else
	// the connection would wait with nothing to send and no timer, for
	// ever (found by FuzzStackSession,
	// testdata/fuzz/FuzzStackSession/99dca21d52094dca).
	for _, tt := range []struct {
		name  string
		setup func(*testing.T) *harness
		rcv   Seq // the peer's sequence number that RCV.NXT expects
		want  State
	}{
		{"FIN-WAIT-1", finWait1, remoteISS + 1, FinWait2},
		{"CLOSING", closing, remoteISS + 2, TimeWait},
		{"LAST-ACK", lastAck, remoteISS + 2, Closed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.setup(t)
			wnd := uint32(h.c.rcv.edge - h.c.rcv.nxt)
			h.send(seg(FlagACK, tt.rcv.Add(wnd+1000), localISS+2))
			h.expectState(tt.want)
			if tt.want == Closed && len(h.out) > 0 {
				t.Errorf("a CLOSED connection answered: %s", fmtSent(h.out))
			}
		})
	}
}
