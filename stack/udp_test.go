package stack

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
)

// listenUDP opens a socket on the stack or fails the test; it closes when
// the test ends.
func listenUDP(t *testing.T, s *running, network, address string) *UDPConn {
	t.Helper()
	c, err := s.ListenUDP(network, address)
	if err != nil {
		t.Fatalf("ListenUDP(%q, %q): %v", network, address, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// serveUDPEcho runs the echo service on port 7 of every address.
func serveUDPEcho(t *testing.T, s *running) {
	t.Helper()
	c := listenUDP(t, s, "udp", ":7")
	done := make(chan error, 1)
	go func() { done <- ServeUDPEcho(c) }()
	t.Cleanup(func() {
		c.Close()
		if err := <-done; err != nil {
			t.Errorf("ServeUDPEcho: %v", err)
		}
	})
}

var udpFamilies = []struct {
	name        string
	peer, stack netip.Addr
}{
	{"IPv4", peerAddr4, stackAddr4},
	{"IPv6", peerAddr6, stackAddr6},
}

func TestUDPEchoAnswersThePeer(t *testing.T) {
	for _, tt := range udpFamilies {
		t.Run(tt.name, func(t *testing.T) {
			s, peer := startScripted(t, Options{})
			serveUDPEcho(t, s)
			from, to := netip.AddrPortFrom(tt.peer, 40000), netip.AddrPortFrom(tt.stack, 7)
			peer.send(testkit.UDPPacket(from, to, []byte("hello")))
			testkit.IP(t, peer.recv(t, testTimeout), testkit.SrcAddr(tt.stack), testkit.DstAddr(tt.peer),
				testkit.UDP(testkit.SrcPort(7), testkit.DstPort(40000), testkit.UDPPayload([]byte("hello"))))
			testkit.Eventually(t, "the datagrams counted", func() bool {
				u := s.Counters().UDP
				return u.InDatagrams == 1 && u.OutDatagrams == 1 && u.Sockets == 1
			})
		})
	}
}

// TestUDPEchoOfAFragmentedDatagram: a datagram larger than the MTU comes
// in fragments, is reassembled (stack/ipfrag), and its echo goes back in
// fragments that reassemble to the same data.
func TestUDPEchoOfAFragmentedDatagram(t *testing.T) {
	for _, tt := range udpFamilies {
		t.Run(tt.name, func(t *testing.T) {
			s, peer := startScripted(t, Options{})
			serveUDPEcho(t, s)
			data := randomBytes(8000)
			from, to := netip.AddrPortFrom(tt.peer, 40000), netip.AddrPortFrom(tt.stack, 7)
			for _, f := range testkit.Fragments(testkit.UDPPacket(from, to, data), 7, 1400, 2800, 4200, 5600, 7000) {
				peer.send(f)
			}
			var got []byte
			for len(got) < 8+len(data) {
				frag := peer.recv(t, testTimeout)
				if len(frag) > 1500 {
					t.Fatalf("a packet of %d bytes on a link of MTU 1500", len(frag))
				}
				f, err := wire.ParseFragment(frag)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != f.Offset {
					t.Fatalf("fragment at %d after %d bytes", f.Offset, len(got))
				}
				got = append(got, f.Data...)
			}
			if !bytes.Equal(got[8:], data) {
				t.Error("the echo's data differs")
			}
			if c := s.Counters(); c.Fragments.Reassembled != 1 || c.UDP.OutDatagrams != 1 || c.Fragments.FragmentsOut < 6 {
				t.Errorf("reassembled %d, UDP out %d, fragments out %d", c.Fragments.Reassembled, c.UDP.OutDatagrams, c.Fragments.FragmentsOut)
			}
		})
	}
}

func TestUDPClosedPortDrawsPortUnreachable(t *testing.T) {
	for _, tt := range []struct {
		name        string
		peer, stack netip.Addr
		typ, code   uint8
	}{
		{"IPv4", peerAddr4, stackAddr4, 3, 3},
		{"IPv6", peerAddr6, stackAddr6, 1, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, peer := startScripted(t, Options{})
			pkt := testkit.UDPPacket(netip.AddrPortFrom(tt.peer, 40000), netip.AddrPortFrom(tt.stack, 9999), []byte("anyone?"))
			peer.send(pkt)
			testkit.IP(t, peer.recv(t, testTimeout), testkit.SrcAddr(tt.stack), testkit.DstAddr(tt.peer),
				testkit.ICMP(testkit.ICMPType(tt.typ, tt.code), testkit.ICMPData(pkt)))
			c := s.Counters()
			if c.UDP.NoPorts != 1 || c.UDP.PortUnreachables != 1 || c.Drops["udp-no-port"] != 1 {
				t.Errorf("NoPorts %d, PortUnreachables %d, drops %d", c.UDP.NoPorts, c.UDP.PortUnreachables, c.Drops["udp-no-port"])
			}
		})
	}
}

// TestUDPPortUnreachablesAreRateLimited: the port unreachables draw on
// the stack's ICMP limit; what it holds back is counted.
func TestUDPPortUnreachablesAreRateLimited(t *testing.T) {
	s, peer := startScripted(t, Options{ICMPRateLimit: 1}) // a burst of one
	serveUDPEcho(t, s)
	from := netip.AddrPortFrom(peerAddr4, 40000)
	for range 3 {
		peer.send(testkit.UDPPacket(from, netip.AddrPortFrom(stackAddr4, 9999), []byte("x")))
	}
	peer.send(testkit.UDPPacket(from, netip.AddrPortFrom(stackAddr4, 7), []byte("barrier")))
	testkit.IP(t, peer.recv(t, testTimeout), testkit.ICMP(testkit.ICMPType(3, 3)))
	// The echo is the next packet: the other two drew nothing.
	testkit.IP(t, peer.recv(t, testTimeout), testkit.UDP(testkit.UDPPayload([]byte("barrier"))))
	c := s.Counters()
	if c.UDP.NoPorts != 3 || c.UDP.PortUnreachables != 1 || c.UDP.PortUnreachablesLimited != 2 || c.RateLimited["icmp-ratelimit"] != 2 {
		t.Errorf("UDP %+v, rate limited %v", c.UDP, c.RateLimited)
	}
}

// TestUDPChecksums: a bad checksum, or none in IPv6, is dropped and
// counted (RFC 8200 §8.1); none in IPv4 is fine (RFC 768).
func TestUDPChecksums(t *testing.T) {
	s, peer := startScripted(t, Options{})
	serveUDPEcho(t, s)
	to4, to6 := netip.AddrPortFrom(stackAddr4, 7), netip.AddrPortFrom(stackAddr6, 7)
	bad := testkit.UDPPacket(netip.AddrPortFrom(peerAddr4, 1000), to4, []byte("bad"))
	bad[len(bad)-1] ^= 0x40
	none6 := testkit.UDPPacket(netip.AddrPortFrom(peerAddr6, 1000), to6, []byte("none6"))
	none6[40+6], none6[40+7] = 0, 0
	none4 := testkit.UDPPacket(netip.AddrPortFrom(peerAddr4, 1000), to4, []byte("none4"))
	none4[20+6], none4[20+7] = 0, 0
	peer.send(bad)
	peer.send(none6)
	peer.send(none4)
	testkit.IP(t, peer.recv(t, testTimeout), testkit.UDP(testkit.UDPPayload([]byte("none4"))))
	c := s.Counters()
	if c.UDP.InCsumErrors != 2 || c.UDP.InErrors != 2 || c.UDP.InDatagrams != 1 ||
		c.Drops["udp-bad-checksum"] != 1 || c.Drops["udp-zero-checksum"] != 1 {
		t.Errorf("UDP %+v, drops %v", c.UDP, c.Drops)
	}
}

// TestUDPReceiveQueueIsBounded: datagrams that find the queue full are
// dropped and counted; the queue's storage is in the buffer budget.
func TestUDPReceiveQueueIsBounded(t *testing.T) {
	s, peer := startScripted(t, Options{})
	c := listenUDP(t, s, "udp4", ":5000")
	c.SetReadBuffer(1024) // two small datagrams of 512 bytes of storage
	for i := range 5 {
		peer.send(testkit.UDPPacket(netip.AddrPortFrom(peerAddr4, 1000), netip.AddrPortFrom(stackAddr4, 5000), []byte{byte(i)}))
	}
	ping(t, peer)
	counters := s.Counters()
	if counters.UDP.RcvbufErrors != 3 || counters.Drops["udp-receive-queue-full"] != 3 || counters.UDP.InDatagrams != 2 {
		t.Errorf("UDP %+v, drops %v", counters.UDP, counters.Drops)
	}
	if counters.Memory.BudgetInUse < 1024 {
		t.Errorf("budget in use %d, want the queue's 1024 bytes", counters.Memory.BudgetInUse)
	}
	buf := make([]byte, 10)
	for i := range 2 {
		n, from, err := c.ReadFrom(buf)
		if err != nil || n != 1 || buf[0] != byte(i) || from.String() != "10.77.0.1:1000" {
			t.Fatalf("datagram %d: %q from %v, %v", i, buf[:n], from, err)
		}
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, _, err := c.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read of an empty queue: %v, want the deadline", err)
	}
	if s.BufferInUse() != 0 {
		t.Errorf("budget in use %d after the queue was read", s.BufferInUse())
	}
}

// TestUDPOverTwoStacks is the Go API end to end: ListenPacket on one
// stack, Dial on the other, datagrams both ways, one of them in fragments.
func TestUDPOverTwoStacks(t *testing.T) {
	for _, tt := range []struct{ name, network, server string }{
		{"IPv4", "udp4", "10.77.0.2:5353"},
		{"IPv6", "udp6", "[fd00:77::2]:5353"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client, server := startPair(t)
			pc, err := server.ListenPacket("udp", ":5353")
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			conn, err := client.DialContext(t.Context(), tt.network, tt.server)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if conn.RemoteAddr().String() != tt.server {
				t.Errorf("RemoteAddr %v", conn.RemoteAddr())
			}
			for _, size := range []int{0, 100, 8000} {
				data := randomBytes(size)
				if _, err := conn.Write(data); err != nil {
					t.Fatal(err)
				}
				pc.SetReadDeadline(time.Now().Add(testTimeout))
				buf := make([]byte, 65536)
				n, from, err := pc.ReadFrom(buf)
				if err != nil || !bytes.Equal(buf[:n], data) || from.String() != conn.LocalAddr().String() {
					t.Fatalf("server read %d bytes from %v (%v), want %d from %v", n, from, err, size, conn.LocalAddr())
				}
				if _, err := pc.WriteTo(buf[:n], from); err != nil {
					t.Fatal(err)
				}
				conn.SetReadDeadline(time.Now().Add(testTimeout))
				n, err = conn.Read(buf)
				if err != nil || !bytes.Equal(buf[:n], data) {
					t.Fatalf("client read %d bytes (%v), want the %d sent", n, err, size)
				}
			}
		})
	}
}

// TestUDPConnectedSocketSeesPortUnreachable: as on Linux, a connected
// socket's next call after a port unreachable fails with ECONNREFUSED,
// once.
func TestUDPConnectedSocketSeesPortUnreachable(t *testing.T) {
	client, _ := startPair(t)
	conn, err := client.DialUDP("udp", "10.77.0.2:9999")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("anyone?")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := conn.Read(make([]byte, 10)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("read after a port unreachable: %v, want ECONNREFUSED", err)
	}
	conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := conn.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("second read: %v, want the deadline (the error is reported once)", err)
	}
	if c := client.Counters(); c.UDP.ICMPErrors != 1 {
		t.Errorf("ICMPErrors = %d", c.UDP.ICMPErrors)
	}
}

