package stack

import (
	"context"
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
)

func TestICMPPortUnreachableRefusesDial(t *testing.T) {
	for _, tt := range []struct {
		name      string
		peer      netip.Addr
		typ, code uint8
		addr      string
	}{
		{"IPv4", peerAddr4, wire.ICMPv4Unreachable, 3, "10.77.0.1:9"},
		{"IPv6", peerAddr6, wire.ICMPv6Unreachable, 4, "[fd00:77::1]:9"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, peer := startScripted(t, stackOptions(stackAddr4, stackAddr6))
			errc := make(chan error, 1)
			go func() {
				_, err := s.DialContext(context.Background(), "tcp", tt.addr)
				errc <- err
			}()
			syn := peer.recv(t, testTimeout)
			peer.send(testkit.ICMPError(tt.peer, tt.typ, tt.code, 0, syn))
			if err := <-errc; !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("Dial: %v, want connection refused from the ICMP error", err)
			}
		})
	}
}
