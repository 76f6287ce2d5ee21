package stack

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// listenScripted starts a stack with opts listening on port 80 and
// returns it, the listener and the peer's end of the link.
func listenScripted(t *testing.T, opts Options) (*running, net.Listener, *memLink) {
	t.Helper()
	s, link := startScripted(t, opts)
	ln, err := s.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return s, ln, link
}

// peerOnPort is a scripted peer at 10.77.0.1:port talking to the stack's
// port 80.
func peerOnPort(t *testing.T, link *memLink, port uint16) *scriptedPeer {
	return &scriptedPeer{t: t, link: link, seq: 1000,
		addr: netip.AddrPortFrom(peerAddr4, port), stack: netip.AddrPortFrom(stackAddr4, 80)}
}

// acceptOne accepts a connection within testTimeout.
func acceptOne(t *testing.T, ln net.Listener) *Conn {
	t.Helper()
	got := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Errorf("Accept: %v", err)
		}
		got <- c
	}()
	select {
	case c := <-got:
		if c == nil {
			t.FailNow()
		}
		return c.(*Conn)
	case <-time.After(testTimeout):
		t.Fatal("nothing to accept")
		return nil
	}
}

// isCookie reports whether a SYN-ACK could carry a cookie made now: the
// top five bits of its ISN are the cookie counter.
func isCookie(synAck tcp.Segment) bool {
	t := uint32(time.Now().Unix() >> 6)
	top := uint32(synAck.Seq) >> 27
	return top == t&31 || top == (t-1)&31
}

func TestSynQueueFullWithoutCookiesDropsSYN(t *testing.T) {
	s, _, link := listenScripted(t, Options{SynBacklog: 1, SynCookies: SynCookiesNever})
	first, second := peerOnPort(t, link, 40000), peerOnPort(t, link, 40001)
	first.send(tcp.FlagSYN, "")
	if seg := first.expect(false); seg.Flags != tcp.FlagSYN|tcp.FlagACK {
		t.Fatalf("got %v, want SYN-ACK", &seg)
	}
	second.send(tcp.FlagSYN, "") // the half-open queue holds the first
	ping(t, link)
	c := s.Counters()
	if c.Drops[dropSynQueueFull] != 1 || c.SYNQueueOverflows != 1 || c.SynCookiesSent != 0 {
		t.Fatalf("syn-queue-full drops %d, overflows %d, cookies %d; want 1, 1, 0", c.Drops[dropSynQueueFull], c.SYNQueueOverflows, c.SynCookiesSent)
	}
}

func TestSynQueueFullAnswersWithCookie(t *testing.T) {
	s, ln, link := listenScripted(t, Options{SynBacklog: 1})
	events, cancel := s.Subscribe(256)
	defer cancel()
	first, second := peerOnPort(t, link, 40000), peerOnPort(t, link, 40001)
	first.send(tcp.FlagSYN, "")
	first.expect(false) // half-open: the queue is now full
	second.send(tcp.FlagSYN, "")
	synAck := second.expect(false)
	if synAck.Flags != tcp.FlagSYN|tcp.FlagACK || synAck.Ack != 1001 || !isCookie(synAck) {
		t.Fatalf("got %v, want a SYN-ACK with a cookie", &synAck)
	}
	// The cookie made no state: the stack lists the first peer only.
	for _, info := range s.Connections() {
		if info.Status.ID.Remote == second.addr {
			t.Fatalf("a connection for the cookie's SYN: %+v", info.Status)
		}
	}
	second.ack = synAck.Seq.Add(1)
	second.send(tcp.FlagACK|tcp.FlagPSH, "hello") // the ACK may carry data
	c := acceptOne(t, ln)
	if c.ID().Remote != second.addr {
		t.Fatalf("accepted %v, want the cookie's peer %v", c.ID(), second.addr)
	}
	buf := make([]byte, 16)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v; want hello", buf[:n], err)
	}
	if want := []tcp.State{tcp.Closed, tcp.Listen, tcp.SynReceived, tcp.Established}; !slices.Equal(c.States(), want) {
		t.Errorf("states %v, want %v", c.States(), want)
	}
	counters := s.Counters()
	if counters.SynCookiesSent != 1 || counters.SynCookiesValidated != 1 || counters.SynCookiesRejected != 0 || counters.SYNQueueOverflows != 1 {
		t.Errorf("cookies sent %d validated %d rejected %d, overflows %d; want 1 1 0 1",
			counters.SynCookiesSent, counters.SynCookiesValidated, counters.SynCookiesRejected, counters.SYNQueueOverflows)
	}
	if counters.MIB.PassiveOpens != 2 {
		t.Errorf("passive opens %d, want 2: a cookie connection is one", counters.MIB.PassiveOpens)
	}
	// The trace shows the decisions with their reasons.
	var sent, valid bool
	for !sent || !valid {
		select {
		case ev := <-events:
			if ev.Conn.Remote != second.addr {
				continue
			}
			sent = sent || ev.Kind == EventSegmentOut && ev.Reason == tcp.ReasonSynCookieSent && ev.State == tcp.Listen && ev.ISN.LocalKnown && ev.ISN.Local == synAck.Seq
			valid = valid || ev.Kind == EventStateChange && ev.Reason == tcp.ReasonSynCookieValid && ev.To == tcp.SynReceived
		case <-time.After(testTimeout):
			t.Fatalf("events: cookie sent %v, validated %v; want both", sent, valid)
		}
	}
}

