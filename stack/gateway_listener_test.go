package stack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// TestGatewayListenerTakesOtherAddresses: with a gateway listener, a SYN
// to an address that is not the stack's, on any port, is held for its
// Admit hook and, once accepted, becomes a connection whose local address
// is the one the client addressed; the stack's own address still goes to
// its own listeners (none here: RST), and once the gateway listener
// closes, the other address is not the stack's again.
func TestGatewayListenerTakesOtherAddresses(t *testing.T) {
	s, link := startScripted(t, Options{})
	requests := make(chan *SYNRequest, 4)
	ln, err := s.ListenGateway(ListenOptions{Admit: func(r *SYNRequest) { requests <- r }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListenGateway(ListenOptions{}); !errors.Is(err, ErrGatewayListening) {
		t.Errorf("a second gateway listener: %v, want ErrGatewayListening", err)
	}
	elsewhere := netip.MustParseAddrPort("192.0.2.10:8443")
	peer := newScriptedPeer(t, link)
	peer.stack = elsewhere
	peer.send(tcp.FlagSYN, "")
	r := nextRequest(t, requests)
	if want := (tcp.ID{Local: elsewhere, Remote: peer.addr}); r.ID() != want {
		t.Fatalf("request for %v, want %v", r.ID(), want)
	}
	r.Accept()
	synAck := peer.expect(false)
	if synAck.Flags != tcp.FlagSYN|tcp.FlagACK {
		t.Fatalf("got %v, want SYN-ACK", &synAck)
	}
	peer.ack = synAck.Seq.Add(1)
	peer.send(tcp.FlagACK, "")
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.LocalAddr().String(); got != elsewhere.String() {
		t.Errorf("LocalAddr %s, want %s", got, elsewhere)
	}
	c.(*Conn).Abort()
	peer.expect(false) // the abort's RST

	own := newScriptedPeer(t, link) // the stack's address, no listener: RST
	own.addr = netip.AddrPortFrom(peerAddr4, 40001)
	own.send(tcp.FlagSYN, "")
	if rst := own.expect(false); !rst.Flags.Has(tcp.FlagRST) {
		t.Errorf("SYN to the stack's own closed port got %v, want RST", &rst)
	}

	ln.Close()
	other := newScriptedPeer(t, link)
	other.addr = netip.AddrPortFrom(peerAddr4, 40002)
	other.stack = elsewhere
	other.send(tcp.FlagSYN, "")
	ping(t, link) // nothing came before the echo reply
	if d := s.Counters().Drops; d[dropNotOurAddress] != 1 {
		t.Errorf("drops %v, want the SYN after Close as not-our-address", d)
	}
}

// TestGatewayListenerKeepsMartianRules: a multicast or broadcast
// destination, or a martian source, is not taken by the gateway.
func TestGatewayListenerKeepsMartianRules(t *testing.T) {
	s, link := startScripted(t, Options{})
	requests := make(chan *SYNRequest, 4)
	ln, err := s.ListenGateway(ListenOptions{Admit: func(r *SYNRequest) { requests <- r }})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client := netip.AddrPortFrom(peerAddr4, 40000)
	link.send(tcpPacket(client, netip.MustParseAddrPort("224.0.0.1:80"), tcp.Segment{Flags: tcp.FlagSYN}))
	link.send(tcpPacket(client, netip.MustParseAddrPort("255.255.255.255:80"), tcp.Segment{Flags: tcp.FlagSYN}))
	link.send(tcpPacket(netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("192.0.2.10:80"), tcp.Segment{Flags: tcp.FlagSYN}))
	ping(t, link)
	select {
	case r := <-requests:
		t.Fatalf("the gateway was asked for %v", r.ID())
	default:
	}
	d := s.Counters().Drops
	if d[dropMartianDestMulticast] != 1 || d[dropMartianDestBroadcast] != 1 || d[dropMartianSourceLoopback] != 1 {
		t.Errorf("drops %v, want one multicast, one broadcast destination and one loopback source", d)
	}
}

// TestUnreachableSYNGetsDestinationUnreachable: a gateway whose connect
// found no route or no host answers the held SYN as a router does: an
// ICMP destination unreachable from the stack's address, host or net by
// the connect's errno, quoting the SYN's headers; counted, and within the
// ICMP rate limit.
func TestUnreachableSYNGetsDestinationUnreachable(t *testing.T) {
	for _, tt := range []struct {
		name         string
		client, dst  netip.AddrPort
		router       netip.Addr
		err          error
		typ, code    uint8
		quotedHeader int
	}{
		{"IPv4 host", netip.AddrPortFrom(peerAddr4, 40000), netip.MustParseAddrPort("192.0.2.10:80"), stackAddr4, syscall.EHOSTUNREACH, 3, 1, 20 + 20},
		{"IPv4 net", netip.AddrPortFrom(peerAddr4, 40000), netip.MustParseAddrPort("192.0.2.10:80"), stackAddr4, syscall.ENETUNREACH, 3, 0, 20 + 20},
		{"IPv6 address", netip.AddrPortFrom(peerAddr6, 40000), netip.MustParseAddrPort("[2001:db8::10]:80"), stackAddr6, syscall.EHOSTUNREACH, 1, 3, 40 + 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, link := startScripted(t, Options{ICMPRateLimit: 1})
			requests := make(chan *SYNRequest, 4)
			ln, err := s.ListenGateway(ListenOptions{Admit: func(r *SYNRequest) { requests <- r }})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			syn := tcp.Segment{Flags: tcp.FlagSYN, Seq: 7000}
			link.send(tcpPacket(tt.client, tt.dst, syn))
			nextRequest(t, requests).Unreachable("test:unreachable", fmt.Errorf("dial: %w", tt.err))
			got := link.recv(t, testTimeout)
			testkit.IP(t, got, testkit.SrcAddr(tt.router), testkit.DstAddr(tt.client.Addr()), testkit.ICMP(testkit.ICMPType(tt.typ, tt.code)))
			// The quote: the SYN's IP header and TCP header, whose
			// ports and sequence number the client's kernel matches.
			quote := got[len(got)-tt.quotedHeader:]
			tcpHeader := quote[len(quote)-20:]
			if p := binary.BigEndian.Uint16(tcpHeader[0:2]); p != tt.client.Port() || binary.BigEndian.Uint32(tcpHeader[4:8]) != 7000 {
				t.Errorf("quoted TCP header % x: want source port %d and sequence number 7000", tcpHeader, tt.client.Port())
			}
			if c := s.Counters(); c.Unreachables != 1 || c.Drops["test:unreachable"] != 1 {
				t.Errorf("unreachables %d, drops %v; want 1 and the SYN dropped as test:unreachable", c.Unreachables, c.Drops)
			}
			// A second one within the limit's burst of one is held back.
			link.send(tcpPacket(netip.AddrPortFrom(tt.client.Addr(), 40001), tt.dst, syn))
			nextRequest(t, requests).Unreachable("test:unreachable", tt.err)
			testkit.WaitFor(t, testTimeout, "the second unreachable held back", func() (bool, string) {
				c := s.Counters()
				return c.RateLimited["icmp-ratelimit"] == 1 && c.Unreachables == 1, fmt.Sprintf("%v, %d sent", c.RateLimited, c.Unreachables)
			})
		})
	}
}
