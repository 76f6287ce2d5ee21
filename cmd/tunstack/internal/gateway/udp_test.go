package gateway

import (
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// udpEcho is a host UDP server answering each datagram with "echo:" and
// the datagram.
func udpEcho(t *testing.T) *net.UDPConn {
	t.Helper()
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			srv.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	return srv
}

// socketPair is two connected UDP sockets: the client's and the one the
// relay reads it from (in the daemon, a *stack.UDPConn).
func socketPair(t *testing.T) (client, relaySide *net.UDPConn) {
	t.Helper()
	a, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.DialUDP("udp", nil, a.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	client, err = net.DialUDP("udp", a.LocalAddr().(*net.UDPAddr), b.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client, b
}

// TestUDPFlowRelaysAndExpires: a flow's datagrams reach its server and
// the answers come back, counted; once idle for the time-out the flow
// and its host socket are closed.
func TestUDPFlowRelaysAndExpires(t *testing.T) {
	srv := udpEcho(t)
	u := NewUDP(Config{UDPTimeout: 300 * time.Millisecond}, HostDialer, slog.New(slog.DiscardHandler))
	client, relaySide := socketPair(t)
	u.mu.Lock()
	u.startLocked(relaySide, srv.LocalAddr().String())
	u.mu.Unlock()

	buf := make([]byte, 100)
	for _, q := range []string{"one", "two"} {
		if _, err := client.Write([]byte(q)); err != nil {
			t.Fatal(err)
		}
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := client.Read(buf)
		if err != nil || string(buf[:n]) != "echo:"+q {
			t.Fatalf("read %q, %v; want echo:%s", buf[:n], err, q)
		}
	}
	// The relay counts a datagram once its write returns, which may be
	// after the answer came back: poll.
	testkit.WaitFor(t, testkit.DefaultTimeout, "one active flow, 2 datagrams and 6/16 bytes each way", func() (bool, string) {
		c := u.Counters()
		return c.Active == 1 && c.Flows == 1 && c.DatagramsUp == 2 && c.DatagramsDown == 2 && c.BytesToUpstream == 6 && c.BytesToClient == 16, fmt.Sprintf("%+v", c)
	})
	testkit.Eventually(t, "the idle flow to close", func() bool { return u.Counters().Active == 0 })
	if _, err := relaySide.Write([]byte("x")); err == nil {
		t.Error("the flow's client socket is still open after the time-out")
	}
	u.Close()
	u.Wait()
}

// TestUDPCloseEndsFlows: Close ends the flows at once, before their
// time-out, and Wait returns.
func TestUDPCloseEndsFlows(t *testing.T) {
	srv := udpEcho(t)
	u := NewUDP(Config{}, HostDialer, slog.New(slog.DiscardHandler))
	client, relaySide := socketPair(t)
	u.mu.Lock()
	u.startLocked(relaySide, srv.LocalAddr().String())
	u.mu.Unlock()
	client.Write([]byte("q"))
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Read(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	u.Close()
	done := make(chan struct{})
	go func() { u.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after Close")
	}
}