func TestUDPCloseUnblocksAndUnbinds(t *testing.T) {
	s, peer := startScripted(t, Options{})
	c, err := s.ListenUDP("udp4", ":5000")
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan error, 1)
	go func() {
		_, _, err := c.ReadFrom(make([]byte, 10))
		read <- err
	}()
	c.Close()
	if err := <-read; !errors.Is(err, net.ErrClosed) {
		t.Errorf("blocked read after Close: %v, want net.ErrClosed", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(netip.AddrPortFrom(peerAddr4, 1))); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
	peer.send(testkit.UDPPacket(netip.AddrPortFrom(peerAddr4, 1000), netip.AddrPortFrom(stackAddr4, 5000), []byte("x")))
	testkit.IP(t, peer.recv(t, testTimeout), testkit.ICMP(testkit.ICMPType(3, 3)))
	again, err := s.ListenUDP("udp4", ":5000")
	if err != nil {
		t.Fatalf("the port is still taken after Close: %v", err)
	}
	again.Close()
}

func TestUDPStackStopEndsSockets(t *testing.T) {
	a, _ := newMemLinkPair()
	st, err := New(a, stackOptions(stackAddr4))
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.ListenUDP("udp", ":5000")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	read := make(chan error, 1)
	go func() {
		_, _, err := c.ReadFrom(make([]byte, 10))
		read <- err
	}()
	cancel()
	<-done
	a.Close()
	if err := <-read; !errors.Is(err, ErrStopped) {
		t.Errorf("read when the stack stops: %v, want ErrStopped", err)
	}
	if _, err := st.ListenUDP("udp", ":5001"); !errors.Is(err, ErrStopped) {
		t.Errorf("ListenUDP after the stack stopped: %v", err)
	}
}

