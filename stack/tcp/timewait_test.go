package tcp

import (
	"testing"
	"time"
	"unsafe"
)

func timeWaitRecord(t *testing.T) (*harness, TimeWaitRecord) {
	t.Helper()
	h := timeWait(t)
	tw, ok := h.c.TimeWaitRecord()
	if !ok {
		t.Fatal("no record in TIME-WAIT")
	}
	return h, tw
}

func TestTimeWaitRecordIsSmall(t *testing.T) {
	if size := unsafe.Sizeof(TimeWaitRecord{}); size > 40 {
		t.Fatalf("TimeWaitRecord is %d bytes, want at most 40", size)
	}
}

func TestTimeWaitRecordAnswersLikeTheConnection(t *testing.T) {
	h, tw := timeWaitRecord(t)
	if !tw.Expires().Equal(h.c.Deadline()) {
		t.Fatalf("record expires %v, connection %v", tw.Expires(), h.c.Deadline())
	}
	var reply Segment
	later := h.now.Add(10 * time.Second)
	fin := seg(FlagFIN|FlagACK, remoteISS+1, localISS+2)
	act, why := tw.Input(later, &fin, &reply)
	if act != TimeWaitReply || why != ReasonFinRetransmitted || reply.Seq != localISS+2 || reply.Ack != remoteISS+2 || reply.Flags != FlagACK {
		t.Fatalf("retransmitted FIN: %v %v %s", act, why, fmtSeg(&reply))
	}
	if !tw.Expires().Equal(later.Add(2 * DefaultMSL)) {
		t.Fatal("2MSL not restarted")
	}
	rst := seg(FlagRST, remoteISS+2, 0)
	if act, why := tw.Input(later, &rst, &reply); act != TimeWaitDrop || why != ReasonTimeWaitRST {
		t.Fatalf("RST: %v %v, want ignored (RFC 1337)", act, why)
	}
	syn := seg(FlagSYN, remoteISS+100000, 0)
	if act, _ := tw.Input(later, &syn, &reply); act != TimeWaitReopen {
		t.Fatalf("new SYN: %v, want reopen", act)
	}
	oldSyn := seg(FlagSYN, remoteISS, 0)
	if act, why := tw.Input(later, &oldSyn, &reply); act != TimeWaitReply || why != ReasonSYNChallenge {
		t.Fatalf("old SYN: %v %v, want a challenge ACK", act, why)
	}
	later = later.Add(DefaultInvalidRateLimit) // the challenge took this 500 ms's answer
	data := seg(FlagACK, remoteISS+5, localISS+2, "x")
	if act, _ := tw.Input(later, &data, &reply); act != TimeWaitReply || reply.Ack != remoteISS+2 {
		t.Fatalf("stray data: %v %s, want an ACK", act, fmtSeg(&reply))
	}
	ack := seg(FlagACK, remoteISS+2, localISS+2)
	if act, _ := tw.Input(later, &ack, &reply); act != TimeWaitDrop {
		t.Fatalf("plain ACK: %v", act)
	}
}

func TestTimeWaitRecordRSTWithoutRFC1337(t *testing.T) {
	cfg := testConfig()
	cfg.DisableRFC1337 = true
	h := newHarness(t, cfg)
	h.c.OpenActive(h.now)
	h.send(seg(FlagSYN|FlagACK, remoteISS, localISS+1))
	h.c.CloseSend(h.now)
	h.send(seg(FlagFIN|FlagACK, remoteISS+1, localISS+2))
	tw, _ := h.c.TimeWaitRecord()
	var reply Segment
	rst := seg(FlagRST, remoteISS+2, 0)
	if act, _ := tw.Input(h.now, &rst, &reply); act != TimeWaitClosed {
		t.Fatalf("RST with RFC 1337 off: %v", act)
	}
}

func TestTimeWaitRecordOnlyInTimeWait(t *testing.T) {
	h := established(t)
	if _, ok := h.c.TimeWaitRecord(); ok {
		t.Fatal("a record for an ESTABLISHED connection")
	}
}
