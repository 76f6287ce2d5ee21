package ladder

import (
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// peerScenarios are drawn with the peer's own states, as the kernel's
// tracepoint reports them, into testdata/NAME.golden.
var peerScenarios = []struct {
	name string
	play func(t *testing.T) *sim
}{
	{"peer_passive_close", playPassiveClose},
	{"peer_active_close", playActiveClose},
	{"peer_simultaneous_close", playSimultaneousClose},
	{"peer_lost_syn_ack", playLostSynAck},
}

// playSimultaneousClose: the stack dials; both sides close at about the
// same moment, so that each FIN is in flight when the other side sends
// its own (RFC 9293 Figure 13): both go through CLOSING.
func playSimultaneousClose(t *testing.T) *sim {
	s := newSim(t, "10.77.0.2:49152", "10.77.0.1:9000", false, 7000, 3000, tcp.Config{MSL: time.Second}, tcp.Config{MSL: time.Second})
	s.at(0, func() { s.stack.OpenActive(s.now) })
	s.at(50*ms, func() { s.stack.Close(s.now) })
	// A microsecond later: the two FINs still cross, and the rows keep
	// the order the peer's tracepoint would give.
	s.at(50*ms+time.Microsecond, func() { s.peer.Close(s.now) })
	s.run(3 * time.Second)
	return s
}

func TestGoldenPeerLadders(t *testing.T) {
	for _, sc := range peerScenarios {
		t.Run(sc.name, func(t *testing.T) {
			s := sc.play(t)
			p := s.report()
			d, err := New(Connection{Events: s.events, Peer: p, Link: s.link}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", sc.name+".golden"), d.String())
			checkPeerColumn(t, d, p)
		})
	}
}

// checkPeerColumn checks what every diagram with a peer report must show:
// no inferred state, and the peer's states row by row in the order it
// reported them, each change once.
func checkPeerColumn(t *testing.T, d *Diagram, p *PeerReport) {
	t.Helper()
	peer := func(r SideState, _ SideState) SideState { return r }
	if d.Server.Report == p {
		peer = func(_ SideState, s SideState) SideState { return s }
	} else if d.Client.Report != p {
		t.Fatal("the report is on neither side")
	}
	initial := peer(d.Client.Initial, d.Server.Initial)
	path := []tcp.State{initial.State}
	for _, r := range d.Rows {
		st := peer(r.Client, r.Server)
		if !st.Known || st.Inferred {
			t.Errorf("row at %v: the peer's state %v is not its own", r.At, st)
		}
		if st.State != path[len(path)-1] {
			path = append(path, st.State)
		}
	}
	if want := p.States(); !slices.Equal(path, want) {
		t.Errorf("the peer's column goes %v, want %v", path, want)
	}
	if strings.Contains(d.String(), "~") {
		t.Errorf("a state is marked inferred:\n%s", d)
	}
}

// TestPeerSimultaneousClose checks the rows of the crossing FINs: the
// peer's FIN-WAIT-1 and CLOSING each on a row of its own, before the
// peer's FIN reaches the stack, and both sides in CLOSING.
func TestPeerSimultaneousClose(t *testing.T) {
	s := playSimultaneousClose(t)
	p := s.report()
	if want := []tcp.State{tcp.Listen, tcp.SynReceived, tcp.Established, tcp.FinWait1, tcp.Closing, tcp.TimeWait, tcp.Closed}; !slices.Equal(p.States(), want) {
		t.Fatalf("the peer went %v, want %v", p.States(), want)
	}
	d, err := New(Connection{Events: s.events, Peer: p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var peerRows []tcp.State
	closingBoth := false
	for _, r := range d.Rows {
		if r.Kind == RowPeer {
			peerRows = append(peerRows, r.Server.State)
		}
		if r.Client.State == tcp.Closing && r.Server.State == tcp.Closing {
			closingBoth = true
		}
	}
	if !slices.Equal(peerRows, []tcp.State{tcp.FinWait1, tcp.Closing, tcp.Closed}) {
		t.Errorf("rows of the peer's own: %v, want FIN-WAIT-1, CLOSING and the 2MSL end:\n%s", peerRows, d)
	}
	if !closingBoth {
		t.Errorf("no row with both sides in CLOSING:\n%s", d)
	}
	for _, want := range []string{
		"peer: FIN-WAIT-1 → CLOSING: RFC 9293 §3.10.7.4: FIN in FIN-WAIT-1 before our FIN is acknowledged: simultaneous close, enter CLOSING",
		"peer: CLOSING → TIME-WAIT: RFC 9293 §3.10.7.4: ACK of our FIN in CLOSING: enter TIME-WAIT",
		"tunstack is the client; the server is the peer, with its own states (from its engine)",
	} {
		if !strings.Contains(d.String(), want) {
			t.Errorf("diagram lacks %q:\n%s", want, d)
		}
	}
}

// TestPeerHandshakeJoinsItsCause: the kernel reports its listener's child
// going SYN-RECEIVED only when the handshake's ACK arrives; the row is the
// SYN's, which made the request.
func TestPeerHandshakeJoinsItsCause(t *testing.T) {
	s := playActiveClose(t)
	p := s.report()
	// Move the peer's LISTEN → SYN-RECEIVED to just before its
	// SYN-RECEIVED → ESTABLISHED, as Linux reports them.
	if p.Changes[0].To != tcp.SynReceived || p.Changes[1].To != tcp.Established {
		t.Fatalf("peer changes %+v", p.Changes[:2])
	}
	p.Changes[0].Time = p.Changes[1].Time.Add(-time.Microsecond)
	d, err := New(Connection{Events: s.events, Peer: p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := d.Rows[0]; r.Label[:3] != "SYN" || r.Server.State != tcp.SynReceived {
		t.Errorf("first row %q: server %v, want the SYN with the server in SYN-RECEIVED:\n%s", r.Label, r.Server, d)
	}
	checkPeerColumn(t, d, p)
}

// TestPeerWithoutSocket: a peer that reports nothing had no connection:
// CLOSED throughout, and its refusal is the stack's to explain.
func TestPeerWithoutSocket(t *testing.T) {
	id := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:49152"), Remote: netip.MustParseAddrPort("10.77.0.1:9")}
	rst := stack.Event{Kind: stack.EventSegmentIn, Conn: id, State: tcp.SynSent, Seg: stack.SegmentSummary{Flags: tcp.FlagRST | tcp.FlagACK, Ack: 101}}
	changed := rst
	changed.Kind, changed.From, changed.To, changed.State, changed.Reason = stack.EventStateChange, tcp.SynSent, tcp.Closed, tcp.Closed, tcp.ReasonSynSentRefused
	events := []stack.Event{
		{Kind: stack.EventStateChange, Conn: id, From: tcp.Closed, To: tcp.SynSent, State: tcp.SynSent, Reason: tcp.ReasonUserOpenActive},
		{Kind: stack.EventSegmentOut, Conn: id, State: tcp.SynSent, Seg: stack.SegmentSummary{Flags: tcp.FlagSYN, Seq: 100}},
		rst, changed,
	}
	p := &PeerReport{Name: "kernel", Source: "sock:inet_sock_set_state"}
	d, err := New(Connection{Events: events, Peer: p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkPeerColumn(t, d, p)
	if !strings.Contains(d.String(), "the server is the kernel, with its own states (from sock:inet_sock_set_state)") {
		t.Errorf("title does not say whose states these are:\n%s", d)
	}
}

// TestLinkEventMarksLostSegment: the lost SYN-ACK of playLostSynAck ends
// in a cross, with the note, and no peer change joins it.
func TestLinkEventMarksLostSegment(t *testing.T) {
	s := playLostSynAck(t)
	if len(s.link) != 1 {
		t.Fatalf("link events %+v, want the one lost SYN-ACK", s.link)
	}
	d, err := New(Connection{Events: s.events, Link: s.link}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, r := range d.Rows {
		if r.Kind == RowSegment && !r.FromClient && r.Dropped {
			lost++
			if !strings.HasPrefix(r.Label, "SYN-ACK") || !slices.Contains(r.Notes, "lost on the way") {
				t.Errorf("lost row %q notes %q", r.Label, r.Notes)
			}
		}
	}
	if lost != 1 {
		t.Errorf("%d lost rows, want 1:\n%s", lost, d)
	}
	if !strings.Contains(d.String(), "x-- SYN-ACK seq=y ack=x+1") {
		t.Errorf("the lost SYN-ACK is not drawn lost:\n%s", d)
	}
}

func TestEdgeReasons(t *testing.T) {
	for _, tc := range []struct {
		from, to tcp.State
		reset    bool
		want     tcp.Reason
	}{
		{tcp.Closed, tcp.SynSent, false, tcp.ReasonUserOpenActive},
		{tcp.Listen, tcp.SynReceived, false, tcp.ReasonListenSYN},
		{tcp.SynSent, tcp.Established, false, tcp.ReasonSynSentSynAck},
		{tcp.SynReceived, tcp.Established, false, tcp.ReasonSynReceivedACK},
		{tcp.Established, tcp.FinWait1, false, tcp.ReasonUserClose},
		{tcp.Established, tcp.CloseWait, false, tcp.ReasonFinReceived},
		{tcp.FinWait1, tcp.FinWait2, false, tcp.ReasonFinAcked},
		{tcp.FinWait1, tcp.Closing, false, tcp.ReasonFinInFinWait1},
		{tcp.FinWait2, tcp.TimeWait, false, tcp.ReasonFinInFinWait2},
		{tcp.Closing, tcp.TimeWait, false, tcp.ReasonClosingDone},
		{tcp.CloseWait, tcp.LastAck, false, tcp.ReasonUserClose},
		{tcp.LastAck, tcp.Closed, false, tcp.ReasonLastAckDone},
		{tcp.TimeWait, tcp.Closed, false, tcp.ReasonTimeWaitExpired},
		{tcp.SynSent, tcp.Closed, true, tcp.ReasonSynSentRefused},
		{tcp.Established, tcp.Closed, true, tcp.ReasonRSTReset},
		{tcp.Established, tcp.Closed, false, tcp.ReasonUserAbort},
		{tcp.Listen, tcp.Established, false, tcp.ReasonNone}, // not an edge of Figure 5
	} {
		if got := edgeReason(tc.from, tc.to, tc.reset); got != tc.want {
			t.Errorf("edgeReason(%v, %v, reset %v) = %v, want %v", tc.from, tc.to, tc.reset, got.Code(), tc.want.Code())
		}
	}
}

// TestPeerSVG renders the diagrams with the peer's own states as SVG:
// well-formed, every state in roman type (none inferred), and a mark on
// the peer's lifeline for each row of its own.
func TestPeerSVG(t *testing.T) {
	var diagrams []*Diagram
	peerRows := 0
	for _, sc := range peerScenarios {
		s := sc.play(t)
		d, err := New(Connection{Events: s.events, Peer: s.report(), Link: s.link}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range d.Rows {
			if r.Kind == RowPeer {
				peerRows++
			}
		}
		diagrams = append(diagrams, d)
	}
	var b strings.Builder
	if err := WriteSVG(&b, diagrams...); err != nil {
		t.Fatal(err)
	}
	parseSVG(t, b.String())
	if strings.Contains(b.String(), `class="inferred"`) {
		t.Error("a state is drawn as inferred")
	}
	if got := strings.Count(b.String(), `class="state-change"`); got < peerRows {
		t.Errorf("%d state-change marks, want at least the %d rows of the peer's own", got, peerRows)
	}
}
