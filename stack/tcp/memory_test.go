package tcp

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

// budgeted is established() for a connection whose buffers draw on mem.
func budgeted(t *testing.T, mem *Budget, cfg *Config) *harness {
	t.Helper()
	if cfg == nil {
		cfg = testConfig()
	}
	h := &harness{t: t, now: epoch}
	h.c = New(ID{Local: localAP, Remote: remoteAP}, cfg, NewEnv(h, h, mem))
	h.c.OpenPassive(h.now)
	syn := seg(FlagSYN, remoteISS, 0)
	syn.Options = Options{MSS: 1000}
	h.send(syn)
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	h.expectState(Established)
	h.out = nil
	return h
}

// fill takes storage from mem until what is left is at most room, as
// other connections would; it returns the storage taken.
func fill(mem *Budget, room int64) [][]byte {
	var held [][]byte
	for size := 1 << 20; size >= 512; size /= 2 {
		for mem.Stats().Limit-mem.InUse()-int64(size) >= room {
			x, _ := mem.Take(0, size, 0, GrantMove)
			held = append(held, x)
		}
	}
	return held
}

func releaseAll(mem *Budget, held [][]byte) {
	for _, x := range held {
		mem.Release(x)
	}
}

// When the budget fills, the window stops opening: the right edge already
// advertised stays (RFC 9293 §3.8.6.2.2, RFC 7323 §2.4), the data up to it
// is still taken within the connection's floor, and what the budget cannot
// hold is dropped and counted; once the edge is reached the window offered
// is no more than the floor. When memory comes back, so does the window.
func TestReceiveWindowShrinksAsTheBudgetFills(t *testing.T) {
	mem := NewBudget(1 << 20)
	h := budgeted(t, mem, nil)
	edge := h.c.rcv.edge
	if wnd := edge - h.c.rcv.nxt; wnd != 65535 {
		t.Fatalf("window %d before the budget filled, want 65535", wnd)
	}
	others := fill(mem, 0)
	floor := h.c.floor()

	// edges checks the windows of what the connection sent.
	edges := func() {
		t.Helper()
		for _, s := range h.out {
			if e := s.Ack.Add(uint32(s.Window)); e.LessThan(edge) {
				t.Fatalf("right edge moved left: %d, had advertised %d", e, edge)
			} else {
				edge = e
			}
		}
		h.out = nil
	}
	var dropped int
	for range 30 {
		// A burst within the window, from where the sender stands
		// (it resends what was not taken), then the application reads.
		next := h.c.rcv.nxt
		for k := range 8 {
			h.send(seg(FlagACK|FlagPSH, next+Seq(1000*k), localISS+1, strings.Repeat("d", 1000)))
		}
		edges()
		if taken := next.Size(h.c.rcv.nxt); taken < 8000 {
			dropped++
		}
		if got := h.c.BufferStorage(); got > floor {
			t.Fatalf("the connection holds %d bytes of storage on a full budget, over its floor %d", got, floor)
		}
		h.read()
		edges() // the window update, if the read opened the window
	}
	if dropped == 0 || !slices.Contains(h.drops, ReasonRecvBudget) {
		t.Fatalf("nothing dropped for want of memory (%d bursts not all taken, drops %v)", dropped, h.drops)
	}
	if got := h.c.rcv.nxt.Size(edge); got > uint32(floor) {
		t.Fatalf("window %d offered on a full budget, over the floor %d", got, floor)
	}
	if h.c.rcv.nxt.Size(edge) == 0 {
		t.Fatal("the window closed: a connection must keep its floor")
	}
	if s := mem.Stats(); s.WindowClamps != 1 {
		t.Fatalf("%d runs of clamped windows counted, want 1", s.WindowClamps)
	}

	releaseAll(mem, others)
	h.send(seg(FlagACK|FlagPSH, h.c.rcv.nxt, localISS+1, "x"))
	h.read()
	h.advance(time.Second)
	last := h.out[len(h.out)-1]
	if wnd := uint32(last.Window); wnd < 60000 {
		t.Fatalf("window %d after the budget emptied, want the buffer's", wnd)
	}
}

