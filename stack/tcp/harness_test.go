package tcp

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// The harness plays the peer of one Conn on a virtual clock, in the style
// of packet scripts: send a segment in, expect exactly these segments out.

const (
	localISS  Seq = 10000
	remoteISS Seq = 50000
	peerWnd       = 65535
)

var (
	localAP  = netip.MustParseAddrPort("10.77.0.2:80")
	remoteAP = netip.MustParseAddrPort("10.77.0.1:40000")
	epoch    = time.Unix(1_000_000, 0)
)

type sentSegment struct {
	Segment
	why Reason
}

type stateEvent struct {
	from, to State
	why      Reason
}

type harness struct {
	t      *testing.T
	c      *Conn
	now    time.Time
	out    []sentSegment
	states []stateEvent
	drops  []Reason
	peerTS uint32
	// seen is every reason the connection gave, never cleared: what
	// TestEveryReasonIsEmitted collects.
	seen map[Reason]bool
}

func (h *harness) saw(why Reason) {
	if h.seen == nil {
		h.seen = make(map[Reason]bool)
	}
	h.seen[why] = true
}

func (h *harness) Output(c *Conn, seg *Segment, why Reason) {
	s := *seg
	s.Payload = bytes.Clone(seg.Payload)
	h.out = append(h.out, sentSegment{s, why})
	h.saw(why)
}

func (h *harness) StateChange(c *Conn, from, to State, cause *Segment, why Reason) {
	h.states = append(h.states, stateEvent{from, to, why})
	h.saw(why)
	if err := CheckTransition(from, to, why); err != nil {
		h.t.Errorf("illegal state change: %v", err)
	}
}

func (h *harness) Drop(c *Conn, seg *Segment, why Reason) {
	h.drops = append(h.drops, why)
	h.saw(why)
}

func testConfig() *Config {
	return &Config{
		ISN:           func(ID, time.Time) Seq { return localISS },
		SendBuffer:    64 << 10,
		ReceiveBuffer: 64 << 10,
		MSS:           1000,
	}
}

func newHarness(t *testing.T, cfg *Config) *harness {
	t.Helper()
	if cfg == nil {
		cfg = testConfig()
	}
	h := &harness{t: t, now: epoch}
	h.c = New(ID{Local: localAP, Remote: remoteAP}, cfg, NewEnv(h, h, nil))
	return h
}

// seg builds a segment from the peer with the usual ports and window.
func seg(flags Flags, seq, ack Seq, payload ...string) Segment {
	s := Segment{SrcPort: remoteAP.Port(), DstPort: localAP.Port(), Seq: seq, Ack: ack, Flags: flags, Window: peerWnd}
	if len(payload) > 0 {
		s.Payload = []byte(strings.Join(payload, ""))
	}
	return s
}

// out builds an expected segment from the connection.
func out(flags Flags, seq, ack Seq, payload ...string) Segment {
	s := seg(flags, seq, ack, payload...)
	s.SrcPort, s.DstPort = localAP.Port(), remoteAP.Port()
	return s
}

func (h *harness) send(s Segment) {
	h.t.Helper()
	h.c.Input(h.now, &s)
	h.checkInvariants(fmtSeg(&s))
}

// checkInvariants fails the test if the TCB breaks an invariant after
// what, a segment or a timer.
func (h *harness) checkInvariants(what string) {
	h.t.Helper()
	if err := h.c.CheckInvariants(); err != nil {
		h.t.Errorf("after %s: %v", what, err)
	}
}

// expect checks that exactly want left the connection since the last check
// (ports, seq, ack, flags and payload; window only where want sets one
// other than peerWnd), then forgets them.
func (h *harness) expect(want ...Segment) {
	h.t.Helper()
	got := h.out
	h.out = nil
	if len(got) != len(want) {
		h.t.Fatalf("sent %d segments, want %d:\n got: %s\nwant: %s", len(got), len(want), fmtSent(got), fmtSegs(want))
	}
	for i := range want {
		g, w := got[i].Segment, want[i]
		if g.SrcPort != w.SrcPort || g.DstPort != w.DstPort || g.Seq != w.Seq || g.Flags != w.Flags ||
			(w.Flags.Has(FlagACK) && g.Ack != w.Ack) || !bytes.Equal(g.Payload, w.Payload) ||
			(w.Window != peerWnd && g.Window != w.Window) {
			h.t.Fatalf("segment %d:\n got: %s\nwant: %s", i, fmtSeg(&g), fmtSeg(&w))
		}
	}
}

func (h *harness) expectNothing() {
	h.t.Helper()
	h.expect()
}

func (h *harness) expectState(want State) {
	h.t.Helper()
	if got := h.c.State(); got != want {
		h.t.Fatalf("state %s, want %s", got, want)
	}
}

// advance moves the virtual clock by d, firing every timer that falls due
// on the way, in order.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	end := h.now.Add(d)
	for i := 0; ; i++ {
		dl := h.c.Deadline()
		if dl.IsZero() || dl.After(end) {
			break
		}
		if i > 10000 {
			h.t.Fatalf("timers keep firing at %v in %s: %+v", dl, h.c.State(), h.c.Status())
		}
		h.now = dl
		h.c.Tick(h.now)
		h.checkInvariants("a timer")
	}
	h.now = end
}

