package tcp

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

func TestPassiveOpen(t *testing.T) {
	h := established(t)
	want := []stateEvent{
		{Closed, Listen, ReasonUserOpenPassive},
		{Listen, SynReceived, ReasonListenSYN},
		{SynReceived, Established, ReasonSynReceivedACK},
	}
	if len(h.states) != len(want) {
		t.Fatalf("states %v, want %v", h.states, want)
	}
	for i := range want {
		if h.states[i] != want[i] {
			t.Fatalf("state change %d: %v, want %v", i, h.states[i], want[i])
		}
	}
	if st := h.c.Status(); st.SndUna != localISS+1 || st.RcvNxt != remoteISS+1 || st.MSS != 1000 {
		t.Fatalf("status %+v", st)
	}
}

func TestActiveOpen(t *testing.T) {
	h := establishedActive(t)
	if h.c.Deadline() != (time.Time{}) {
		t.Fatalf("a timer runs after the handshake: %v", h.c.Deadline())
	}
}

func TestSynAckCarriesOptions(t *testing.T) {
	h := listening(t)
	syn := seg(FlagSYN, remoteISS, 0)
	syn.Options = Options{MSS: 1400, HasWindowScale: true, WindowScale: 7}
	h.send(syn)
	got := h.out[0].Options
	if got.MSS != 1000 || !got.HasWindowScale || got.WindowScale != 7 {
		t.Fatalf("SYN-ACK options %+v: want MSS 1000 and window scale 7 for the 4 MiB auto-tuning maximum", got)
	}
	// Peer's MSS above ours: we send with ours.
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	if h.c.Status().MSS != 1000 {
		t.Fatalf("MSS %d", h.c.Status().MSS)
	}
}

func TestWindowScaleOnlyWhenBothOffer(t *testing.T) {
	cfg := testConfig()
	cfg.ReceiveBuffer = 1 << 20
	h := newHarness(t, cfg)
	h.c.OpenPassive(h.now)
	syn := seg(FlagSYN, remoteISS, 0) // no window scale option
	h.send(syn)
	if o := h.out[0].Options; o.HasWindowScale {
		t.Fatalf("SYN-ACK offers window scale to a peer that did not: %+v", o)
	}
	h.out = nil
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	h.write("x")
	if w := h.out[0].Window; w != 0xffff {
		t.Fatalf("unscaled window %d, want 65535 for a 1 MiB buffer", w)
	}
}

func TestListenIgnoresRST(t *testing.T) {
	h := listening(t)
	h.send(seg(FlagRST, 1, 0))
	h.expectNothing()
	h.expectState(Listen)
}

func TestListenAnswersACKWithRST(t *testing.T) {
	h := listening(t)
	h.send(seg(FlagACK, 1, 777))
	h.expect(out(FlagRST, 777, 0))
	h.expectState(Listen)
}

func TestListenDropsSegmentWithoutSYN(t *testing.T) {
	h := listening(t)
	h.send(seg(FlagFIN, 1, 0))
	h.expectNothing()
	h.expectState(Listen)
}

func TestSynSentBadACKGetsRST(t *testing.T) {
	for _, ack := range []Seq{localISS, localISS + 2, localISS - 100} {
		h := synSent(t)
		h.send(seg(FlagSYN|FlagACK, remoteISS, ack))
		h.expect(out(FlagRST, ack, 0))
		h.expectState(SynSent)
	}
}

func TestSynSentRSTWithBadACKIgnored(t *testing.T) {
	h := synSent(t)
	h.send(seg(FlagRST|FlagACK, 0, localISS+5))
	h.expectNothing()
	h.expectState(SynSent)
	h.send(seg(FlagRST, 0, 0)) // no ACK at all
	h.expectNothing()
	h.expectState(SynSent)
}

func TestSynSentRefused(t *testing.T) {
	h := synSent(t)
	h.send(seg(FlagRST|FlagACK, 0, localISS+1))
	h.expectNothing()
	h.expectState(Closed)
	if !errors.Is(h.c.Err(), ErrConnectionRefused) || !errors.Is(h.c.Err(), syscall.ECONNREFUSED) {
		t.Fatalf("Err = %v, want connection refused", h.c.Err())
	}
	if !h.c.Deadline().IsZero() {
		t.Fatal("timer still running in CLOSED")
	}
}

func TestSimultaneousOpen(t *testing.T) {
	// RFC 9293 Figure 7.
	h := synSent(t)
	h.send(seg(FlagSYN, remoteISS, 0))
	h.expect(out(FlagSYN|FlagACK, localISS, remoteISS+1))
	h.expectState(SynReceived)
	h.send(seg(FlagSYN|FlagACK, remoteISS, localISS+1))
	// The peer's SYN-ACK is a duplicate of its SYN plus the ACK of ours;
	// its sequence number is old, so it gets an ACK and no state change.
	h.expect(out(FlagACK, localISS+1, remoteISS+1))
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	h.expectState(Established)
}

func TestSimultaneousOpenRSTIsRefused(t *testing.T) {
	h := synSent(t)
	h.send(seg(FlagSYN, remoteISS, 0))
	h.out = nil
	h.send(seg(FlagRST, remoteISS+1, 0))
	h.expectState(Closed)
	if !errors.Is(h.c.Err(), ErrConnectionRefused) {
		t.Fatalf("Err = %v", h.c.Err())
	}
}

