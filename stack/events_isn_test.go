package stack

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// TestEventsCarryStatesAndISNs follows the server's side of a handshake:
// every segment says the state it met and carries its options, and
// sequence numbers come out relative to each side's ISN, as the trace and
// the ladder show them.
func TestEventsCarryStatesAndISNs(t *testing.T) {
	client, srv := startPair(t)
	events, cancel := srv.Subscribe(1000)
	defer cancel()
	ln := listen(t, srv, ":80")
	accepted := make(chan net.Conn, 1)
	go func() {
		sc, err := ln.Accept()
		if err != nil {
			t.Errorf("Accept: %v", err)
			close(accepted)
			return
		}
		accepted <- sc
		io.Copy(io.Discard, sc)
		sc.Close()
	}()
	c := dial(t, client, "10.77.0.2:80")
	// Close only once the server has the handshake's ACK: a Close that
	// the client's loop sees before it sends that ACK makes it a FIN-ACK.
	if <-accepted == nil {
		t.FailNow()
	}
	c.Close()
	serverID := tcp.ID{Local: c.ID().Remote, Remote: c.ID().Local}

	type seen struct {
		kind           EventKind
		flags          tcp.Flags
		state          tcp.State
		relSeq, relAck uint32
		seqOK, ackOK   bool
		mss            uint16
	}
	var got []seen
	timeout := time.After(testTimeout)
	for closed := false; !closed; {
		var ev Event
		select {
		case ev = <-events:
		case <-timeout:
			t.Fatalf("no CLOSED event; saw %+v", got)
		}
		if ev.Conn != serverID {
			continue
		}
		if ev.Kind == EventStateChange {
			closed = ev.To == tcp.Closed
			if ev.State != ev.To {
				t.Errorf("state change %v → %v has State %v, want To", ev.From, ev.To, ev.State)
			}
			continue
		}
		s := seen{kind: ev.Kind, flags: ev.Seg.Flags, state: ev.State, mss: ev.Seg.Options.MSS}
		s.relSeq, s.seqOK = ev.RelSeq()
		s.relAck, s.ackOK = ev.RelAck()
		got = append(got, s)
	}
	if len(got) < 3 {
		t.Fatalf("saw %+v, want at least SYN, SYN-ACK, ACK", got)
	}
	mss := srv.cfg4.MSS
	want := []seen{
		// The SYN meets the listener; the peer's ISN is the SYN's seq,
		// the stack has none yet.
		{EventSegmentIn, tcp.FlagSYN, tcp.Listen, 0, 0, true, false, mss},
		{EventSegmentOut, tcp.FlagSYN | tcp.FlagACK, tcp.SynReceived, 0, 1, true, true, mss},
		{EventSegmentIn, tcp.FlagACK, tcp.SynReceived, 1, 1, true, true, 0},
	}
	for i, w := range want {
		g := got[i]
		if w.kind != g.kind || w.flags != g.flags || w.state != g.state || w.seqOK != g.seqOK || w.ackOK != g.ackOK ||
			(w.seqOK && w.relSeq != g.relSeq) || (w.ackOK && w.relAck != g.relAck) || w.mss != g.mss {
			t.Errorf("event %d = %+v, want %+v", i, g, w)
		}
	}
}

// TestNoListenerDropSaysClosed: a segment nothing takes meets CLOSED.
func TestNoListenerDropSaysClosed(t *testing.T) {
	client, srv := startPair(t)
	events, cancel := srv.Subscribe(100)
	defer cancel()
	ctx, stop := context.WithTimeout(context.Background(), testTimeout)
	defer stop()
	if _, err := client.DialContext(ctx, "tcp", "10.77.0.2:4242"); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	timeout := time.After(testTimeout)
	for {
		var ev Event
		select {
		case ev = <-events:
		case <-timeout:
			t.Fatal("no no-listener drop event")
		}
		if ev.Kind == EventDrop && ev.Detail == dropNoListener {
			if ev.State != tcp.Closed || !ev.ISN.RemoteKnown || ev.ISN.Remote != ev.Seg.Seq {
				t.Errorf("drop = %+v, want state CLOSED and the SYN's seq as the peer's ISN", ev)
			}
			return
		}
	}
}

// TestConnectionsSayHowLong: a snapshot says when each connection entered
// its state and what waits between the application and the engine.
func TestConnectionsSayHowLong(t *testing.T) {
	client, srv := startPair(t)
	ln := listen(t, srv, ":7")
	accepted := make(chan *Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c.(*Conn)
		}
	}()
	before := time.Now()
	c := dial(t, client, "10.77.0.2:7")
	if _, err := c.Write([]byte("unread")); err != nil {
		t.Fatal(err)
	}
	serverConn := <-accepted
	defer serverConn.Close()
	var info ConnInfo
	testkit.Eventually(t, "the server to hold the unread bytes", func() bool {
		for _, i := range srv.Connections() {
			if i.Status.ID == serverConn.ID() {
				info = i
				return i.Unread+i.Status.RecvQueue == len("unread")
			}
		}
		return false
	})
	if info.Status.State != tcp.Established || info.Since.Before(before) || info.At.Before(info.Since) {
		t.Errorf("info = state %v since %v at %v, want ESTABLISHED since after %v", info.Status.State, info.Since, info.At, before)
	}
	if info.AppClosed {
		t.Error("AppClosed before the application closed")
	}
	serverConn.CloseWrite()
	testkit.Eventually(t, "AppClosed after CloseWrite", func() bool {
		for _, i := range srv.Connections() {
			if i.Status.ID == serverConn.ID() {
				return i.AppClosed
			}
		}
		return false
	})
}

// TestTimeWaitRecordSaysHowLong: a connection in TIME-WAIT, shrunk to its
// record or not, still says since when and how long 2*MSL has left.
func TestTimeWaitRecordSaysHowLong(t *testing.T) {
	client, srv := startPair(t)
	go ServeDiscard(listen(t, srv, ":9"))
	before := time.Now()
	c := dial(t, client, "10.77.0.2:9")
	c.Close() // the client closes first: its end waits out 2*MSL
	var info ConnInfo
	testkit.Eventually(t, "the client's end in TIME-WAIT", func() bool {
		for _, i := range client.Connections() {
			if i.Status.ID == c.ID() && i.Status.State == tcp.TimeWait {
				info = i
				return true
			}
		}
		return false
	})
	if info.Since.Before(before) || info.At.Before(info.Since) {
		t.Errorf("TIME-WAIT since %v at %v, want since after %v", info.Since, info.At, before)
	}
	if left := info.Status.TimeWaitAt.Sub(info.At); left <= 0 || left > 2*tcp.DefaultMSL {
		t.Errorf("2*MSL left %v, want some of %v", left, 2*tcp.DefaultMSL)
	}
}