// advanceTo fires timers up to the connection's next deadline and returns
// how long that took.
func (h *harness) nextTimer() time.Duration {
	h.t.Helper()
	dl := h.c.Deadline()
	if dl.IsZero() {
		h.t.Fatal("no timer running")
	}
	d := dl.Sub(h.now)
	h.now = dl
	h.c.Tick(h.now)
	h.checkInvariants("a timer")
	return d
}

func (h *harness) read() string {
	h.t.Helper()
	buf := make([]byte, 1<<20)
	n, err := h.c.Receive(h.now, buf)
	if err != nil {
		h.t.Fatalf("Receive: %v", err)
	}
	return string(buf[:n])
}

func (h *harness) write(p string) {
	h.t.Helper()
	n, err := h.c.Send(h.now, []byte(p))
	if err != nil || n != len(p) {
		h.t.Fatalf("Send = %d, %v; want %d", n, err, len(p))
	}
}

func fmtSeg(s *Segment) string {
	return fmt.Sprintf("%s seq=%d ack=%d win=%d len=%d", s.Flags, s.Seq, s.Ack, s.Window, len(s.Payload))
}

func fmtSegs(ss []Segment) string {
	var b []string
	for i := range ss {
		b = append(b, fmtSeg(&ss[i]))
	}
	return "[" + strings.Join(b, "; ") + "]"
}

func fmtSent(ss []sentSegment) string {
	var b []string
	for i := range ss {
		b = append(b, fmtSeg(&ss[i].Segment)+" ("+ss[i].why.String()+")")
	}
	return "[" + strings.Join(b, "; ") + "]"
}

// The setups below bring a connection into each state, smoltcp style.

// Each setup has a With form that takes a Config (nil: testConfig).

func listening(t *testing.T) *harness { return listeningWith(t, nil) }

func listeningWith(t *testing.T, cfg *Config) *harness {
	h := newHarness(t, cfg)
	if err := h.c.OpenPassive(h.now); err != nil {
		t.Fatal(err)
	}
	return h
}

func synReceived(t *testing.T) *harness { return synReceivedWith(t, nil) }

func synReceivedWith(t *testing.T, cfg *Config) *harness {
	h := listeningWith(t, cfg)
	syn := seg(FlagSYN, remoteISS, 0)
	syn.Options = Options{MSS: 1000}
	h.send(syn)
	h.expect(out(FlagSYN|FlagACK, localISS, remoteISS+1))
	return h
}

func established(t *testing.T) *harness { return establishedWith(t, nil) }

func establishedWith(t *testing.T, cfg *Config) *harness {
	h := synReceivedWith(t, cfg)
	h.send(seg(FlagACK, remoteISS+1, localISS+1))
	h.expectNothing()
	h.expectState(Established)
	return h
}

func synSent(t *testing.T) *harness { return synSentWith(t, nil) }

func synSentWith(t *testing.T, cfg *Config) *harness {
	h := newHarness(t, cfg)
	if err := h.c.OpenActive(h.now); err != nil {
		t.Fatal(err)
	}
	h.expect(out(FlagSYN, localISS, 0))
	return h
}

func establishedActive(t *testing.T) *harness {
	h := synSent(t)
	sa := seg(FlagSYN|FlagACK, remoteISS, localISS+1)
	sa.Options = Options{MSS: 1000}
	h.send(sa)
	h.expect(out(FlagACK, localISS+1, remoteISS+1))
	h.expectState(Established)
	return h
}

func finWait1(t *testing.T) *harness { return finWait1With(t, nil) }

func finWait1With(t *testing.T, cfg *Config) *harness {
	h := establishedWith(t, cfg)
	if err := h.c.CloseSend(h.now); err != nil {
		t.Fatal(err)
	}
	h.expect(out(FlagFIN|FlagACK, localISS+1, remoteISS+1))
	h.expectState(FinWait1)
	return h
}

func finWait2(t *testing.T) *harness {
	h := finWait1(t)
	h.send(seg(FlagACK, remoteISS+1, localISS+2))
	h.expectNothing()
	h.expectState(FinWait2)
	return h
}

func timeWait(t *testing.T) *harness {
	h := finWait2(t)
	h.send(seg(FlagFIN|FlagACK, remoteISS+1, localISS+2))
	h.expect(out(FlagACK, localISS+2, remoteISS+2))
	h.expectState(TimeWait)
	return h
}

func closeWait(t *testing.T) *harness {
	h := established(t)
	h.send(seg(FlagFIN|FlagACK, remoteISS+1, localISS+1))
	h.expect(out(FlagACK, localISS+1, remoteISS+2))
	h.expectState(CloseWait)
	return h
}

func lastAck(t *testing.T) *harness {
	h := closeWait(t)
	if err := h.c.CloseSend(h.now); err != nil {
		t.Fatal(err)
	}
	h.expect(out(FlagFIN|FlagACK, localISS+1, remoteISS+2))
	h.expectState(LastAck)
	return h
}

func closing(t *testing.T) *harness {
	h := finWait1(t)
	h.send(seg(FlagFIN|FlagACK, remoteISS+1, localISS+1))
	h.expect(out(FlagACK, localISS+2, remoteISS+2))
	h.expectState(Closing)
	return h
}