func TestUDPAPIErrors(t *testing.T) {
	s, _ := startScripted(t, Options{})
	listenUDP(t, s, "udp4", "10.77.0.2:53")
	for _, tt := range []struct {
		network, address string
		want             error
	}{
		{"udp4", ":53", syscall.EADDRINUSE}, // every address overlaps the one bound
		{"udp", ":53", syscall.EADDRINUSE},  // so does every address of both families
		{"udp6", ":53", nil},                // another family
		{"udp4", "10.77.0.9:53", syscall.EADDRNOTAVAIL},
		{"tcp", ":53", net.UnknownNetworkError("tcp")},
	} {
		c, err := s.ListenUDP(tt.network, tt.address)
		if tt.want == nil {
			if err != nil {
				t.Errorf("ListenUDP(%s, %s): %v", tt.network, tt.address, err)
			} else {
				c.Close()
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("ListenUDP(%s, %s) = %v, want %v", tt.network, tt.address, err, tt.want)
		}
	}
	eph := listenUDP(t, s, "udp", ":0")
	if port := eph.LocalAddr().(*net.UDPAddr).Port; port < ephemeralFirst {
		t.Errorf("port 0 picked %d", port)
	}
	if _, err := eph.WriteTo(make([]byte, 65508), net.UDPAddrFromAddrPort(netip.AddrPortFrom(peerAddr4, 9))); !errors.Is(err, syscall.EMSGSIZE) {
		t.Errorf("a datagram past IPv4's limit: %v, want EMSGSIZE", err)
	}
	if _, err := eph.Write([]byte("x")); !errors.Is(err, syscall.ENOTCONN) {
		t.Errorf("Write on a socket not connected: %v, want ENOTCONN", err)
	}
	conn, err := s.DialUDP("udp4", "10.77.0.1:53")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(netip.AddrPortFrom(peerAddr4, 54))); !errors.Is(err, syscall.EISCONN) {
		t.Errorf("WriteTo on a connected socket: %v, want EISCONN", err)
	}
	if _, err := s.DialUDP("udp4", "[fd00:77::1]:53"); err == nil {
		t.Error("udp4 to an IPv6 address: no error")
	}
}

