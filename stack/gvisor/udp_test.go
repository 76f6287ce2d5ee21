package gvisor_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/tests/testkit"
)

// TestUDPAgainstNative cross-checks the two stacks' UDP: the native stack
// sends datagrams to gVisor's echo, one of 8,000 bytes that crosses the
// MTU in fragments both ways, and sees gVisor's port unreachable for a
// closed port as ECONNREFUSED.
func TestUDPAgainstNative(t *testing.T) {
	p := newPair(t)
	pc, err := p.gv.ListenPacket("udp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- stack.ServeUDPEcho(pc) }()
	for _, tt := range []struct{ network, echo, closed string }{
		{"udp4", "10.77.0.2:7", "10.77.0.2:9"},
		{"udp6", "[fd00:77::2]:7", "[fd00:77::2]:9"},
	} {
		conn, err := p.peer.DialUDP(tt.network, tt.echo)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, size := range []int{1, 1400, 8000} {
			data := make([]byte, size)
			rand.Read(data)
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write(data); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 10000)
			n, err := conn.Read(buf)
			if err != nil || !bytes.Equal(buf[:n], data) {
				t.Errorf("%s: %d bytes back (%v), want the %d sent", tt.network, n, err, size)
			}
		}
		closed, err := p.peer.DialUDP(tt.network, tt.closed)
		if err != nil {
			t.Fatal(err)
		}
		defer closed.Close()
		closed.SetDeadline(time.Now().Add(5 * time.Second))
		closed.Write([]byte("anyone?"))
		if _, err := closed.Read(make([]byte, 10)); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s to gVisor's closed port: %v, want ECONNREFUSED", tt.network, err)
		}
	}
	// gVisor counts a datagram out once its write returns, which may be
	// after the peer read it: poll.
	testkit.WaitFor(t, testkit.DefaultTimeout, "gVisor's UDP counters: 6 datagrams each way and 2 to no port", func() (bool, string) {
		c := p.gv.Counters().UDP
		return c.InDatagrams == 6 && c.OutDatagrams == 6 && c.NoPorts == 2, fmt.Sprintf("%+v", c)
	})
	pc.Close()
	if err := <-served; err != nil {
		t.Errorf("ServeUDPEcho after its socket closed = %v, want nil", err)
	}
	if _, _, err := pc.ReadFrom(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read of a closed socket: %v, want net.ErrClosed", err)
	}
}
