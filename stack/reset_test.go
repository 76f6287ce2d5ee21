package stack

import (
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
)

func TestSegmentToClosedPortIsReset(t *testing.T) {
	tests := []struct {
		name      string
		peer      netip.AddrPort
		stack     netip.AddrPort
		seg       tcp.Segment
		want      tcp.Segment // Flags, Seq, Ack of the RST
		wantReset bool
	}{
		{
			name:  "SYN over IPv4",
			peer:  netip.AddrPortFrom(peerAddr4, 40000),
			stack: netip.AddrPortFrom(stackAddr4, 81),
			seg:   tcp.Segment{Seq: 1000, Flags: tcp.FlagSYN, Window: 65535},
			want:  tcp.Segment{Flags: tcp.FlagRST | tcp.FlagACK, Seq: 0, Ack: 1001}, wantReset: true,
		},
		{
			name:  "SYN over IPv6",
			peer:  netip.AddrPortFrom(peerAddr6, 40000),
			stack: netip.AddrPortFrom(stackAddr6, 81),
			seg:   tcp.Segment{Seq: 5, Flags: tcp.FlagSYN, Window: 65535},
			want:  tcp.Segment{Flags: tcp.FlagRST | tcp.FlagACK, Seq: 0, Ack: 6}, wantReset: true,
		},
		{
			name:  "ACK with data",
			peer:  netip.AddrPortFrom(peerAddr4, 40001),
			stack: netip.AddrPortFrom(stackAddr4, 81),
			seg:   tcp.Segment{Seq: 77, Ack: 9000, Flags: tcp.FlagACK, Payload: []byte("data")},
			want:  tcp.Segment{Flags: tcp.FlagRST, Seq: 9000}, wantReset: true,
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
			peer.send(tcpPacket(t, tt.peer, tt.stack, tt.seg))
			if !tt.wantReset {
				ping(t, peer) // the echo reply is the first packet out: no RST
			} else {
				p, rst := parseTCP(t, peer.recv(t, testTimeout))
				if p.Src != tt.stack.Addr() || p.Dst != tt.peer.Addr() ||
					rst.SrcPort != tt.stack.Port() || rst.DstPort != tt.peer.Port() {
					t.Errorf("RST %v:%d -> %v:%d, want %v -> %v", p.Src, rst.SrcPort, p.Dst, rst.DstPort, tt.stack, tt.peer)
				}
				if rst.Flags != tt.want.Flags || rst.Seq != tt.want.Seq || (rst.Flags.Has(tcp.FlagACK) && rst.Ack != tt.want.Ack) {
					t.Errorf("got %v, want %v", &rst, &tt.want)
				}
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