func TestUDPSocketsSnapshot(t *testing.T) {
	s, peer := startScripted(t, Options{})
	c := listenUDP(t, s, "udp", ":5000")
	c.SetReadBuffer(512) // one small datagram
	conn, err := s.DialUDP("udp6", "[fd00:77::1]:53")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range 2 {
		peer.send(testkit.UDPPacket(netip.AddrPortFrom(peerAddr4, 1000), netip.AddrPortFrom(stackAddr4, 5000), []byte("abc")))
	}
	ping(t, peer)
	socks := s.UDPSockets()
	if len(socks) != 2 {
		t.Fatalf("UDPSockets = %+v, want 2", socks)
	}
	bound, connected := socks[0], socks[1]
	if bound.Local != netip.MustParseAddrPort("[::]:5000") || bound.Remote.IsValid() || bound.RecvQueue != 3 || bound.Datagrams != 1 || bound.Drops != 1 {
		t.Errorf("bound socket %+v, want [::]:5000 with 3 bytes in 1 datagram and 1 drop", bound)
	}
	if connected.Local.Addr() != stackAddr6 || connected.Remote != netip.MustParseAddrPort("[fd00:77::1]:53") {
		t.Errorf("connected socket %+v", connected)
	}
	conn.Close()
	if n := len(s.UDPSockets()); n != 1 {
		t.Errorf("%d sockets after one closed, want 1", n)
	}
}

