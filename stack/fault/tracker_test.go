package fault

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

var (
	t0     = time.Unix(1000, 0)
	connID = tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
)

// rules puts the faults in force on port 80.
func rules(t *testing.T, faults ...Fault) *Rules {
	t.Helper()
	var s Set
	for _, f := range faults {
		if err := s.Add(f, false); err != nil {
			t.Fatal(err)
		}
	}
	return s.Rules()
}

func mustFault(t *testing.T, typ Type, stream Stream, attrs map[string]string) Fault {
	t.Helper()
	f, err := New("", typ, 80, stream, 1, attrs)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func syn() *tcp.Segment {
	return &tcp.Segment{Flags: tcp.FlagSYN, Seq: 100, Options: tcp.Options{MSS: 1460}}
}
func synAck() *tcp.Segment {
	return &tcp.Segment{Flags: tcp.FlagSYN | tcp.FlagACK, Seq: 5000, Ack: 101, Window: 65535, Options: tcp.Options{MSS: 1460}}
}
func ack() *tcp.Segment { return &tcp.Segment{Flags: tcp.FlagACK, Seq: 101, Ack: 5001, Window: 500} }
func dataIn(seq tcp.Seq, n int) *tcp.Segment {
	return &tcp.Segment{Flags: tcp.FlagACK, Seq: seq, Ack: 5001, Window: 500, Payload: make([]byte, n)}
}
func dataOut(seq tcp.Seq, n int) *tcp.Segment {
	return &tcp.Segment{Flags: tcp.FlagACK, Seq: seq, Ack: 101, Window: 500, Payload: make([]byte, n)}
}

// handshake runs SYN, SYN-ACK, ACK through the tracker, checking that
// none is touched.
func handshake(t *testing.T, tr *Tracker, r *Rules) {
	t.Helper()
	for _, v := range []Verdict{tr.Inbound(t0, r, connID, syn()), tr.Outbound(t0, r, connID, synAck()), tr.Inbound(t0, r, connID, ack())} {
		if v.Reason != "" {
			t.Fatalf("the handshake was touched: %+v", v)
		}
	}
}

func TestDropSYNCountsPerAttempt(t *testing.T) {
	tr := NewTracker(1)
	r := rules(t, mustFault(t, DropSYN, Downstream, map[string]string{"count": "2"}))
	for i, want := range []bool{true, true, false, true} {
		v := tr.Inbound(t0.Add(time.Duration(i)*time.Second), r, connID, syn())
		if v.Drop != want || (want && v.Reason != "fault:drop_syn") {
			t.Errorf("SYN %d: %+v, want drop %v", i+1, v, want)
		}
	}
}

func TestRefuseAnswersTheSYNOnly(t *testing.T) {
	tr := NewTracker(1)
	r := rules(t, mustFault(t, Refuse, Downstream, nil))
	if v := tr.Inbound(t0, r, connID, syn()); !v.Refuse || v.Reason != "fault:refuse" {
		t.Errorf("SYN: %+v, want refused", v)
	}
	if v := tr.Inbound(t0, r, connID, ack()); v.Reason != "" {
		t.Errorf("ACK: %+v, want untouched", v)
	}
}

func TestToxicityZeroNeverApplies(t *testing.T) {
	tr := NewTracker(1)
	f := mustFault(t, Refuse, Downstream, nil)
	f.Toxicity = 0
	r := rules(t, f)
	if v := tr.Inbound(t0, r, connID, syn()); v.Reason != "" {
		t.Errorf("toxicity 0: %+v", v)
	}
}

func TestLatencyKeepsOrder(t *testing.T) {
	tr := NewTracker(7)
	r := rules(t, mustFault(t, Latency, Downstream, map[string]string{"latency": "100ms", "jitter": "50ms"}))
	var last time.Time
	for i := range 50 {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		v := tr.Outbound(now, r, connID, dataOut(tcp.Seq(5001+i*100), 100))
		at := now.Add(v.Delay)
		if v.Delay < 50*time.Millisecond || v.Delay > 150*time.Millisecond+time.Duration(i)*time.Millisecond || at.Before(last) {
			t.Fatalf("segment %d held %v (leaves %v, the one before %v)", i, v.Delay, at, last)
		}
		last = at
	}
}

func TestBandwidthPaces(t *testing.T) {
	tr := NewTracker(1)
	r := rules(t, mustFault(t, Bandwidth, Downstream, map[string]string{"rate": "10"}))
	v1 := tr.Outbound(t0, r, connID, dataOut(5001, 960))
	v2 := tr.Outbound(t0, r, connID, dataOut(5961, 960))
	// 1000 bytes (960 and headers) at 10 KB/s: 100 ms each.
	if v1.Delay != 0 || v2.Delay != 100*time.Millisecond {
		t.Errorf("delays %v, %v; want 0, 100ms", v1.Delay, v2.Delay)
	}
}

func TestLimitDataCutsAndResets(t *testing.T) {
	tr := NewTracker(1)
	r := rules(t, mustFault(t, LimitData, Downstream, map[string]string{"bytes": "150"}))
	handshake(t, tr, r)
	if v := tr.Outbound(t0, r, connID, dataOut(5001, 100)); v.Reason != "" {
		t.Fatalf("first 100 bytes: %+v", v)
	}
	v := tr.Outbound(t0, r, connID, dataOut(5101, 100))
	if len(v.Slices) != 1 || v.Slices[0] != 50 || v.Drop {
		t.Fatalf("the segment over the limit: %+v, want it cut to 50 bytes", v)
	}
	if v := tr.Outbound(t0, r, connID, dataOut(5201, 100)); !v.Drop {
		t.Errorf("beyond the limit: %+v, want dropped", v)
	}
	actions := tr.Due(t0, nil)
	if len(actions) != 1 || actions[0].Kind != ActReset || !actions[0].HasSeq || actions[0].Seq != 5151 {
		t.Errorf("actions %+v, want one reset at seq 5151", actions)
	}
}

func TestResetPeerAtFirstData(t *testing.T) {
	tr := NewTracker(1)
	r := rules(t, mustFault(t, ResetPeer, Downstream, nil))
	handshake(t, tr, r)
	if v := tr.Inbound(t0, r, connID, dataIn(101, 10)); !v.Drop {
		t.Errorf("first data: %+v, want dropped", v)
	}
	if a := tr.Due(t0, nil); len(a) != 1 || a[0].Kind != ActReset || a[0].Reason != "fault:reset_peer" {
		t.Errorf("actions %+v", a)
	}
}

func TestTimedActions(t *testing.T) {
	tr := NewTracker(1)
	r := rules(t, mustFault(t, RSTAfter, Downstream, map[string]string{"after": "2s"}))
	handshake(t, tr, r)
	if got := tr.Next(); !got.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("Next = %v, want 2 s after the SYN", got)
	}
	if a := tr.Due(t0.Add(time.Second), nil); len(a) != 0 {
		t.Errorf("due after 1 s: %+v", a)
	}
	if a := tr.Due(t0.Add(2*time.Second), nil); len(a) != 1 || a[0].Kind != ActReset {
		t.Errorf("due after 2 s: %+v", a)
	}
	if !tr.Next().IsZero() {
		t.Error("an action is left")
	}
}

