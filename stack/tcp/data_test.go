package tcp

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestReceiveInOrderDataDelayedACK(t *testing.T) {
	h := established(t)
	h.send(seg(FlagACK|FlagPSH, remoteISS+1, localISS+1, "abc"))
	h.expectNothing() // the ACK is delayed
	if got := h.read(); got != "abc" {
		t.Fatalf("read %q", got)
	}
	d := h.nextTimer()
	if d != DefaultDelayedACK {
		t.Fatalf("delayed ACK after %v, want %v", d, DefaultDelayedACK)
	}
	h.expect(out(FlagACK, localISS+1, remoteISS+4))
}

func TestEverySecondSegmentIsACKed(t *testing.T) {
	h := established(t)
	h.send(seg(FlagACK, remoteISS+1, localISS+1, strings.Repeat("a", 1000)))
	h.expectNothing()
	h.send(seg(FlagACK, remoteISS+1001, localISS+1, strings.Repeat("b", 1000)))
	h.expect(out(FlagACK, localISS+1, remoteISS+2001))
	if !h.c.Deadline().IsZero() {
		t.Fatal("delayed-ACK timer still running after the ACK went out")
	}
}

func TestSendDataAndACK(t *testing.T) {
	h := established(t)
	h.write("hello")
	h.expect(out(FlagACK|FlagPSH, localISS+1, remoteISS+1, "hello"))
	if h.c.Deadline().IsZero() {
		t.Fatal("no retransmission timer for outstanding data")
	}
	h.send(seg(FlagACK, remoteISS+1, localISS+6))
	h.expectNothing()
	if !h.c.Deadline().IsZero() {
		t.Fatal("retransmission timer still running with nothing outstanding")
	}
	if h.c.SendQueue() != 0 {
		t.Fatalf("send queue %d after full ACK", h.c.SendQueue())
	}
}

func TestSendSegmentsByMSS(t *testing.T) {
	h := established(t)
	h.write(strings.Repeat("x", 2500))
	h.expect(
		out(FlagACK, localISS+1, remoteISS+1, strings.Repeat("x", 1000)),
		out(FlagACK, localISS+1001, remoteISS+1, strings.Repeat("x", 1000)),
		out(FlagACK|FlagPSH, localISS+2001, remoteISS+1, strings.Repeat("x", 500)),
	)
}

func TestSendRespectsPeerWindow(t *testing.T) {
	h := established(t)
	w := seg(FlagACK, remoteISS+1, localISS+1)
	w.Window = 2000
	h.send(w)
	h.write(strings.Repeat("x", 5000))
	if len(h.out) != 2 || h.c.snd.nxt != localISS+2001 {
		t.Fatalf("sent %s with a 2000-byte window", fmtSent(h.out))
	}
	h.out = nil
	ack := seg(FlagACK, remoteISS+1, localISS+2001)
	ack.Window = 2000
	h.send(ack)
	if len(h.out) != 2 || h.c.snd.nxt != localISS+4001 {
		t.Fatalf("after the window slid: sent %s", fmtSent(h.out))
	}
}

func TestOutOfOrderReassembly(t *testing.T) {
	h := established(t)
	h.send(seg(FlagACK, remoteISS+4, localISS+1, "def"))
	h.expect(out(FlagACK, localISS+1, remoteISS+1)) // duplicate ACK at once
	h.send(seg(FlagACK, remoteISS+7, localISS+1, "ghi"))
	h.expect(out(FlagACK, localISS+1, remoteISS+1))
	h.send(seg(FlagACK, remoteISS+1, localISS+1, "abc"))
	h.expect(out(FlagACK, localISS+1, remoteISS+10)) // filling the hole: ACK at once
	if got := h.read(); got != "abcdefghi" {
		t.Fatalf("read %q", got)
	}
}

func TestOverlappingRetransmissionTrimmed(t *testing.T) {
	h := established(t)
	h.send(seg(FlagACK, remoteISS+1, localISS+1, "abc"))
	h.send(seg(FlagACK, remoteISS+1, localISS+1, "abcdef")) // old part + new part
	if got := h.read(); got != "abcdef" {
		t.Fatalf("read %q", got)
	}
}