// An honest connection keeps moving data on a budget that other
// connections have filled: slowly, in its floor, but intact.
func TestTransferOnAFullBudget(t *testing.T) {
	mem := NewBudget(1 << 20)
	others := fill(mem, 0)
	a, b := budgetedPair(t, mem)
	x := newExchange(bytes.Repeat([]byte("0123456789abcdef"), 16384)) // 256 KiB each way
	for i := 0; i < 100000 && !x.done(); i++ {
		x.step(a, b)
		a.deliverTo(b)
		b.deliverTo(a)
		a.advance(10 * time.Millisecond)
		b.advance(10 * time.Millisecond)
		if got := a.c.BufferStorage(); got > a.c.floor()*2 {
			t.Fatalf("a connection holds %d bytes of storage on a full budget", got)
		}
	}
	if !x.intact() {
		t.Fatalf("received %d and %d bytes, want %d each, intact", len(x.gotA), len(x.gotB), len(x.payload))
	}
	a.c.ReleaseBuffers()
	b.c.ReleaseBuffers()
	releaseAll(mem, others)
	if got := mem.InUse(); got != 0 {
		t.Fatalf("%d bytes still charged after every buffer was released", got)
	}
}

// budgetedPair is pair() for two engines that draw on mem.
func budgetedPair(t *testing.T, mem *Budget) (*harness, *harness) {
	t.Helper()
	cb := testConfig()
	cb.ISN = func(ID, time.Time) Seq { return remoteISS }
	a := &harness{t: t, now: epoch}
	a.c = New(ID{Local: localAP, Remote: remoteAP}, testConfig(), NewEnv(a, a, mem))
	b := &harness{t: t, now: epoch}
	b.c = New(ID{Local: remoteAP, Remote: localAP}, cb, NewEnv(b, b, mem))
	a.c.OpenPassive(a.now)
	b.c.OpenActive(b.now)
	for range 3 {
		b.deliverTo(a)
		a.deliverTo(b)
	}
	if a.c.State() != Established || b.c.State() != Established {
		t.Fatalf("handshake: %s and %s", a.c.State(), b.c.State())
	}
	return a, b
}

// Writers see the send space shrink to what the budget grants.
func TestSendSpaceShrinksWithTheBudget(t *testing.T) {
	mem := NewBudget(1 << 20)
	h := budgeted(t, mem, nil)
	if got := h.c.SendSpace(); got != 64<<10 {
		t.Fatalf("send space %d, want the buffer's 65536", got)
	}
	others := fill(mem, 0)
	if got := h.c.SendSpace(); got != h.c.floor() {
		t.Fatalf("send space %d on a full budget, want the floor %d", got, h.c.floor())
	}
	n, err := h.c.Send(h.now, make([]byte, 20000))
	if err != nil || n != h.c.floor() {
		t.Fatalf("Send took %d (%v) on a full budget, want the floor %d", n, err, h.c.floor())
	}
	if s := mem.Stats(); s.SendClamps != 1 {
		t.Fatalf("%d send clamps counted, want 1", s.SendClamps)
	}
	releaseAll(mem, others)
	if got := h.c.SendSpace(); got != 64<<10-n {
		t.Fatalf("send space %d once memory is back, want %d", got, 64<<10-n)
	}
}

// Under pressure the receive buffer does not auto-tune upwards.
func TestAutoTuningHeldUnderPressure(t *testing.T) {
	mem := NewBudget(64 << 20)
	others := fill(mem, 30<<20) // over half used: pressure
	a, b := budgetedPair(t, mem)
	b.c.rcv.buf.limit = 8000
	start := b.c.rcv.buf.limit
	payload := []byte(strings.Repeat("w", 200000))
	off := 0
	buf := make([]byte, 1<<20)
	for i := 0; i < 2000 && off < len(payload); i++ {
		n, _ := a.c.Send(a.now, payload[off:])
		off += n
		a.deliverTo(b)
		b.c.Receive(b.now, buf)
		b.deliverTo(a)
		a.advance(5 * time.Millisecond)
		b.advance(5 * time.Millisecond)
	}
	if off < len(payload) {
		t.Fatalf("sent %d of %d bytes", off, len(payload))
	}
	if b.c.rcv.buf.limit != start {
		t.Fatalf("receive buffer auto-tuned from %d to %d under pressure", start, b.c.rcv.buf.limit)
	}
	if mem.Stats().AutotuneHeld == 0 {
		t.Fatal("no auto-tuning step counted as held")
	}
	releaseAll(mem, others)
}