func TestZeroWindowAfterBytes(t *testing.T) {
	tr := NewTracker(1)
	r := rules(t, mustFault(t, ZeroWindow, Downstream, map[string]string{"bytes": "1000"}))
	handshake(t, tr, r)
	tr.Inbound(t0, r, connID, dataIn(101, 500))
	seg := dataOut(5001, 0)
	if v := tr.Outbound(t0, r, connID, seg); v.Changed || seg.Window == 0 {
		t.Errorf("after 500 bytes: %+v, window %d", v, seg.Window)
	}
	tr.Inbound(t0, r, connID, dataIn(601, 500))
	seg = dataOut(5001, 0)
	if v := tr.Outbound(t0, r, connID, seg); !v.Changed || seg.Window != 0 {
		t.Errorf("after 1000 bytes: %+v, window %d; want 0", v, seg.Window)
	}
}

func TestSlowReadScalesTheWindow(t *testing.T) {
	tr := NewTracker(1)
	r := rules(t, mustFault(t, SlowRead, Downstream, map[string]string{"size": "2048"}))
	s := syn()
	s.Options.HasWindowScale, s.Options.WindowScale = true, 7
	tr.Inbound(t0, r, connID, s)
	sa := synAck()
	sa.Options.HasWindowScale, sa.Options.WindowScale = true, 4
	tr.Outbound(t0, r, connID, sa)
	seg := dataOut(5001, 0)
	seg.Window = 5000
	if tr.Outbound(t0, r, connID, seg); seg.Window != 2048>>4 {
		t.Errorf("window %d, want %d (2048 bytes at scale 4)", seg.Window, 2048>>4)
	}
}

