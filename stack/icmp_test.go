package stack

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/wire"
)

func TestEchoRequestIsAnswered(t *testing.T) {
	tests := []struct {
		name        string
		peer, stack netip.Addr
	}{
		{"ICMPv4", peerAddr4, stackAddr4},
		{"ICMPv6", peerAddr6, stackAddr6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, peer := startScripted(t, Options{})
			data := []byte("ping payload 0123456789")
			peer.send(echoRequest(tt.peer, tt.stack, 0x1234, 7, data))
			reply := peer.recv(t, testTimeout)
			checkEchoReply(t, reply, tt.stack, tt.peer, 0x1234, 7, data)
			if got := s.Counters().EchoReplies; got != 1 {
				t.Errorf("EchoReplies = %d, want 1", got)
			}
		})
	}
}

// checkEchoReply checks that pkt is a valid echo reply (ParseICMP verifies
// the checksum) from src to dst with the request's id, seq and data.
func checkEchoReply(t *testing.T, pkt []byte, src, dst netip.Addr, id, seq uint16, data []byte) {
	t.Helper()
	p, err := wire.ParseIP(pkt)
	if err != nil {
		t.Fatalf("reply: bad IP packet: %v", err)
	}
	if p.Src != src || p.Dst != dst {
		t.Errorf("reply %v -> %v, want %v -> %v", p.Src, p.Dst, src, dst)
	}
	var m wire.ICMP
	if err := wire.ParseICMP(&p, &m); err != nil {
		t.Fatalf("reply: bad ICMP message: %v", err)
	}
	if m.Kind != wire.ICMPEchoReply || m.ID != id || m.Seq != seq || !bytes.Equal(m.Data, data) {
		t.Errorf("reply = %v id %#x seq %d data %q, want echo-reply id %#x seq %d data %q",
			m.Kind, m.ID, m.Seq, m.Data, id, seq, data)
	}
}

// ping sends an echo request and waits for its reply: since the loop
// handles packets in order, everything sent before has been handled and
// answered by then.
func ping(t *testing.T, peer *memLink) {
	t.Helper()
	peer.send(echoRequest(peerAddr4, stackAddr4, 1, 1, []byte("barrier")))
	checkEchoReply(t, peer.recv(t, testTimeout), stackAddr4, peerAddr4, 1, 1, []byte("barrier"))
}
