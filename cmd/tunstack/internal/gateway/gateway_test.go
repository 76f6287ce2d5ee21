package gateway

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

func TestUpstream(t *testing.T) {
	dst := netip.MustParseAddrPort("[2001:db8::10]:443")
	if got := (Config{}).Upstream(dst); got != "[2001:db8::10]:443" {
		t.Errorf("Upstream = %q, want the destination itself", got)
	}
	if got := (Config{To: "127.0.0.1:3128"}).Upstream(dst); got != "127.0.0.1:3128" {
		t.Errorf("Upstream with To = %q, want To", got)
	}
}

// TestUDPBufferBytesFollowFlows: an idle flow between two kernel
// sockets holds no buffer; a socket that cannot hand its datagrams over
// (gVisor's) has one of its own while the flow lives; none is held once
// the flow has ended, so the daemon sees the memory fall.
func TestUDPBufferBytesFollowFlows(t *testing.T) {
	srv := udpEcho(t)
	u := NewUDP(Config{UDPTimeout: 200 * time.Millisecond}, HostDialer, slog.New(slog.DiscardHandler))
	if got := u.BufferBytes(); got != 0 {
		t.Fatalf("BufferBytes = %d with no flow, want 0", got)
	}
	kernelClient, kernelSide := socketPair(t)
	otherClient, otherSide := socketPair(t)
	u.mu.Lock()
	u.startLocked(kernelSide, srv.LocalAddr().String())
	u.startLocked(plainConn{otherSide}, srv.LocalAddr().String())
	u.mu.Unlock()
	testkit.WaitFor(t, testkit.DefaultTimeout, "one buffer, the plain socket's", func() (bool, string) {
		return u.BufferBytes() == datagramBuffer, fmt.Sprintf("%d bytes", u.BufferBytes())
	})
	kernelClient.Write([]byte("one"))
	otherClient.Write([]byte("two"))
	testkit.WaitFor(t, testkit.DefaultTimeout, "the idle flows to end", func() (bool, string) {
		return u.BufferBytes() == 0 && u.Counters().Active == 0, fmt.Sprintf("%d bytes, %+v", u.BufferBytes(), u.Counters())
	})
	u.Close()
	u.Wait()
}

// plainConn hides the socket's type, as gVisor's is unknown to the relay.
type plainConn struct{ net.Conn }
