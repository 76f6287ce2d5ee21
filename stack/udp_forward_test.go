package stack

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// TestUDPForwardAcceptsFlows: with Options.UDPForward, a datagram to an
// address that is not the stack's is offered once per flow; the socket
// accepted takes the flow's datagrams and answers from the address the
// client sent to, as a gateway must.
func TestUDPForwardAcceptsFlows(t *testing.T) {
	elsewhere := netip.MustParseAddrPort("192.0.2.10:53")
	client := netip.AddrPortFrom(peerAddr4, 40000)
	flows := make(chan *UDPConn, 4)
	var offered atomic.Int32
	s, peer := startScripted(t, Options{UDPForward: func(r *UDPForwardRequest) {
		offered.Add(1)
		if r.Local != elsewhere || r.Remote != client || string(r.Payload) != "query 1" {
			t.Errorf("offered %v -> %v %q", r.Remote, r.Local, r.Payload)
		}
		c, err := r.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		flows <- c
	}})
	peer.send(testkit.UDPPacket(client, elsewhere, []byte("query 1")))
	peer.send(testkit.UDPPacket(client, elsewhere, []byte("query 2")))
	var c *UDPConn
	select {
	case c = <-flows:
	case <-time.After(testTimeout):
		t.Fatal("no flow offered")
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, 100)
	for _, want := range []string{"query 1", "query 2"} {
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("flow read %q, %v; want %q", buf[:n], err, want)
		}
	}
	if _, err := c.Write([]byte("answer")); err != nil {
		t.Fatal(err)
	}
	testkit.IP(t, peer.recv(t, testTimeout), testkit.SrcAddr(elsewhere.Addr()), testkit.DstAddr(peerAddr4),
		testkit.UDP(testkit.SrcPort(53), testkit.DstPort(40000), testkit.UDPPayload([]byte("answer"))))
	if n := offered.Load(); n != 1 {
		t.Errorf("the flow was offered %d times, want once", n)
	}
	// Once closed, the flow's next datagram is offered again; TCP to the
	// address is still not the stack's, nor is UDP to a broadcast address.
	c.Close()
	peer.send(testkit.UDPPacket(client, elsewhere, []byte("query 1")))
	peer.send(testkit.UDPPacket(client, netip.MustParseAddrPort("255.255.255.255:67"), []byte("dhcp")))
	peer.send(tcpPacket(client, netip.AddrPortFrom(elsewhere.Addr(), 80), tcp.Segment{Flags: tcp.FlagSYN}))
	select {
	case c = <-flows:
		c.Close()
	case <-time.After(testTimeout):
		t.Fatal("no flow offered after the first closed")
	}
	ping(t, peer)
	if d := s.Counters().Drops; d[dropNotOurAddress] != 2 {
		t.Errorf("drops %v, want the SYN and the broadcast not-our-address", d)
	}
}

func TestUDPWithoutForwardIsNotOurs(t *testing.T) {
	s, peer := startScripted(t, Options{})
	peer.send(testkit.UDPPacket(netip.AddrPortFrom(peerAddr4, 40000), netip.MustParseAddrPort("192.0.2.10:53"), []byte("q")))
	ping(t, peer) // nothing came before the echo reply: no port unreachable
	if d := s.Counters().Drops[dropNotOurAddress]; d != 1 {
		t.Errorf("not-our-address drops %d, want 1", d)
	}
}