func TestSynCookiesAlways(t *testing.T) {
	s, ln, link := listenScripted(t, Options{SynCookies: SynCookiesAlways})
	peer := newScriptedPeer(t, link)
	synAck := peer.handshake()
	if !isCookie(synAck) {
		t.Fatalf("SYN-ACK seq %d is not a cookie", synAck.Seq)
	}
	c := acceptOne(t, ln)
	if _, err := c.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	if seg := peer.expect(true); string(seg.Payload) != "ok" || seg.Seq != synAck.Seq+1 {
		t.Fatalf("got %v %q, want ok at ISS+1", &seg, seg.Payload)
	}
	if got := s.Counters(); got.SynCookiesSent != 1 || got.SynCookiesValidated != 1 || got.SYNQueueOverflows != 0 {
		t.Fatalf("cookies sent %d validated %d overflows %d; want 1 1 0", got.SynCookiesSent, got.SynCookiesValidated, got.SYNQueueOverflows)
	}
}

func TestAcceptQueueFull(t *testing.T) {
	s, ln, link := listenScripted(t, Options{Backlog: 1, SynCookies: SynCookiesAlways})
	first, second, third := peerOnPort(t, link, 40000), peerOnPort(t, link, 40001), peerOnPort(t, link, 40002)
	first.send(tcp.FlagSYN, "")
	firstSynAck := first.expect(false)
	second.send(tcp.FlagSYN, "")
	secondSynAck := second.expect(false)
	first.ack = firstSynAck.Seq.Add(1)
	first.send(tcp.FlagACK, "") // fills the accept queue
	second.ack = secondSynAck.Seq.Add(1)
	second.send(tcp.FlagACK, "") // its cookie is good, the queue full
	third.send(tcp.FlagSYN, "")  // so is this SYN's
	ping(t, link)
	c := s.Counters()
	if c.AcceptQueueOverflows != 2 || c.Drops[dropAcceptQueueFull] != 2 || c.SynCookiesValidated != 1 || c.SynCookiesRejected != 0 {
		t.Fatalf("accept overflows %d, drops %d, validated %d, rejected %d; want 2, 2, 1, 0",
			c.AcceptQueueOverflows, c.Drops[dropAcceptQueueFull], c.SynCookiesValidated, c.SynCookiesRejected)
	}
	// ss shows the full queue as Linux does: Recv-Q 1, Send-Q 1.
	for _, info := range s.Connections() {
		if info.Status.State == tcp.Listen && info.Status.ID.Local.Addr().Is4() && (info.Status.RecvQueue != 1 || info.Status.SendQueue != 1) {
			t.Errorf("listener Recv-Q %d Send-Q %d, want 1 and 1", info.Status.RecvQueue, info.Status.SendQueue)
		}
	}
	// Once the application accepts, the second peer's next segment gets in
	// on the same cookie.
	if got := acceptOne(t, ln); got.ID().Remote != first.addr {
		t.Fatalf("accepted %v, want the first peer", got.ID())
	}
	second.send(tcp.FlagACK|tcp.FlagPSH, "again")
	if got := acceptOne(t, ln); got.ID().Remote != second.addr {
		t.Fatalf("accepted %v, want the second peer", got.ID())
	}
}

