package gateway

import (
	"fmt"
	"log/slog"
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

// TestUDPBufferBytesFollowFlows: a flow holds two datagram buffers while
// it is relayed and none once it has ended, so the daemon sees the
// memory fall when flows end.
func TestUDPBufferBytesFollowFlows(t *testing.T) {
	srv := udpEcho(t)
	u := NewUDP(Config{UDPTimeout: 200 * time.Millisecond}, HostDialer, slog.New(slog.DiscardHandler))
	if got := u.BufferBytes(); got != 0 {
		t.Fatalf("BufferBytes = %d with no flow, want 0", got)
	}
	client, relaySide := socketPair(t)
	u.mu.Lock()
	u.startLocked(relaySide, srv.LocalAddr().String())
	u.mu.Unlock()
	if got := u.BufferBytes(); got != 2*datagramBuffer {
		t.Errorf("BufferBytes = %d with a flow, want %d", got, 2*datagramBuffer)
	}
	client.Write([]byte("one"))
	testkit.WaitFor(t, testkit.DefaultTimeout, "the idle flow to end", func() (bool, string) {
		return u.BufferBytes() == 0, fmt.Sprintf("%d bytes, %+v", u.BufferBytes(), u.Counters())
	})
	u.Close()
	u.Wait()
}