func TestOutOfOrderFIN(t *testing.T) {
	h := established(t)
	h.send(seg(FlagFIN|FlagACK, remoteISS+4, localISS+1, "xyz"))
	h.expect(out(FlagACK, localISS+1, remoteISS+1))
	h.expectState(Established)
	h.send(seg(FlagACK, remoteISS+1, localISS+1, "abc"))
	h.expect(out(FlagACK, localISS+1, remoteISS+8))
	h.expectState(CloseWait)
	if got := h.read(); got != "abcxyz" {
		t.Fatalf("read %q", got)
	}
}

func TestDuplicateSegmentIsReACKed(t *testing.T) {
	h := established(t)
	h.send(seg(FlagACK, remoteISS+1, localISS+1, "abc"))
	h.advance(time.Second)
	h.out = nil
	h.send(seg(FlagACK, remoteISS+1, localISS+1, "abc"))
	h.expect(out(FlagACK, localISS+1, remoteISS+4))
}

func TestUnacceptableSegmentsGetACK(t *testing.T) {
	h := established(t)
	wnd := uint32(h.c.rcv.edge - h.c.rcv.nxt)
	for _, s := range []Segment{
		seg(FlagACK, remoteISS+1+Seq(wnd), localISS+1, "beyond"),
		seg(FlagACK, remoteISS-100, localISS+1, "old"),
		seg(FlagACK, remoteISS-100, localISS+1),
	} {
		h.send(s)
		h.expect(out(FlagACK, localISS+1, remoteISS+1))
		h.advance(DefaultInvalidRateLimit) // one answer per 500 ms (ratelimit_test.go)
	}
	if h.c.Readable() != 0 {
		t.Fatal("unacceptable data was delivered")
	}
}

func TestACKOfUnsentDataIsAnswered(t *testing.T) {
	h := established(t)
	h.send(seg(FlagACK, remoteISS+1, localISS+500))
	h.expect(out(FlagACK, localISS+1, remoteISS+1))
	if h.c.snd.una != localISS+1 {
		t.Fatal("SND.UNA moved on an ACK of unsent data")
	}
}

func TestSegmentWithoutACKIsDropped(t *testing.T) {
	h := established(t)
	h.send(seg(FlagPSH, remoteISS+1, 0, "abc"))
	h.expectNothing()
	if h.c.Readable() != 0 {
		t.Fatal("data without ACK was delivered")
	}
}

func TestWindowShrinksAndReopens(t *testing.T) {
	cfg := testConfig()
	cfg.ReceiveBuffer = 4000
	cfg.DelayedACK = -1
	h := newHarness(t, cfg)
	h.c.OpenPassive(h.now)
	h.send(seg(FlagSYN, remoteISS, 0))
	h.expect(Segment{SrcPort: 80, DstPort: 40000, Seq: localISS, Ack: remoteISS + 1, Flags: FlagSYN | FlagACK, Window: 4000})
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	data := strings.Repeat("d", 1000)
	for i := 0; i < 4; i++ {
		h.send(seg(FlagACK, remoteISS+1+Seq(i*1000), localISS+1, data))
	}
	last := h.out[len(h.out)-1]
	if last.Window != 0 || last.Ack != remoteISS+4001 {
		t.Fatalf("after filling the buffer: %s, want window 0", fmtSeg(&last.Segment))
	}
	h.out = nil
	// Zero window: a new segment is not acceptable, and is answered.
	h.send(seg(FlagACK, remoteISS+4001, localISS+1, "z"))
	h.expect(Segment{SrcPort: 80, DstPort: 40000, Seq: localISS + 1, Ack: remoteISS + 4001, Flags: FlagACK, Window: 0})
	// Reading a little does not reopen (silly window avoidance) ...
	buf := make([]byte, 100)
	h.c.Receive(h.now, buf)
	h.expectNothing()
	// ... reading enough does, with a window update.
	buf = make([]byte, 2000)
	h.c.Receive(h.now, buf)
	h.expect(Segment{SrcPort: 80, DstPort: 40000, Seq: localISS + 1, Ack: remoteISS + 4001, Flags: FlagACK, Window: 2100})
}

