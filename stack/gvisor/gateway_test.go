package gvisor_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/gvisor"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
	"github.com/tunstack/tunstack/tundev"
)

// Destinations that are not the gVisor stack's: only its gateway takes
// them.
const (
	foreign  = "192.0.2.10"
	foreign6 = "2001:db8::10"
)

// gatewayConn is what the gateway's connections offer beyond net.Conn,
// as the relay uses them.
type gatewayConn interface {
	net.Conn
	ID() tcp.ID
	CloseWrite() error
	Abort() error
}

// listenGateway makes gv's gateway listener with an Admit hook that hands
// each SYN to the test.
func listenGateway(t *testing.T, gv *gvisor.Stack) (net.Listener, <-chan *gvisor.SYNRequest) {
	t.Helper()
	syns := make(chan *gvisor.SYNRequest, 16)
	ln, err := gv.ListenGateway(func(r *gvisor.SYNRequest) { syns <- r }, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, syns
}

func nextSYN(t *testing.T, syns <-chan *gvisor.SYNRequest) *gvisor.SYNRequest {
	t.Helper()
	select {
	case r := <-syns:
		return r
	case <-time.After(testkit.DefaultTimeout):
		t.Fatal("no SYN reached the gateway's Admit hook")
		return nil
	}
}

type dialResult struct {
	conn net.Conn
	err  error
}

// dialAsync dials address from the native peer and reports the result.
func dialAsync(t *testing.T, p pair, network, address string) <-chan dialResult {
	ctx, cancel := context.WithTimeout(context.Background(), testkit.DefaultTimeout)
	t.Cleanup(cancel)
	done := make(chan dialResult, 1)
	go func() {
		c, err := p.peer.DialContext(ctx, network, address)
		if c != nil {
			t.Cleanup(func() { c.Close() })
		}
		done <- dialResult{c, err}
	}()
	return done
}

func waitDial(t *testing.T, dialed <-chan dialResult) dialResult {
	t.Helper()
	select {
	case r := <-dialed:
		return r
	case <-time.After(testkit.DefaultTimeout + time.Second):
		t.Fatal("the peer's dial did not return")
		return dialResult{}
	}
}

// TestGatewayHoldsSYNUntilAccepted: a SYN to an address not the stack's
// gets no answer until the gateway decides it. Dropped, it draws the
// peer's retransmission, which is decided afresh; accepted, the
// handshake completes and the connection, addressed from the destination
// the client chose, carries bytes and FINs both ways.
//
// A service listening on all of the stack's addresses on the same port
// takes none of these connections.
func TestGatewayHoldsSYNUntilAccepted(t *testing.T) {
	p := newPair(t)
	ln, syns := listenGateway(t, p.gv)
	service, err := p.gv.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer service.Close()
	for _, dst := range []string{foreign + ":80", "[" + foreign6 + "]:80"} {
		dialed := dialAsync(t, p, "tcp", dst)
		first := nextSYN(t, syns)
		if got := first.ID().Local.String(); got != dst {
			t.Fatalf("SYN for %s, want %s", got, dst)
		}
		first.Drop("test:no-answer")
		// Nothing answered the first SYN, or the peer would not send
		// another.
		second := nextSYN(t, syns)
		if second.ID() != first.ID() {
			t.Fatalf("retransmitted SYN %v, want %v", second.ID(), first.ID())
		}
		select {
		case r := <-dialed:
			t.Fatalf("the peer's dial returned (%v) before the gateway accepted its SYN", r.err)
		default:
		}
		second.Accept()
		r := waitDial(t, dialed)
		if r.err != nil {
			t.Fatalf("dial %s through the gateway: %v", dst, r.err)
		}
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		relayed := c.(gatewayConn)
		defer relayed.Close()
		if relayed.ID() != first.ID() || relayed.LocalAddr().String() != dst {
			t.Errorf("accepted %v from %v, want %v from %s", relayed.ID(), relayed.LocalAddr(), first.ID(), dst)
		}

		relayed.SetDeadline(time.Now().Add(testkit.DefaultTimeout))
		r.conn.SetDeadline(time.Now().Add(testkit.DefaultTimeout))
		r.conn.Write([]byte("request"))
		r.conn.(gatewayConn).CloseWrite()
		if got, err := io.ReadAll(relayed); err != nil || string(got) != "request" {
			t.Fatalf("gateway read %q, %v; want the request, then EOF", got, err)
		}
		relayed.Write([]byte("answer after the FIN"))
		relayed.CloseWrite()
		if got, err := io.ReadAll(r.conn); err != nil || string(got) != "answer after the FIN" {
			t.Fatalf("peer read %q, %v; want the answer, then EOF", got, err)
		}
	}
	if d := p.gv.Counters().Drops["test:no-answer"]; d != 2 {
		t.Errorf("drops test:no-answer = %d, want 2", d)
	}
}

// TestGatewayRefuseResets: a refused SYN draws a RST (the peer's dial
// fails with ECONNREFUSED), counted by its reason; a closed port of the
// stack's own address is answered with a RST as before, without asking
// the gateway.
func TestGatewayRefuseResets(t *testing.T) {
	p := newPair(t)
	_, syns := listenGateway(t, p.gv)
	for _, dst := range []string{foreign + ":81", "[" + foreign6 + "]:81"} {
		dialed := dialAsync(t, p, "tcp", dst)
		nextSYN(t, syns).Refuse("test:refused")
		if r := waitDial(t, dialed); !errors.Is(r.err, syscall.ECONNREFUSED) {
			t.Errorf("dial %s refused by the gateway: %v, want ECONNREFUSED", dst, r.err)
		}
	}
	if c := p.gv.Counters(); c.RSTsByReason["test:refused"] != 2 || c.Drops["test:refused"] != 2 {
		t.Errorf("RSTs %v, drops %v: want 2 test:refused in each", c.RSTsByReason, c.Drops)
	}
	if r := waitDial(t, dialAsync(t, p, "tcp", "10.77.0.2:81")); !errors.Is(r.err, syscall.ECONNREFUSED) {
		t.Errorf("dial to the stack's closed port: %v, want ECONNREFUSED", r.err)
	}
	select {
	case r := <-syns:
		t.Errorf("the gateway was asked for %v, one of the stack's own addresses", r.ID())
	default:
	}
}

// TestGatewayAbortResets: a relayed connection's Abort resets the peer's.
func TestGatewayAbortResets(t *testing.T) {
	p := newPair(t)
	ln, syns := listenGateway(t, p.gv)
	dialed := dialAsync(t, p, "tcp4", foreign+":82")
	nextSYN(t, syns).Accept()
	r := waitDial(t, dialed)
	if r.err != nil {
		t.Fatal(r.err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.(gatewayConn).Abort()
	r.conn.SetReadDeadline(time.Now().Add(testkit.DefaultTimeout))
	if _, err := r.conn.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("peer's read after the gateway's Abort: %v, want ECONNRESET", err)
	}
	ln.Close()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
}

// TestGatewayUDPFlows: the first datagram of a flow to an address not the
// stack's is offered to Options.UDPForward; the flow's socket gets it and
// the next ones, and answers from the destination the client addressed.
// A flow not taken is dropped, counted; a closed port of the stack's own
// address still draws a port unreachable, and a socket on all of the
// stack's addresses on the flows' port takes none of them.
func TestGatewayUDPFlows(t *testing.T) {
	offers := make(chan net.Conn, 4)
	p := newPairWith(t, gvisor.Options{UDPForward: func(r *gvisor.UDPForwardRequest) {
		if r.Local.Port() != 53 {
			return // not taken
		}
		c, err := r.Accept()
		if err != nil {
			t.Errorf("Accept of %v: %v", r.Local, err)
			return
		}
		offers <- c
	}})
	service, err := p.gv.ListenPacket("udp", ":53")
	if err != nil {
		t.Fatal(err)
	}
	defer service.Close()
	for _, dst := range []string{foreign + ":53", "[" + foreign6 + "]:53"} {
		client, err := p.peer.DialUDP("udp", dst)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		client.SetDeadline(time.Now().Add(testkit.DefaultTimeout))
		client.Write([]byte("first"))
		var flow net.Conn
		select {
		case flow = <-offers:
		case <-time.After(testkit.DefaultTimeout):
			t.Fatalf("no flow to %s offered", dst)
		}
		defer flow.Close()
		if flow.LocalAddr().String() != dst || flow.RemoteAddr().String() != client.LocalAddr().String() {
			t.Errorf("flow %v-%v, want %s-%v", flow.LocalAddr(), flow.RemoteAddr(), dst, client.LocalAddr())
		}
		client.Write([]byte("second"))
		flow.SetDeadline(time.Now().Add(testkit.DefaultTimeout))
		buf := make([]byte, 100)
		for _, want := range []string{"first", "second"} {
			if n, err := flow.Read(buf); err != nil || string(buf[:n]) != want {
				t.Fatalf("flow read %q, %v; want %q", buf[:n], err, want)
			}
		}
		flow.Write([]byte("answer"))
		// The peer's socket is connected to dst: it reads only what
		// comes from there.
		if n, err := client.Read(buf); err != nil || string(buf[:n]) != "answer" {
			t.Fatalf("client read %q, %v; want the answer from %s", buf[:n], err, dst)
		}
	}
	select {
	case c := <-offers:
		t.Errorf("a second flow offered (%v): the flow's next datagram belongs to its socket", c.LocalAddr())
	default:
	}

	notTaken, err := p.peer.DialUDP("udp4", foreign+":54")
	if err != nil {
		t.Fatal(err)
	}
	defer notTaken.Close()
	notTaken.Write([]byte("anyone?"))
	testkit.Eventually(t, "the flow not taken counted as udp-not-forwarded", func() bool {
		return p.gv.Counters().Drops["udp-not-forwarded"] == 1
	})
	closed, err := p.peer.DialUDP("udp4", "10.77.0.2:54")
	if err != nil {
		t.Fatal(err)
	}
	defer closed.Close()
	closed.SetDeadline(time.Now().Add(testkit.DefaultTimeout))
	closed.Write([]byte("anyone?"))
	if _, err := closed.Read(make([]byte, 10)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("to the stack's own closed port: %v, want ECONNREFUSED", err)
	}
}

// TestGatewayNoEchoForOthers: with a gateway, gVisor's NIC takes packets
// to any address, but an echo request to one not the stack's is dropped
// (not-our-address), as the native gateway drops it, rather than answered
// from that address; the stack's own addresses still answer.
func TestGatewayNoEchoForOthers(t *testing.T) {
	mem, peer := tundev.NewPipe(1500, 16)
	gv, err := gvisor.New(mem, gvisor.Options{Addrs: []netip.Addr{gvisorAddr, gvisorAddr6}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- gv.Run(context.Background()) }()
	defer func() {
		gv.Shutdown(context.Background())
		mem.Close()
		<-done
	}()
	if _, err := gv.ListenGateway(nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ src, own, other netip.Addr }{
		{peerAddr, gvisorAddr, netip.MustParseAddr(foreign)},
		{peerAddr6, gvisorAddr6, netip.MustParseAddr(foreign6)},
	} {
		// The reader delivers in order and gVisor answers an echo as
		// it delivers it: the first answer is to the one sent second
		// unless the first was answered too.
		peer.Inject(testkit.EchoRequest(tt.src, tt.other, 1, 1, []byte("other")))
		peer.Inject(testkit.EchoRequest(tt.src, tt.own, 1, 2, []byte("own")))
		ctx, cancel := context.WithTimeout(context.Background(), testkit.DefaultTimeout)
		reply, err := peer.Receive(ctx)
		cancel()
		if err != nil {
			t.Fatalf("no echo reply from %v: %v", tt.own, err)
		}
		if src := replySource(reply); src != tt.own {
			t.Errorf("first echo reply from %v, want %v's alone", src, tt.own)
		}
	}
	if d := gv.Counters().Drops["not-our-address"]; d != 2 {
		t.Errorf("not-our-address drops = %d, want the 2 echo requests", d)
	}
}

// replySource is an IP packet's source address.
func replySource(pkt []byte) netip.Addr {
	if len(pkt) >= 40 && pkt[0]>>4 == 6 {
		return netip.AddrFrom16([16]byte(pkt[8:24]))
	}
	if len(pkt) >= 20 {
		return netip.AddrFrom4([4]byte(pkt[12:16]))
	}
	return netip.Addr{}
}
