package ladder

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

func TestCollectorHandsBackFinishedConnections(t *testing.T) {
	a := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	b := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40001")}
	seg := func(id tcp.ID, flags tcp.Flags) stack.Event {
		return stack.Event{Kind: stack.EventSegmentIn, Conn: id, Seg: stack.SegmentSummary{Flags: flags}}
	}
	state := func(id tcp.ID, from, to tcp.State) stack.Event {
		return stack.Event{Kind: stack.EventStateChange, Conn: id, From: from, To: to, State: to}
	}
	c := Collector{Limit: 3}
	for _, ev := range []stack.Event{
		seg(a, tcp.FlagSYN),
		state(a, tcp.Closed, tcp.Listen), // a passive open does not finish
		seg(b, tcp.FlagSYN),
		{Kind: stack.EventDrop, Detail: "ip-bad-checksum"}, // no connection: ignored
		seg(a, tcp.FlagACK),
		seg(a, tcp.FlagACK), // beyond the limit: only counted
		seg(a, tcp.FlagFIN|tcp.FlagACK),
	} {
		if conn, done := c.Add(ev); done {
			t.Fatalf("connection finished early: %+v", conn)
		}
	}
	conn, done := c.Add(state(a, tcp.LastAck, tcp.Closed))
	if !done {
		t.Fatal("CLOSED did not finish the connection")
	}
	if len(conn.Events) != 5 || conn.Omitted != 1 {
		t.Errorf("finished with %d events and %d omitted, want 5 and 1", len(conn.Events), conn.Omitted)
	}
	if _, done := c.Add(state(b, tcp.SynReceived, tcp.Listen)); !done {
		t.Error("going back to LISTEN did not finish the connection")
	}
	c.Add(seg(b, tcp.FlagSYN)) // the 4-tuple again: a new connection
	c.Add(seg(a, tcp.FlagSYN))
	left := c.Flush()
	if len(left) != 2 || left[0].Events[0].Conn != b || left[1].Events[0].Conn != a {
		t.Errorf("Flush = %+v, want b's then a's new connection", left)
	}
	if len(c.Flush()) != 0 {
		t.Error("second Flush returned connections again")
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New(Connection{}, Options{}); !errors.Is(err, ErrNoEvents) {
		t.Errorf("New(no events) = %v, want ErrNoEvents", err)
	}
	a := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:1")}
	b := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:2")}
	_, err := New(Connection{Events: []stack.Event{{Kind: stack.EventSegmentIn, Conn: a}, {Kind: stack.EventSegmentIn, Conn: b}}}, Options{})
	if !errors.Is(err, ErrMixedConnections) {
		t.Errorf("New(two connections) = %v, want ErrMixedConnections", err)
	}
}