func TestZeroWindowProbe(t *testing.T) {
	h := established(t)
	z := seg(FlagACK, remoteISS+1, localISS+1)
	z.Window = 0
	h.send(z)
	h.write("abc")
	h.expectNothing()
	if h.c.Deadline().IsZero() {
		t.Fatal("no persist timer with data queued and a zero window")
	}
	d1 := h.nextTimer()
	h.expect(out(FlagACK, localISS+1, remoteISS+1, "a"))
	z.Ack = localISS + 1
	h.send(z) // still closed
	d2 := h.nextTimer()
	h.expect(out(FlagACK, localISS+1, remoteISS+1, "a"))
	if d2 != 2*d1 {
		t.Fatalf("probe intervals %v then %v: want exponential backoff", d1, d2)
	}
	for i := 0; i < 40; i++ { // the connection outlives any retry limit
		h.send(z)
		h.nextTimer()
	}
	h.expectState(Established)
	h.out = nil
	open := seg(FlagACK, remoteISS+1, localISS+1)
	h.send(open)
	h.expect(out(FlagACK|FlagPSH, localISS+1, remoteISS+1, "abc"))
}

func TestZeroWindowProbesNobodyAnswersGiveUp(t *testing.T) {
	// A peer that shuts its window and goes silent: its probes are
	// retransmissions nobody answers, and R2 of them end the connection
	// (found by FuzzStackSession,
	// testdata/fuzz/FuzzStackSession/d5d2007eb1717c9c: an orphan in
	// FIN-WAIT-1 probed for ever). TestZeroWindowProbe: answered, they
	// go on for ever.
	h := established(t)
	z := seg(FlagACK, remoteISS+1, localISS+1)
	z.Window = 0
	h.send(z)
	h.write("abc")
	h.c.Close(h.now)
	probes := 0
	for h.c.State() != Closed {
		if probes > 100 {
			t.Fatalf("%d probes and still %s", probes, h.c.State())
		}
		h.nextTimer()
		probes++
	}
	if probes != testConfig().WithDefaults().DataRetries+1 {
		t.Errorf("gave up after %d probes, want R2 (%d) and the time-out after the last", probes, testConfig().WithDefaults().DataRetries)
	}
	if h.c.Err() != ErrTimedOut {
		t.Errorf("Err = %v, want ErrTimedOut", h.c.Err())
	}
}

func TestFastRetransmitOnThirdDuplicateACK(t *testing.T) {
	h := established(t)
	h.write(strings.Repeat("p", 5000))
	h.out = nil
	dup := seg(FlagACK, remoteISS+1, localISS+1001)
	h.send(dup)
	h.send(dup)
	h.expectNothing()
	h.send(dup)
	h.send(dup)
	h.send(dup)
	h.expect(out(FlagACK, localISS+1001, remoteISS+1, strings.Repeat("p", 1000)))
	if h.c.Status().Retransmits != 1 {
		t.Fatalf("retransmits %d", h.c.Status().Retransmits)
	}
	// Partial ACK (NewReno): the next hole goes out at once.
	h.send(seg(FlagACK, remoteISS+1, localISS+2001))
	h.expect(out(FlagACK, localISS+2001, remoteISS+1, strings.Repeat("p", 1000)))
}

func TestLargeTransferBothWays(t *testing.T) {
	// Two engines back to back, no loss: 1 MiB each way arrives intact,
	// with a Config each and with one Config (and its workspace) shared.
	shared := testConfig().WithDefaults()
	for _, tt := range []struct {
		name   string
		ca, cb *Config
	}{
		{"own configs", testConfig(), testConfig()},
		{"one shared config", &shared, &shared},
	} {
		t.Run(tt.name, func(t *testing.T) { largeTransferBothWays(t, tt.ca, tt.cb) })
	}
}

