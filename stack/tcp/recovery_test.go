package tcp

import (
	"strings"
	"testing"
	"time"
)

// establishedModern is a passive open with a peer that offers SACK and
// timestamps, as Linux does; its ACKs and data carry timestamps.
func establishedModern(t *testing.T, cfg *Config) *harness {
	t.Helper()
	h := newHarness(t, cfg)
	h.c.OpenPassive(h.now)
	syn := seg(FlagSYN, remoteISS, 0)
	syn.Options = Options{MSS: 1000, SACKPermitted: true, HasTimestamps: true, TSVal: 100}
	h.send(syn)
	sa := h.out[0]
	if !sa.Options.SACKPermitted || !sa.Options.HasTimestamps || sa.Options.TSEcr != 100 {
		t.Fatalf("SYN-ACK options %+v: want SACK-permitted and timestamps echoing 100", sa.Options)
	}
	h.out = nil
	h.peerTS = 101
	h.send(h.ts(seg(FlagACK, remoteISS+1, localISS+1)))
	h.expectState(Established)
	return h
}

// ts stamps a peer segment with the next peer timestamp and an echo of
// the connection's latest one.
func (h *harness) ts(s Segment) Segment {
	h.peerTS++
	s.Options.HasTimestamps = true
	s.Options.TSVal = h.peerTS
	s.Options.TSEcr = h.c.tsNow(h.now)
	return s
}

func sacked(s Segment, blocks ...SACKBlock) Segment {
	copy(s.Options.SACK[:], blocks)
	s.Options.NumSACK = uint8(len(blocks))
	return s
}

func TestTimestampsOnEverySegment(t *testing.T) {
	h := establishedModern(t, nil)
	h.write("abc")
	got := h.out[0].Options
	if !got.HasTimestamps || got.TSEcr != h.peerTS || got.TSVal != h.c.tsNow(h.now) {
		t.Fatalf("data segment options %+v: want TSval=%d TSecr=%d", got, h.c.tsNow(h.now), h.peerTS)
	}
	if len(h.out[0].Payload) != 3 {
		t.Fatal("payload")
	}
	// A full-sized segment leaves room for the 12 bytes of the option.
	h.out = nil
	h.write(strings.Repeat("x", 2000))
	if n := len(h.out[0].Payload); n != 1000-12 {
		t.Fatalf("full segment carries %d bytes, want MSS-12 = 988", n)
	}
}

func TestTimestampRTTMeasurement(t *testing.T) {
	h := establishedModern(t, nil)
	before := h.c.Status().SRTT
	h.write("abc")
	h.advance(50 * time.Millisecond)
	ack := seg(FlagACK, remoteISS+1, localISS+4)
	ack.Options = Options{HasTimestamps: true, TSVal: h.peerTS + 1, TSEcr: h.out[0].Options.TSVal}
	h.send(ack)
	if srtt, want := h.c.Status().SRTT, (7*before+50*time.Millisecond)/8; srtt != want {
		t.Fatalf("SRTT %v after a 50ms sample from the echoed timestamp, want %v", srtt, want)
	}
}

func TestPAWSDropsOldDuplicate(t *testing.T) {
	h := establishedModern(t, nil)
	old := seg(FlagACK, remoteISS+1, localISS+1, "stale")
	old.Options = Options{HasTimestamps: true, TSVal: h.peerTS - 50}
	h.send(old)
	h.expect(out(FlagACK, localISS+1, remoteISS+1))
	if h.c.Readable() != 0 {
		t.Fatal("PAWS let an old duplicate through")
	}
	if h.drops[len(h.drops)-1] != ReasonPAWS {
		t.Fatalf("drop reason %v", h.drops[len(h.drops)-1])
	}
}

func TestSegmentWithoutNegotiatedTimestampDropped(t *testing.T) {
	h := establishedModern(t, nil)
	h.send(seg(FlagACK, remoteISS+1, localISS+1, "no ts"))
	h.expectNothing()
	if h.c.Readable() != 0 {
		t.Fatal("segment without timestamp delivered")
	}
}

func TestSACKBlocksReportOutOfOrderData(t *testing.T) {
	h := establishedModern(t, nil)
	h.send(h.ts(seg(FlagACK, remoteISS+11, localISS+1, "0123456789")))
	h.send(h.ts(seg(FlagACK, remoteISS+31, localISS+1, "0123456789")))
	last := h.out[len(h.out)-1].Options
	want := []SACKBlock{{remoteISS + 31, remoteISS + 41}, {remoteISS + 11, remoteISS + 21}}
	if int(last.NumSACK) != len(want) || last.SACK[0] != want[0] || last.SACK[1] != want[1] {
		t.Fatalf("SACK blocks %v (n=%d), want %v: the most recent first", last.SACK, last.NumSACK, want)
	}
	h.send(h.ts(seg(FlagACK, remoteISS+21, localISS+1, "0123456789"))) // fills between them
	last = h.out[len(h.out)-1].Options
	if last.NumSACK != 1 || last.SACK[0] != (SACKBlock{remoteISS + 11, remoteISS + 41}) {
		t.Fatalf("after merging: %v (n=%d)", last.SACK, last.NumSACK)
	}
}

func TestDSACKReportsDuplicate(t *testing.T) {
	h := establishedModern(t, nil)
	h.send(h.ts(seg(FlagACK, remoteISS+1, localISS+1, "abc")))
	h.out = nil
	h.send(h.ts(seg(FlagACK, remoteISS+1, localISS+1, "abc")))
	last := h.out[len(h.out)-1].Options
	if last.NumSACK != 1 || last.SACK[0] != (SACKBlock{remoteISS + 1, remoteISS + 4}) {
		t.Fatalf("D-SACK %v (n=%d), want the duplicate below RCV.NXT", last.SACK, last.NumSACK)
	}
}