// A peer that sends one octet in every other position of the window gets
// maxOOOBlocks blocks kept; the rest are dropped as ooo-limit, each with a
// duplicate ACK. When the holes are filled, the data is whole.
func TestOutOfOrderBlocksAreBounded(t *testing.T) {
	h := established(t)
	const n = maxOOOBlocks + 20
	want := []byte(strings.Repeat("ab", n))
	for i := range n {
		h.send(seg(FlagACK, remoteISS+1+Seq(2*i+1), localISS+1, string(want[2*i+1])))
		h.expect(out(FlagACK, localISS+1, remoteISS+1))
	}
	if got := len(h.c.rcv.buf.ooo); got != maxOOOBlocks {
		t.Fatalf("%d blocks held, want %d", got, maxOOOBlocks)
	}
	limited := 0
	for _, r := range h.drops {
		if r == ReasonOOOLimit {
			limited++
		}
	}
	if limited != n-maxOOOBlocks {
		t.Fatalf("%d segments dropped as %s, want %d", limited, ReasonOOOLimit, n-maxOOOBlocks)
	}
	h.send(seg(FlagACK, remoteISS+1, localISS+1, string(want)))
	if got := h.read(); got != string(want) {
		t.Fatalf("read %q, want %q", got, want)
	}
	if len(h.c.rcv.buf.ooo) != 0 {
		t.Fatalf("%d blocks left", len(h.c.rcv.buf.ooo))
	}
}

// Segments in order behind a hole make one block however many they are,
// and it holds at most twice their octets.
func TestOutOfOrderRunIsOneBlock(t *testing.T) {
	h := established(t)
	for i := range 40 {
		h.send(seg(FlagACK, remoteISS+1+1000+Seq(1000*i), localISS+1, strings.Repeat("r", 1000)))
	}
	if got := len(h.c.rcv.buf.ooo); got != 1 {
		t.Fatalf("%d blocks for one run behind a hole, want 1", got)
	}
	if blk := h.c.rcv.buf.ooo[0]; len(blk.data) != 40000 || cap(blk.data) > 2*classSize(40000) {
		t.Fatalf("block of %d octets in %d bytes of storage", len(blk.data), cap(blk.data))
	}
	h.send(seg(FlagACK, remoteISS+1, localISS+1, strings.Repeat("h", 1000)))
	if got := h.read(); got != strings.Repeat("h", 1000)+strings.Repeat("r", 40000) {
		t.Fatalf("read %d octets", len(got))
	}
}

// Out-of-order data has no floor: on a full budget it is dropped.
func TestOutOfOrderDataOverTheBudgetIsDropped(t *testing.T) {
	mem := NewBudget(1 << 20)
	h := budgeted(t, mem, nil)
	others := fill(mem, 0)
	h.send(seg(FlagACK, remoteISS+1001, localISS+1, strings.Repeat("o", 1000)))
	h.expect(out(FlagACK, localISS+1, remoteISS+1))
	if len(h.c.rcv.buf.ooo) != 0 || !slices.Contains(h.drops, ReasonRecvBudget) {
		t.Fatalf("out-of-order data kept on a full budget (blocks %d, drops %v)", len(h.c.rcv.buf.ooo), h.drops)
	}
	releaseAll(mem, others)
}