func largeTransferBothWays(t *testing.T, ca, cb *Config) {
	a, b := pair(t, ca, cb)
	if (ca == cb) != (a.c.cfg == b.c.cfg) {
		t.Fatalf("config shared: %v, want %v", a.c.cfg == b.c.cfg, ca == cb)
	}
	x := newExchange(bytes.Repeat([]byte("0123456789abcdef"), 65536))
	for i := 0; i < 100000 && !x.done(); i++ {
		x.step(a, b)
		a.deliverTo(b)
		b.deliverTo(a)
		a.advance(10 * time.Millisecond)
		b.advance(10 * time.Millisecond)
	}
	if !x.intact() {
		t.Fatalf("received %d and %d bytes, want %d each, intact", len(x.gotA), len(x.gotB), len(x.payload))
	}
}

// exchange sends the same payload each way between two engines through
// their user calls, SEND and RECEIVE.
type exchange struct {
	payload      []byte
	sentA, sentB int
	gotA, gotB   []byte
	buf          []byte
}

func newExchange(payload []byte) *exchange {
	return &exchange{payload: payload, buf: make([]byte, 64<<10)}
}

// step sends what each engine takes and receives what each has.
func (x *exchange) step(a, b *harness) {
	if x.sentA < len(x.payload) {
		n, _ := a.c.Send(a.now, x.payload[x.sentA:])
		x.sentA += n
	}
	if x.sentB < len(x.payload) {
		n, _ := b.c.Send(b.now, x.payload[x.sentB:])
		x.sentB += n
	}
	n, _ := a.c.Receive(a.now, x.buf)
	x.gotA = append(x.gotA, x.buf[:n]...)
	n, _ = b.c.Receive(b.now, x.buf)
	x.gotB = append(x.gotB, x.buf[:n]...)
}

// done reports whether both ends received as much as was sent.
func (x *exchange) done() bool {
	return len(x.gotA) >= len(x.payload) && len(x.gotB) >= len(x.payload)
}

// intact reports whether both ends received exactly the payload.
func (x *exchange) intact() bool {
	return bytes.Equal(x.gotA, x.payload) && bytes.Equal(x.gotB, x.payload)
}

// pair connects two engines back to back and completes a handshake.
func pair(t *testing.T, ca, cb *Config) (*harness, *harness) {
	t.Helper()
	cb.ISN = func(ID, time.Time) Seq { return remoteISS }
	a := newHarness(t, ca)
	b := &harness{t: t, now: epoch}
	b.c = New(ID{Local: remoteAP, Remote: localAP}, cb, NewEnv(b, b, nil))
	a.c.OpenPassive(a.now)
	b.c.OpenActive(b.now)
	for i := 0; i < 3; i++ {
		b.deliverTo(a)
		a.deliverTo(b)
	}
	if a.c.State() != Established || b.c.State() != Established {
		t.Fatalf("handshake: %s and %s", a.c.State(), b.c.State())
	}
	return a, b
}

// deliverTo hands everything h sent to the other engine.
func (h *harness) deliverTo(o *harness) {
	segs := h.out
	h.out = nil
	for i := range segs {
		o.c.Input(o.now, &segs[i].Segment)
	}
}

func TestSillyWindowOverride(t *testing.T) {
	h := established(t)
	big := seg(FlagACK, remoteISS+1, localISS+1)
	big.Window = 10000
	h.send(big)
	small := seg(FlagACK, remoteISS+1, localISS+1)
	small.Window = 300
	h.send(small)
	h.write(strings.Repeat("s", 2000))
	h.expectNothing() // 300 bytes of 2000 queued, under half the largest window
	h.nextTimer()     // the override time-out
	h.expect(out(FlagACK, localISS+1, remoteISS+1, strings.Repeat("s", 300)))
}

