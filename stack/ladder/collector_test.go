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

// TestCollectorDrawsTimeWaitOnEntry: a connection is handed back as it
// enters TIME-WAIT; what follows there is left out, and a new SYN that
// ends TIME-WAIT (RFC 6191) starts the next connection of the 4-tuple.
func TestCollectorDrawsTimeWaitOnEntry(t *testing.T) {
	a := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:40000"), Remote: netip.MustParseAddrPort("10.77.0.1:80")}
	in := func(flags tcp.Flags) stack.Event {
		return stack.Event{Kind: stack.EventSegmentIn, Conn: a, State: tcp.TimeWait, Seg: stack.SegmentSummary{Flags: flags}}
	}
	state := func(from, to tcp.State, why tcp.Reason) stack.Event {
		return stack.Event{Kind: stack.EventStateChange, Conn: a, From: from, To: to, State: to, Reason: why}
	}
	var c Collector
	for _, ev := range []stack.Event{state(tcp.Closed, tcp.SynSent, tcp.ReasonNone), state(tcp.SynSent, tcp.Established, tcp.ReasonNone),
		state(tcp.Established, tcp.FinWait1, tcp.ReasonNone), state(tcp.FinWait1, tcp.FinWait2, tcp.ReasonNone)} {
		if _, done := c.Add(ev); done {
			t.Fatalf("finished at %v → %v", ev.From, ev.To)
		}
	}
	conn, done := c.Add(state(tcp.FinWait2, tcp.TimeWait, tcp.ReasonNone))
	if !done || len(conn.Events) != 5 {
		t.Fatalf("entering TIME-WAIT: done %v with %d events, want the connection's 5", done, len(conn.Events))
	}
	// In TIME-WAIT: a retransmitted FIN, then 2MSL ends. Nothing more is
	// drawn and nothing is left unfinished.
	for _, ev := range []stack.Event{in(tcp.FlagFIN | tcp.FlagACK), state(tcp.TimeWait, tcp.Closed, tcp.ReasonTimeWaitExpired)} {
		if conn, done := c.Add(ev); done {
			t.Fatalf("an event of TIME-WAIT finished a connection: %+v", conn)
		}
	}
	if left := c.Flush(); len(left) != 0 {
		t.Fatalf("after TIME-WAIT ended, Flush = %+v", left)
	}

	// Again, and this time a new SYN ends TIME-WAIT: it opens the next
	// connection, which finishes on its own.
	c.Add(state(tcp.FinWait2, tcp.TimeWait, tcp.ReasonNone))
	c.Add(in(tcp.FlagSYN))
	c.Add(state(tcp.TimeWait, tcp.Closed, tcp.ReasonTimeWaitReopen))
	c.Add(state(tcp.Listen, tcp.SynReceived, tcp.ReasonListenSYN))
	conn, done = c.Add(state(tcp.SynReceived, tcp.Listen, tcp.ReasonNone))
	if !done || len(conn.Events) != 3 || conn.Events[0].Seg.Flags != tcp.FlagSYN {
		t.Fatalf("the connection a new SYN opened in TIME-WAIT: done %v, events %+v; want the SYN and two state changes", done, conn.Events)
	}
}