// Every path out of a connection gives its storage back to the budget.
func TestBuffersReturnToTheBudget(t *testing.T) {
	t.Run("closed both ways", func(t *testing.T) {
		mem := NewBudget(16 << 20)
		a, b := budgetedPair(t, mem)
		x := newExchange(bytes.Repeat([]byte("z"), 100000))
		for i := 0; i < 1000 && !x.done(); i++ {
			x.step(a, b)
			a.deliverTo(b)
			b.deliverTo(a)
			a.advance(10 * time.Millisecond)
			b.advance(10 * time.Millisecond)
		}
		if mem.InUse() == 0 {
			t.Fatal("nothing charged during the transfer")
		}
		a.c.Close(a.now)
		b.deliverTo(a)
		a.deliverTo(b)
		b.c.Close(b.now)
		b.deliverTo(a)
		a.deliverTo(b)
		a.advance(2 * time.Minute) // TIME-WAIT ends
		b.advance(2 * time.Minute)
		if a.c.State() != Closed || b.c.State() != Closed {
			t.Fatalf("states %s and %s", a.c.State(), b.c.State())
		}
		if got := mem.InUse(); got != 0 {
			t.Fatalf("%d bytes still charged once both ends are CLOSED", got)
		}
	})
	t.Run("reset with unread data", func(t *testing.T) {
		mem := NewBudget(16 << 20)
		h := budgeted(t, mem, nil)
		h.write("unacknowledged")
		h.send(seg(FlagACK, remoteISS+1, localISS+1, "unread"))
		h.send(seg(FlagACK, remoteISS+100, localISS+1, "ahead"))
		h.c.Close(h.now) // RFC 2525: a RST
		if got := mem.InUse(); got != 0 {
			t.Fatalf("%d bytes still charged after the reset", got)
		}
	})
	t.Run("released by the owner", func(t *testing.T) {
		mem := NewBudget(16 << 20)
		h := budgeted(t, mem, nil)
		h.write("unacknowledged")
		h.send(seg(FlagACK, remoteISS+1, localISS+1, "unread"))
		h.send(seg(FlagACK, remoteISS+100, localISS+1, "ahead"))
		h.c.ReleaseBuffers()
		if got := mem.InUse(); got != 0 {
			t.Fatalf("%d bytes still charged after ReleaseBuffers", got)
		}
	})
}

// Buffers that empty give their storage back while the budget is under
// pressure, and keep it otherwise.
func TestEmptyBuffersReleasedUnderPressure(t *testing.T) {
	mem := NewBudget(64 << 20)
	h := budgeted(t, mem, nil)
	h.send(seg(FlagACK, remoteISS+1, localISS+1, "data"))
	h.read()
	if h.c.rcv.buf.held() == 0 {
		t.Fatal("storage released without pressure: it would be taken again at once")
	}
	others := fill(mem, 20<<20)
	h.send(seg(FlagACK, remoteISS+5, localISS+1, "more"))
	h.read()
	if h.c.rcv.buf.held() != 0 {
		t.Fatalf("an empty receive buffer keeps %d bytes under pressure", h.c.rcv.buf.held())
	}
	releaseAll(mem, others)
}

// A keep-alive probe (RFC 1122 §4.2.3.6) is answered with an ACK under a
// reason of its own, not counted as an unacceptable segment.
func TestKeepAliveProbeIsAnswered(t *testing.T) {
	for _, garbage := range []string{"", "g"} {
		h := established(t)
		h.send(seg(FlagACK, remoteISS, localISS+1, garbage)) // SEG.SEQ = RCV.NXT-1
		if len(h.out) != 1 || h.out[0].why != ReasonKeepAliveProbe {
			t.Fatalf("probe with %q answered with %s", garbage, fmtSent(h.out))
		}
		h.expect(out(FlagACK, localISS+1, remoteISS+1))
		if !slices.Equal(h.drops, []Reason{ReasonKeepAliveProbe}) {
			t.Fatalf("probe with %q: drops %v, want [%s]", garbage, h.drops, ReasonKeepAliveProbe)
		}
	}
	h := established(t)
	h.send(seg(FlagACK, remoteISS-1, localISS+1))
	if !slices.Equal(h.drops, []Reason{ReasonUnacceptable}) {
		t.Fatalf("an old ACK two below RCV.NXT: drops %v, want [%s]", h.drops, ReasonUnacceptable)
	}
}

// A RST at exactly the right edge of the window, where a Linux peer that
// filled the window sends it, draws a challenge ACK; the exact RST that
// answers it closes the connection. One octet further is still dropped.
func TestRSTAtTheWindowEdgeIsChallenged(t *testing.T) {
	h := established(t)
	edge := h.c.rcv.edge
	h.send(seg(FlagRST, edge+1, 0))
	h.expectNothing()
	h.send(seg(FlagRST, edge, 0))
	if len(h.out) != 1 || h.out[0].why != ReasonRSTAtWindowEdge {
		t.Fatalf("RST at the window's edge answered with %s", fmtSent(h.out))
	}
	h.expect(out(FlagACK, localISS+1, remoteISS+1))
	h.expectState(Established)
	h.send(seg(FlagRST, remoteISS+1, 0))
	h.expectState(Closed)
}