// TestUDPNoAnswerForMartians: a datagram to a closed port from a martian
// source, or to the broadcast address, draws nothing (RFC 1122 §3.2.2,
// RFC 1812 §4.3.2.7).
func TestUDPNoAnswerForMartians(t *testing.T) {
	s, peer := startScripted(t, Options{})
	closed := netip.AddrPortFrom(stackAddr4, 9999)
	for _, src := range []string{"240.0.0.1", "127.0.0.1", "0.0.0.0", "224.0.0.1", "10.77.0.2"} {
		peer.send(testkit.UDPPacket(netip.AddrPortFrom(netip.MustParseAddr(src), 1000), closed, []byte("x")))
	}
	peer.send(testkit.UDPPacket(netip.AddrPortFrom(peerAddr4, 1000), netip.MustParseAddrPort("255.255.255.255:9999"), []byte("x")))
	ping(t, peer) // the echo reply is the first packet out
	if c := s.Counters(); c.UDP.NoPorts != 0 || c.UDP.PortUnreachables != 0 {
		t.Errorf("UDP %+v, want nothing counted or answered", c.UDP)
	}
}

// TestUDPSendQueueIsBounded: datagrams written wait for the loop in a
// queue of udpSendQueueLimit bytes; beyond it a write waits, up to its
// deadline. The loop, once it runs, sends them all.
func TestUDPSendQueueIsBounded(t *testing.T) {
	a, peer := newMemLinkPair()
	st, err := New(a, stackOptions(stackAddr4))
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.ListenUDP("udp4", ":5000")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	to := net.UDPAddrFromAddrPort(netip.AddrPortFrom(peerAddr4, 9))
	big := make([]byte, 60000) // 64 KiB of storage each
	fit := udpSendQueueLimit / (64 << 10)
	for i := range fit {
		if _, err := c.WriteTo(big, to); err != nil {
			t.Fatalf("write %d of %d: %v", i+1, fit, err)
		}
	}
	c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c.WriteTo(big, to); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a write past the queue's bound: %v, want the deadline", err)
	}
	if got := st.BufferInUse(); got != int64(fit*(64<<10)) {
		t.Errorf("budget in use %d, want the queue's %d", got, fit*(64<<10))
	}
	r := &running{Stack: st, runErr: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.runErr <- st.Run(ctx) }()
	defer func() { cancel(); <-r.runErr; a.Close() }()
	c.SetWriteDeadline(time.Time{})
	if _, err := c.WriteTo([]byte("last"), to); err != nil { // wakes the loop
		t.Fatal(err)
	}
	fragments := 0
	for fragments < fit*41+1 { // 60,008 bytes in fragments of 1,480
		peer.recv(t, testTimeout)
		fragments++
	}
	testkit.Eventually(t, "the queue's storage given back", func() bool { return st.BufferInUse() == 0 })
	if n := st.Counters().UDP.OutDatagrams; n != uint64(fit+1) {
		t.Errorf("OutDatagrams = %d, want %d", n, fit+1)
	}
}

// TestUDPReadDatagramHandsThePayloadOver: ReadDatagram gives each
// datagram whole, in order, honours the read deadline, and returns the
// datagram's storage to the budget.
func TestUDPReadDatagramHandsThePayloadOver(t *testing.T) {
	client, server := startPair(t)
	pc, err := server.ListenPacket("udp", ":5353")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	conn, err := client.DialContext(t.Context(), "udp4", "10.77.0.2:5353")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sock := pc.(*UDPConn)
	sent := [][]byte{randomBytes(1), randomBytes(8000), randomBytes(0)}
	for _, d := range sent {
		if _, err := conn.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range sent {
		sock.SetReadDeadline(time.Now().Add(testTimeout))
		var got []byte
		if err := sock.ReadDatagram(func(p []byte) { got = append([]byte{}, p...) }); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("datagram %d: %d bytes, want the %d sent", i, len(got), len(want))
		}
	}
	sock.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	var ne net.Error
	if err := sock.ReadDatagram(func([]byte) { t.Error("called with nothing queued") }); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("ReadDatagram past the deadline: %v, want a time-out", err)
	}
	if held := server.BufferInUse(); held != 0 {
		t.Errorf("%d bytes of the budget still held after the datagrams were read", held)
	}
}
