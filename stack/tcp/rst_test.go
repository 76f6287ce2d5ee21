package tcp

import (
	"errors"
	"syscall"
	"testing"
)

func TestExactRSTResets(t *testing.T) {
	for _, setup := range []func(*testing.T) *harness{established, finWait1, finWait2, closeWait} {
		h := setup(t)
		rcvNxt := h.c.rcv.nxt
		h.send(seg(FlagRST, rcvNxt, 0))
		h.expectNothing()
		h.expectState(Closed)
		if !errors.Is(h.c.Err(), syscall.ECONNRESET) {
			t.Fatalf("Err %v", h.c.Err())
		}
		if _, err := h.c.Receive(h.now, make([]byte, 1)); !errors.Is(err, ErrConnectionReset) {
			t.Fatalf("Receive after reset: %v", err)
		}
	}
}

func TestInWindowRSTGetsChallengeACK(t *testing.T) {
	// RFC 5961 §3.2.
	h := established(t)
	h.send(seg(FlagRST, remoteISS+100, 0))
	h.expect(out(FlagACK, localISS+1, remoteISS+1))
	h.expectState(Established)
}

func TestOutOfWindowRSTDropped(t *testing.T) {
	h := established(t)
	h.send(seg(FlagRST, remoteISS-5, 0))
	h.expectNothing()
	h.send(seg(FlagRST, remoteISS+1+1<<20, 0))
	h.expectNothing()
	h.expectState(Established)
}

func TestSYNInSynchronizedStateGetsChallengeACK(t *testing.T) {
	// RFC 5961 §4.2.
	for _, setup := range []func(*testing.T) *harness{established, finWait2, closeWait} {
		h := setup(t)
		h.send(seg(FlagSYN, h.c.rcv.nxt+10, 0))
		h.expect(out(FlagACK, h.c.snd.nxt, h.c.rcv.nxt))
		if h.c.State() == Closed {
			t.Fatal("SYN closed the connection")
		}
	}
}

func TestResetFor(t *testing.T) {
	tests := []struct {
		name string
		in   Segment
		want Segment
		ok   bool
	}{
		{"SYN", Segment{SrcPort: 1, DstPort: 2, Seq: 100, Flags: FlagSYN}, Segment{SrcPort: 2, DstPort: 1, Ack: 101, Flags: FlagRST | FlagACK}, true},
		{"data without ACK", Segment{SrcPort: 1, DstPort: 2, Seq: 100, Flags: FlagPSH, Payload: []byte("abc")}, Segment{SrcPort: 2, DstPort: 1, Ack: 103, Flags: FlagRST | FlagACK}, true},
		{"ACK", Segment{SrcPort: 1, DstPort: 2, Seq: 100, Ack: 555, Flags: FlagACK}, Segment{SrcPort: 2, DstPort: 1, Seq: 555, Flags: FlagRST}, true},
		{"FIN-ACK", Segment{SrcPort: 1, DstPort: 2, Seq: 100, Ack: 7, Flags: FlagFIN | FlagACK}, Segment{SrcPort: 2, DstPort: 1, Seq: 7, Flags: FlagRST}, true},
		{"RST", Segment{SrcPort: 1, DstPort: 2, Flags: FlagRST}, Segment{}, false},
	}
	for _, tt := range tests {
		got, ok := ResetFor(&tt.in)
		if ok != tt.ok || got.SrcPort != tt.want.SrcPort || got.DstPort != tt.want.DstPort ||
			got.Seq != tt.want.Seq || got.Ack != tt.want.Ack || got.Flags != tt.want.Flags {
			t.Errorf("%s: ResetFor = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