func TestOldDuplicateSYNReturnsToListen(t *testing.T) {
	// RFC 9293 Figure 8: our SYN-ACK answered an old SYN; the peer resets.
	h := synReceived(t)
	h.send(seg(FlagRST, remoteISS+1, 0))
	h.expectNothing()
	h.expectState(Listen)
	if !h.c.Deadline().IsZero() {
		t.Fatal("SYN-ACK retransmission still armed after return to LISTEN")
	}
}

func TestSynReceivedBadACKGetsRST(t *testing.T) {
	h := synReceived(t)
	h.send(seg(FlagACK, remoteISS+1, localISS+99))
	h.expect(out(FlagRST, localISS+99, 0))
	h.expectState(SynReceived)
}

func TestSynReceivedRetransmittedSYNIsUnacceptable(t *testing.T) {
	// RFC 9293 §3.10.7.4 first check: the SYN lies before RCV.NXT, so the
	// answer is <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the SYN-ACK goes again
	// when its own timer fires.
	h := synReceived(t)
	h.send(seg(FlagSYN, remoteISS, 0))
	h.expect(out(FlagACK, localISS+1, remoteISS+1))
	h.expectState(SynReceived)
}

func TestSynReceivedNewSYNInWindowReturnsToListen(t *testing.T) {
	h := synReceived(t)
	h.send(seg(FlagSYN, remoteISS+10, 0))
	h.expectNothing()
	h.expectState(Listen)
}

func TestDataOnSynAckIsDelivered(t *testing.T) {
	h := synSent(t)
	h.send(seg(FlagSYN|FlagACK, remoteISS, localISS+1, "hello"))
	h.expect(out(FlagACK, localISS+1, remoteISS+6))
	if got := h.read(); got != "hello" {
		t.Fatalf("read %q", got)
	}
}

func TestSendBeforeEstablishedIsQueued(t *testing.T) {
	h := synSent(t)
	h.write("early")
	h.expectNothing()
	h.send(seg(FlagSYN|FlagACK, remoteISS, localISS+1))
	h.expect(out(FlagACK|FlagPSH, localISS+1, remoteISS+1, "early"))
}

func TestCloseInSynSentDeletesTCB(t *testing.T) {
	h := synSent(t)
	if err := h.c.CloseSend(h.now); err != nil {
		t.Fatal(err)
	}
	h.expectNothing()
	h.expectState(Closed)
	// Deleting the TCB stops the SYN's retransmission timer (found by
	// FuzzInput: testdata/fuzz/FuzzInput/50131664614bb9c3).
	if dl := h.c.Deadline(); !dl.IsZero() {
		t.Fatalf("a timer still runs in CLOSED, due %v", dl.Sub(h.now))
	}
	h.advance(time.Minute)
	h.expectNothing()
}

func TestCloseInSynReceivedSendsFIN(t *testing.T) {
	// RFC 9293 §3.10.4: nothing queued, so the FIN goes at once.
	h := synReceived(t)
	if err := h.c.CloseSend(h.now); err != nil {
		t.Fatal(err)
	}
	h.expect(out(FlagFIN|FlagACK, localISS+1, remoteISS+1))
	h.expectState(FinWait1)
	// The SYN-ACK was lost: the time-out sends it again, then the FIN.
	h.nextTimer()
	h.expect(out(FlagSYN|FlagACK, localISS, remoteISS+1), out(FlagFIN|FlagACK, localISS+1, remoteISS+1))
	h.send(seg(FlagACK, remoteISS+1, localISS+2))
	h.expectState(FinWait2)
}

func TestCloseInSynReceivedWithDataWaitsForEstablished(t *testing.T) {
	h := synReceived(t)
	h.write("queued")
	if err := h.c.CloseSend(h.now); err != nil {
		t.Fatal(err)
	}
	h.expectNothing()
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	h.expect(out(FlagACK|FlagPSH|FlagFIN, localISS+1, remoteISS+1, "queued"))
	h.expectState(FinWait1)
}

func TestOpenTwiceFails(t *testing.T) {
	h := synSent(t)
	if err := h.c.OpenActive(h.now); !errors.Is(err, ErrAlreadyOpen) {
		t.Fatalf("second OPEN: %v", err)
	}
}

func TestISNFollowsRFC6528(t *testing.T) {
	key := [16]byte{1, 2, 3}
	a := ID{Local: localAP, Remote: remoteAP}
	b := ID{Local: localAP, Remote: netip.MustParseAddrPort("10.77.0.1:40001")}
	isnA := initialSequenceNumber(&key, a, epoch)
	if isnA == initialSequenceNumber(&key, b, epoch) {
		t.Fatal("two 4-tuples got the same ISN")
	}
	otherKey := [16]byte{9}
	if isnA == initialSequenceNumber(&otherKey, a, epoch) {
		t.Fatal("the key does not change the ISN")
	}
	// M ticks every 4 microseconds.
	if got := initialSequenceNumber(&key, a, epoch.Add(time.Millisecond)) - isnA; got != 250 {
		t.Fatalf("ISN advanced by %d in 1 ms, want 250", got)
	}
}