func TestHangCloseNeverSendsTheFIN(t *testing.T) {
	tr := NewTracker(1)
	r := rules(t, mustFault(t, HangClose, Downstream, nil))
	withData := dataOut(5001, 10)
	withData.Flags |= tcp.FlagFIN
	if v := tr.Outbound(t0, r, connID, withData); !v.Changed || withData.Flags.Has(tcp.FlagFIN) {
		t.Errorf("FIN with data: %+v, flags %v; want the FIN taken off", v, withData.Flags)
	}
	bare := dataOut(5011, 0)
	bare.Flags |= tcp.FlagFIN
	if v := tr.Outbound(t0, r, connID, bare); !v.Drop {
		t.Errorf("bare FIN: %+v, want dropped", v)
	}
}

func TestBlackholeAfterTheHandshake(t *testing.T) {
	tr := NewTracker(1)
	r := rules(t, mustFault(t, Blackhole, Downstream, nil))
	handshake(t, tr, r)
	if v := tr.Inbound(t0, r, connID, dataIn(101, 10)); !v.Drop {
		t.Errorf("data in: %+v, want dropped", v)
	}
	if v := tr.Outbound(t0, r, connID, dataOut(5001, 10)); !v.Drop {
		t.Errorf("data out: %+v, want dropped", v)
	}
}

func TestAcceptDelayAskedOnce(t *testing.T) {
	tr := NewTracker(1)
	r := rules(t, mustFault(t, AcceptHold, Downstream, map[string]string{"delay": "1s"}))
	handshake(t, tr, r)
	if d := tr.AcceptDelay(t0, r, connID); d != time.Second {
		t.Errorf("AcceptDelay = %v, want 1s", d)
	}
	if d := tr.AcceptDelay(t0, r, connID); d != 0 {
		t.Errorf("asked again: %v, want 0", d)
	}
	if a := tr.Due(t0.Add(time.Second), nil); len(a) != 1 || a[0].Kind != ActReleaseAccept {
		t.Errorf("actions %+v, want the release", a)
	}
}

func TestMSSClampsBothWays(t *testing.T) {
	tr := NewTracker(1)
	r := rules(t, mustFault(t, MSS, BothStreams, map[string]string{"size": "500"}))
	s, sa := syn(), synAck()
	tr.Inbound(t0, r, connID, s)
	tr.Outbound(t0, r, connID, sa)
	if s.Options.MSS != 500 || sa.Options.MSS != 500 {
		t.Errorf("MSS options %d, %d; want 500 both", s.Options.MSS, sa.Options.MSS)
	}
}

func TestSlicerCutsData(t *testing.T) {
	tr := NewTracker(3)
	r := rules(t, mustFault(t, Slicer, Downstream, map[string]string{"size": "100", "size_variation": "20", "delay": "1ms"}))
	v := tr.Outbound(t0, r, connID, dataOut(5001, 1000))
	sum := 0
	for _, n := range v.Slices {
		if n < 1 || n > 120 {
			t.Errorf("slice of %d", n)
		}
		sum += n
	}
	if sum != 1000 || v.Gap != time.Millisecond {
		t.Errorf("slices %v (sum %d), gap %v", v.Slices, sum, v.Gap)
	}
}

func TestRefusedSYNsLeaveNoState(t *testing.T) {
	tr := NewTracker(1)
	r := rules(t, mustFault(t, Refuse, Downstream, nil))
	tr.Inbound(t0, r, connID, syn())
	if n := tr.Tracked(); n != 0 {
		t.Errorf("tracked %d connections after a refused SYN, want 0", n)
	}
}