func TestReceiveWindowAutoTuning(t *testing.T) {
	cfg := testConfig()
	cfg.ReceiveBuffer = 8000
	cfg.MaxReceiveBuffer = 64000
	a, b := pair(t, testConfig(), cfg)
	_ = a
	start := b.c.rcv.buf.limit
	payload := strings.Repeat("w", 200000)
	off := 0
	buf := make([]byte, 1<<20)
	for i := 0; i < 2000 && off < len(payload); i++ {
		n, _ := a.c.Send(a.now, []byte(payload[off:]))
		off += n
		a.deliverTo(b)
		b.c.Receive(b.now, buf)
		b.deliverTo(a)
		a.advance(5 * time.Millisecond)
		b.advance(5 * time.Millisecond)
	}
	if b.c.rcv.buf.limit <= start || b.c.rcv.buf.limit > cfg.MaxReceiveBuffer {
		t.Fatalf("receive buffer %d after a bulk transfer read as fast as it came (start %d, max %d)", b.c.rcv.buf.limit, start, cfg.MaxReceiveBuffer)
	}
}

func TestScaledWindowEdgeNeverMovesLeft(t *testing.T) {
	cfg := testConfig()
	cfg.DelayedACK = -1
	h := newHarness(t, cfg)
	h.c.OpenPassive(h.now)
	syn := seg(FlagSYN, remoteISS, 0)
	syn.Options = Options{MSS: 1000, HasWindowScale: true, WindowScale: 7}
	h.send(syn)
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	if h.c.rcv.shift == 0 || !h.c.wsOK {
		t.Fatal("window scaling not in use")
	}
	h.out = nil // the SYN-ACK's window is not scaled
	var edge Seq
	seq := remoteISS + 1
	for i := 0; i < 300; i++ {
		n := 37 + i%91 // odd sizes: RCV.NXT lands between multiples of 2^shift
		h.send(seg(FlagACK, seq, localISS+1, strings.Repeat("e", n)))
		seq = seq.Add(uint32(n))
		if i%7 == 0 {
			h.c.Receive(h.now, make([]byte, 50))
		}
		for _, s := range h.out {
			right := s.Ack.Add(uint32(s.Window) << h.c.rcv.shift)
			if edge != 0 && right.LessThan(edge) {
				t.Fatalf("segment %d: right edge moved left by %d", i, right.Size(edge))
			}
			edge = right
		}
		h.out = nil
	}
}

func TestZeroWindowStillTakesACKs(t *testing.T) {
	// RFC 9293 §3.10.7.4: "special allowance should be made to accept
	// valid ACKs" when no segment is acceptable.
	h := established(t)
	h.write("ours")
	h.out = nil
	wnd := uint32(h.c.rcv.edge - h.c.rcv.nxt)
	// A pure ACK whose sequence number lies beyond our window.
	h.send(seg(FlagACK, remoteISS+1+Seq(wnd)+10, localISS+5))
	if h.c.snd.una != localISS+5 {
		t.Fatalf("SND.UNA %d: the ACK of an unacceptable segment was ignored", h.c.snd.una-localISS)
	}
	h.expect(out(FlagACK, localISS+5, remoteISS+1)) // and it is answered
}

// The SYN-ACK's window field is not scaled, so a large buffer is first
// advertised capped at 65535. Reading one byte afterwards does not open
// the window: the larger window rides on the next segment (here the
// reply), not on a window update of its own.
func TestReadAfterHandshakeSendsNoWindowUpdate(t *testing.T) {
	cfg := testConfig()
	cfg.ReceiveBuffer = 256 << 10
	h := newHarness(t, cfg)
	h.c.OpenPassive(h.now)
	syn := seg(FlagSYN, remoteISS, 0)
	syn.Options = Options{MSS: 1000, HasWindowScale: true, WindowScale: 7}
	h.send(syn)
	if w := h.out[0].Window; w != 0xffff {
		t.Fatalf("SYN-ACK window %d, want the field's cap 65535", w)
	}
	h.out = nil
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	h.send(seg(FlagACK|FlagPSH, remoteISS+1, localISS+1, "x"))
	if got := h.read(); got != "x" {
		t.Fatalf("read %q", got)
	}
	h.expectNothing()
	h.write("y")
	if len(h.out) != 1 || h.out[0].Ack != remoteISS+2 || int(h.out[0].Window)<<7 < 200<<10 {
		t.Fatalf("reply %v, want one segment acknowledging the byte with the whole window", h.out)
	}
}
