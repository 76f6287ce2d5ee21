package stack

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"syscall"
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

// TestUDPFlowPortUnreachable: a gateway's flow socket tells its client
// that the destination refused: a port unreachable from the destination,
// quoting the flow's headers, within the ICMP rate limit; a socket that
// is not a flow's may not.
func TestUDPFlowPortUnreachable(t *testing.T) {
	for _, tt := range []struct {
		name          string
		client, dst   netip.AddrPort
		typ, code     uint8
		quotedHeaders int
	}{
		{"IPv4", netip.AddrPortFrom(peerAddr4, 40000), netip.MustParseAddrPort("192.0.2.10:53"), 3, 3, 20 + 8},
		{"IPv6", netip.AddrPortFrom(peerAddr6, 40000), netip.MustParseAddrPort("[2001:db8::10]:53"), 1, 4, 40 + 8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			flows := make(chan *UDPConn, 1)
			s, peer := startScripted(t, Options{ICMPRateLimit: 1, UDPForward: func(r *UDPForwardRequest) {
				c, err := r.Accept()
				if err != nil {
					t.Error(err)
					return
				}
				flows <- c
			}})
			peer.send(testkit.UDPPacket(tt.client, tt.dst, []byte("query")))
			var c *UDPConn
			select {
			case c = <-flows:
			case <-time.After(testTimeout):
				t.Fatal("no flow offered")
			}
			defer c.Close()
			if err := c.PortUnreachable(); err != nil {
				t.Fatal(err)
			}
			// The quote is a datagram of the flow's, client to
			// destination, with no data: its IP header as the stack
			// builds one (DF set on IPv4), and its UDP header.
			quoted := testkit.UDPPacket(tt.client, tt.dst, nil)
			if len(quoted) != tt.quotedHeaders {
				t.Fatalf("the quoted datagram is %d bytes, want %d", len(quoted), tt.quotedHeaders)
			}
			udpHeader := quoted[len(quoted)-8:]
			got := peer.recv(t, testTimeout)
			testkit.IP(t, got, testkit.SrcAddr(tt.dst.Addr()), testkit.DstAddr(tt.client.Addr()),
				testkit.ICMP(testkit.ICMPType(tt.typ, tt.code)))
			ipHeader := tt.quotedHeaders - 8
			if want := ipHeader + 8 + tt.quotedHeaders; !bytes.HasSuffix(got, udpHeader) || len(got) != want {
				t.Errorf("the error is % x, want %d bytes ending in the flow's UDP header % x", got, want, udpHeader)
			}
			// The rate limit (a burst of one) holds back the next.
			c.PortUnreachable()
			testkit.WaitFor(t, testTimeout, "the second port unreachable held back", func() (bool, string) {
				u := s.Counters().UDP
				return u.PortUnreachables == 1 && u.PortUnreachablesLimited == 1, fmt.Sprintf("sent %d, held back %d", u.PortUnreachables, u.PortUnreachablesLimited)
			})
		})
	}
}

func TestUDPPortUnreachableIsAFlowsOnly(t *testing.T) {
	s, _ := startScripted(t, Options{})
	pc, err := s.ListenPacket("udp", ":5353")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := pc.(*UDPConn).PortUnreachable(); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Errorf("PortUnreachable on a listening socket: %v, want EOPNOTSUPP", err)
	}
}
