package stack

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"github.com/tunstack/tunstack/stack/wire"
)

// icmpError builds an ICMP error from src quoting the start of pkt.
func icmpError(src netip.Addr, typ, code uint8, mtu uint16, pkt []byte) []byte {
	quoted := pkt[:min(len(pkt), 48+8)]
	msg := make([]byte, 8+len(quoted))
	msg[0], msg[1] = typ, code
	binary.BigEndian.PutUint16(msg[6:], mtu)
	copy(msg[8:], quoted)
	p, _ := wire.ParseIP(pkt)
	proto := uint8(wire.ProtoICMPv4)
	var seed uint16
	if src.Is6() {
		proto = wire.ProtoICMPv6
		seed = wire.PseudoHeaderSum(proto, src, p.Src, len(msg))
	}
	binary.BigEndian.PutUint16(msg[2:], wire.Checksum(msg, seed))
	return ipPacket(src, p.Src, proto, msg)
}

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
			peer.send(icmpError(tt.peer, tt.typ, tt.code, 0, syn))
			if err := <-errc; !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("Dial: %v, want connection refused from the ICMP error", err)
			}
		})
	}
}