// withRTT gives the connection an RTT sample of d.
func (h *harness) withRTT(d time.Duration) {
	h.t.Helper()
	h.write("a")
	h.advance(d)
	ack := h.ts(seg(FlagACK, remoteISS+1, h.c.snd.nxt))
	ack.Options.TSEcr = h.out[len(h.out)-1].Options.TSVal
	h.send(ack)
	h.out = nil
}

func TestSACKRecoveryWithRACK(t *testing.T) {
	h := establishedModern(t, nil)
	for i := 0; i < 8; i++ {
		h.withRTT(20 * time.Millisecond)
	}
	h.write(strings.Repeat("d", 988*5))
	if len(h.out) != 5 {
		t.Fatalf("sent %d segments, want 5", len(h.out))
	}
	h.out = nil
	h.advance(20 * time.Millisecond)
	// The first segment is lost; the peer SACKs the other four.
	first := h.c.snd.una
	ack := h.ts(seg(FlagACK, remoteISS+1, first))
	h.send(sacked(ack, SACKBlock{first + 988, first + 988*5}))
	// RACK: the SACKed segments were sent at the same time as the first,
	// so it is lost once RTT + reo_wnd has passed since it was sent.
	if len(h.out) == 0 {
		h.nextTimer()
	}
	if len(h.out) != 1 || h.out[0].Seq != first || len(h.out[0].Payload) != 988 {
		t.Fatalf("sent %s, want the first segment again", fmtSent(h.out))
	}
	st := h.c.Status()
	if !st.InRecovery || st.Cwnd >= initialWindow(1000) {
		t.Fatalf("recovery %v cwnd %d: want fast recovery with a reduced window", st.InRecovery, st.Cwnd)
	}
	h.out = nil
	h.send(h.ts(seg(FlagACK, remoteISS+1, first+988*5)))
	if st := h.c.Status(); st.InRecovery || st.SendQueue != 0 {
		t.Fatalf("after the full ACK: recovery %v queue %d", st.InRecovery, st.SendQueue)
	}
}

func TestTailLossProbe(t *testing.T) {
	h := establishedModern(t, nil)
	for i := 0; i < 8; i++ {
		h.withRTT(30 * time.Millisecond)
	}
	start := h.c.snd.nxt
	h.write(strings.Repeat("t", 988*3))
	h.out = nil
	// Nothing comes back: the probe goes out after 2*SRTT, well before the RTO.
	d := h.nextTimer()
	if want := 2 * h.c.Status().SRTT; d != want || d >= h.c.Status().RTO {
		t.Fatalf("probe after %v, want 2*SRTT = %v, before the RTO %v", d, want, h.c.Status().RTO)
	}
	if len(h.out) != 1 || h.out[0].why != ReasonTailLossProbe || h.out[0].Seq != start+988*2 {
		t.Fatalf("probe %s, want the last segment again", fmtSent(h.out))
	}
}

func TestCongestionResponse(t *testing.T) {
	for _, tt := range []struct {
		cc   CongestionControl
		want uint32
	}{{CUBIC, 7000}, {NewReno, 5000}} {
		cfg := testConfig()
		cfg.Congestion = tt.cc
		h := newHarness(t, cfg)
		h.c.OpenPassive(h.now)
		syn := seg(FlagSYN, remoteISS, 0)
		syn.Options.MSS = 1000
		h.send(syn)
		h.send(seg(FlagACK, remoteISS+1, localISS+1))
		h.write(strings.Repeat("c", 10000))
		h.c.cc.cwnd = 10000
		h.c.cc.onCongestion(tt.cc.algorithm(), h.c.snd.una.Size(h.c.snd.max), h.c.snd.mss)
		if h.c.cc.cwnd != tt.want {
			t.Errorf("%v: cwnd %d after a congestion event with 10000 in flight, want %d", tt.cc, h.c.cc.cwnd, tt.want)
		}
	}
}

func TestCubicGrowsFasterThanRenoFarFromWmax(t *testing.T) {
	grow := func(cc CongestionControl) uint32 {
		cfg := testConfig()
		cfg.Congestion = cc
		a, b := pair(t, cfg, testConfig())
		a.c.cc.cwnd, a.c.cc.ssthresh = 20000, 20000
		a.c.cc.cubic.wMax = 60
		a.c.rtt.srtt = 100 * time.Millisecond
		for i := 0; i < 200; i++ {
			a.now = a.now.Add(10 * time.Millisecond)
			a.c.cc.onACK(cc.algorithm(), a.now, 1000, a.c.snd.mss, a.c.rtt.srtt)
		}
		_ = b
		return a.c.cc.cwnd
	}
	reno, cubic := grow(NewReno), grow(CUBIC)
	if cubic <= reno {
		t.Fatalf("after 2 s below W_max: CUBIC cwnd %d, NewReno %d; CUBIC should be ahead", cubic, reno)
	}
}

func TestRetransmissionTimeoutWithSACKResendsOnlyHoles(t *testing.T) {
	h := establishedModern(t, nil)
	h.write(strings.Repeat("r", 988*4))
	h.out = nil
	first := localISS + 1
	ack := h.ts(seg(FlagACK, remoteISS+1, first))
	h.send(sacked(ack, SACKBlock{first + 988*2, first + 988*3}))
	h.out = nil
	h.advance(5 * time.Second) // RTO, probably after RACK already resent
	for _, s := range h.out {
		if s.Seq == first+988*2 {
			t.Fatalf("a SACKed segment was retransmitted: %s", fmtSent(h.out))
		}
	}
}
