package stack

import (
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

func TestSegmentToClosedPortIsReset(t *testing.T) {
	tests := []struct {
		name      string
		peer      netip.AddrPort
		stack     netip.AddrPort
		seg       tcp.Segment
		want      []testkit.TransportChecker // of the RST
		wantReset bool
	}{
		{
			name:  "SYN over IPv4",
			peer:  netip.AddrPortFrom(peerAddr4, 40000),
			stack: netip.AddrPortFrom(stackAddr4, 81),
			seg:   tcp.Segment{Seq: 1000, Flags: tcp.FlagSYN, Window: 65535},
			want:  []testkit.TransportChecker{testkit.TCPFlags(testkit.RST | testkit.ACK), testkit.TCPSeqNum(0), testkit.TCPAckNum(1001)}, wantReset: true,
		},
		{
			name:  "SYN over IPv6",
			peer:  netip.AddrPortFrom(peerAddr6, 40000),
			stack: netip.AddrPortFrom(stackAddr6, 81),
			seg:   tcp.Segment{Seq: 5, Flags: tcp.FlagSYN, Window: 65535},
			want:  []testkit.TransportChecker{testkit.TCPFlags(testkit.RST | testkit.ACK), testkit.TCPSeqNum(0), testkit.TCPAckNum(6)}, wantReset: true,
		},
		{
			name:  "ACK with data",
			peer:  netip.AddrPortFrom(peerAddr4, 40001),
			stack: netip.AddrPortFrom(stackAddr4, 81),
			seg:   tcp.Segment{Seq: 77, Ack: 9000, Flags: tcp.FlagACK, Payload: []byte("data")},
			want:  []testkit.TransportChecker{testkit.TCPFlags(testkit.RST), testkit.TCPSeqNum(9000)}, wantReset: true,
		},
		{
			name:  "RST is never answered",
			peer:  netip.AddrPortFrom(peerAddr4, 40002),
			stack: netip.AddrPortFrom(stackAddr4, 81),
			seg:   tcp.Segment{Seq: 77, Flags: tcp.FlagRST},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, peer := startScripted(t, Options{})
			peer.send(tcpPacket(tt.peer, tt.stack, tt.seg))
			if !tt.wantReset {
				ping(t, peer) // the echo reply is the first packet out: no RST
			} else {
				// RFC 9293 §3.10.7.1: the RST answers from the port the
				// segment went to, and carries nothing.
				rst := append([]testkit.TransportChecker{testkit.SrcPort(tt.stack.Port()), testkit.DstPort(tt.peer.Port()),
					testkit.TCPPayloadLen(0), testkit.TCPOptions(testkit.Options{})}, tt.want...)
				testkit.IP(t, peer.recv(t, testTimeout), testkit.SrcAddr(tt.stack.Addr()), testkit.DstAddr(tt.peer.Addr()),
					testkit.TCP(rst...))
			}
			c := s.Counters()
			if c.Drops[dropNoListener] != 1 {
				t.Errorf("Drops = %v, want no-listener: 1", c.Drops)
			}
			wantRSTs := uint64(0)
			if tt.wantReset {
				wantRSTs = 1
			}
			if c.RSTsSent != wantRSTs {
				t.Errorf("RSTsSent = %d, want %d", c.RSTsSent, wantRSTs)
			}
		})
	}
}
