package tcp

import (
	"strings"
	"testing"
	"time"
)

// sendBurst feeds segments that arrived together, as an owner does with
// one read from the link, and leaves their ACK held.
func (h *harness) sendBurst(segs ...Segment) {
	h.t.Helper()
	for i := range segs {
		h.c.InputBurst(h.now, &segs[i])
		h.checkInvariants(fmtSeg(&segs[i]))
	}
}

func dataFrom(seq Seq, n int) Segment {
	return seg(FlagACK, seq, localISS+1, strings.Repeat("b", n))
}

func TestBurstIsAcknowledgedOnce(t *testing.T) {
	h := established(t)
	var burst []Segment
	for i := range 6 {
		burst = append(burst, dataFrom(remoteISS+1+Seq(i*1000), 1000))
	}
	h.sendBurst(burst...)
	h.expectNothing()
	if !h.c.Held() {
		t.Fatal("a burst's ACK is not held")
	}
	h.c.Flush(h.now)
	h.expect(out(FlagACK, localISS+1, remoteISS+6001))
	if h.c.Held() {
		t.Fatal("output still held after Flush")
	}
	// Outside a burst, every second segment is acknowledged again.
	h.send(dataFrom(remoteISS+6001, 1000))
	h.send(dataFrom(remoteISS+7001, 1000))
	h.expect(out(FlagACK, localISS+1, remoteISS+8001))
}

// An owner that forgets Flush loses nothing: the held ACK is due at once,
// and the next tick sends it.
func TestBurstACKWithoutFlushIsDueAtOnce(t *testing.T) {
	h := established(t)
	h.sendBurst(dataFrom(remoteISS+1, 1000), dataFrom(remoteISS+1001, 1000))
	h.expectNothing()
	if dl := h.c.Deadline(); !dl.Equal(h.now) {
		t.Fatalf("deadline %v with an ACK held, want now", dl.Sub(h.now))
	}
	h.advance(0)
	h.expect(out(FlagACK, localISS+1, remoteISS+2001))
	if h.c.Held() {
		t.Fatal("output still held after the tick")
	}
}

// The peer's FIN ends a burst: its ACK goes at once.
func TestBurstEndsWithFIN(t *testing.T) {
	h := established(t)
	h.sendBurst(dataFrom(remoteISS+1, 1000))
	h.expectNothing()
	fin := seg(FlagACK|FlagFIN, remoteISS+1001, localISS+1)
	h.sendBurst(fin)
	h.expect(out(FlagACK, localISS+1, remoteISS+1002))
	if h.c.Held() {
		t.Fatal("output held after the FIN")
	}
}

// Data queued with SendMore and a CLOSE right behind it leave as one
// segment with the FIN.
func TestSendMoreAndCloseLeaveAsOneSegment(t *testing.T) {
	h := established(t)
	if _, err := h.c.SendMore(h.now, []byte("bye")); err != nil {
		t.Fatal(err)
	}
	h.expectNothing()
	if err := h.c.CloseSend(h.now); err != nil {
		t.Fatal(err)
	}
	h.expect(out(FlagFIN|FlagPSH|FlagACK, localISS+1, remoteISS+1, "bye"))
	h.expectState(FinWait1)
	if h.c.Held() {
		t.Fatal("output held after CLOSE")
	}
}

// Data queued with SendMore and no CLOSE after it goes with Flush, or,
// if the owner forgets, with the tick that is due at once.
func TestSendMoreWithoutCloseIsDueAtOnce(t *testing.T) {
	h := established(t)
	h.c.SendMore(h.now, []byte("one"))
	h.c.SendMore(h.now, []byte("two"))
	h.expectNothing()
	h.c.Flush(h.now)
	h.expect(out(FlagACK|FlagPSH, localISS+1, remoteISS+1, "onetwo"))

	h.c.SendMore(h.now, []byte("three"))
	h.advance(time.Millisecond)
	h.expect(out(FlagACK|FlagPSH, localISS+7, remoteISS+1, "three"))
}