func TestSynCookieRejectedGetsRST(t *testing.T) {
	s, _, link := listenScripted(t, Options{SynCookies: SynCookiesAlways})
	peer := newScriptedPeer(t, link)
	peer.send(tcp.FlagSYN, "")
	synAck := peer.expect(false)
	peer.ack = synAck.Seq.Add(2) // not the cookie
	peer.seq = 1001
	peer.send(tcp.FlagACK, "")
	rst := peer.expect(false)
	if rst.Flags != tcp.FlagRST || rst.Seq != synAck.Seq.Add(2) {
		t.Fatalf("got %v, want RST seq=SEG.ACK", &rst)
	}
	c := s.Counters()
	if c.SynCookiesRejected != 1 || c.RSTsByReason["syncookie-rejected"] != 1 || c.SynCookiesValidated != 0 {
		t.Fatalf("rejected %d, RSTs %v, validated %d; want 1 RST for syncookie-rejected", c.SynCookiesRejected, c.RSTsByReason, c.SynCookiesValidated)
	}
}

func TestACKToListenerWithoutCookiesIsNotACookie(t *testing.T) {
	// With no cookie sent, an ACK to a listener is what RFC 9293 §3.10.7.2
	// says it is, and no cookie was rejected.
	s, _, link := listenScripted(t, Options{})
	peer := newScriptedPeer(t, link)
	peer.ack = 5000
	peer.send(tcp.FlagACK, "")
	if rst := peer.expect(false); rst.Flags != tcp.FlagRST || rst.Seq != 5000 {
		t.Fatalf("got %v, want RST seq=5000", &rst)
	}
	if c := s.Counters(); c.SynCookiesRejected != 0 || c.RSTsByReason["listen-ack-reset"] != 1 {
		t.Fatalf("rejected %d, RSTs %v; want 0 and one listen-ack-reset", c.SynCookiesRejected, c.RSTsByReason)
	}
}

func TestSynCookieConnectionBetweenStacks(t *testing.T) {
	// The client stack offers window scaling, SACK and timestamps; the
	// server answers every SYN with a cookie, which carries all three.
	a, b := newMemLinkPair()
	client := startStack(t, a, stackOptions(peerAddr4, peerAddr6))
	opts := stackOptions(stackAddr4, stackAddr6)
	opts.SynCookies = SynCookiesAlways
	server := startStack(t, b, opts)
	for _, addr := range []netip.Addr{stackAddr4, stackAddr6} {
		ln := listen(t, server, netip.AddrPortFrom(addr, 7).String())
		go ServeEcho(ln)
		c := dial(t, client, netip.AddrPortFrom(addr, 7).String())
		want := randomBytes(1 << 20)
		go c.Write(want)
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%v: echo: %v, or the bytes differ", addr, err)
		}
		// Still open: the server's side shows what the cookie carried.
		var found bool
		for _, info := range server.Connections() {
			st := info.Status
			if st.ID.Remote != c.LocalAddr().(*net.TCPAddr).AddrPort() {
				continue
			}
			found = true
			if !st.SACK || !st.Timestamps || st.SendWindowScale < 0 || st.RecvWindowScale < 0 {
				t.Errorf("%v: server side SACK %v timestamps %v scales %d/%d; want all from the cookie", addr, st.SACK, st.Timestamps, st.SendWindowScale, st.RecvWindowScale)
			}
		}
		if !found {
			t.Errorf("%v: the server lists no connection for %v", addr, c.LocalAddr())
		}
	}
	if got := server.Counters(); got.SynCookiesValidated != 2 {
		t.Errorf("cookies validated %d, want 2", got.SynCookiesValidated)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	client.Shutdown(ctx)
}

func TestParseSynCookieMode(t *testing.T) {
	for _, m := range []SynCookieMode{SynCookiesAuto, SynCookiesAlways, SynCookiesNever} {
		if got, err := ParseSynCookieMode(m.String()); err != nil || got != m {
			t.Errorf("ParseSynCookieMode(%q) = %v, %v", m, got, err)
		}
	}
	if _, err := ParseSynCookieMode("on"); err == nil {
		t.Error("ParseSynCookieMode(on) succeeded")
	}
	link, _ := newMemLinkPair()
	if _, err := New(link, Options{Addrs: []netip.Addr{stackAddr4}, SynCookies: 7}); err == nil {
		t.Error("New with an unknown cookie mode succeeded")
	}
}
