package stack

import (
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
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
			peer.send(testkit.EchoRequest(tt.peer, tt.stack, 0x1234, 7, data))
			reply := peer.recv(t, testTimeout)
			checkEchoReply(t, reply, tt.stack, tt.peer, 0x1234, 7, data)
			if got := s.Counters().EchoReplies; got != 1 {
				t.Errorf("EchoReplies = %d, want 1", got)
			}
		})
	}
}

// checkEchoReply checks that pkt is an echo reply from src to dst with the
// request's id, seq and data, and right checksums.
func checkEchoReply(t *testing.T, pkt []byte, src, dst netip.Addr, id, seq uint16, data []byte) {
	t.Helper()
	testkit.IP(t, pkt, testkit.SrcAddr(src), testkit.DstAddr(dst), testkit.ICMP(testkit.EchoReply(id, seq, data)))
}

// ping sends an echo request and waits for its reply: since the loop
// handles packets in order, everything sent before has been handled and
// answered by then.
func ping(t *testing.T, peer *memLink) {
	t.Helper()
	peer.send(testkit.EchoRequest(peerAddr4, stackAddr4, 1, 1, []byte("barrier")))
	checkEchoReply(t, peer.recv(t, testTimeout), stackAddr4, peerAddr4, 1, 1, []byte("barrier"))
}
