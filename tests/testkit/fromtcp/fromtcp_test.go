package fromtcp

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// A segment converted, built and decoded is the segment it was: every
// field and option crosses.
func TestSegmentCrossesIntact(t *testing.T) {
	for _, tc := range []struct {
		seg  tcp.Segment
		want testkit.Segment
	}{
		{
			tcp.Segment{SrcPort: 80, DstPort: 40000, Seq: 0xfffffff0, Flags: tcp.FlagSYN | tcp.FlagECE | tcp.FlagCWR, Window: 64240,
				Options: tcp.Options{MSS: 1460, WindowScale: 7, HasWindowScale: true, SACKPermitted: true, TSVal: 1, HasTimestamps: true}},
			testkit.Segment{SrcPort: 80, DstPort: 40000, Seq: 0xfffffff0, Flags: testkit.SYN | testkit.ECE | testkit.CWR, Window: 64240,
				Options: testkit.Options{MSS: 1460, WindowScale: 7, HasWindowScale: true, SACKPermitted: true, TSVal: 1, HasTimestamps: true}},
		},
		{
			tcp.Segment{SrcPort: 80, DstPort: 40000, Seq: 5, Ack: 7, Flags: tcp.FlagACK | tcp.FlagPSH | tcp.FlagURG,
				Window: 502, Urgent: 3, Payload: []byte("hello"),
				Options: tcp.Options{TSVal: 1, TSEcr: 2, HasTimestamps: true, NumSACK: 2,
					SACK: [tcp.MaxSACKBlocks]tcp.SACKBlock{{Left: 10, Right: 20}, {Left: 30, Right: 40}, {Left: 50, Right: 60}}}},
			testkit.Segment{SrcPort: 80, DstPort: 40000, Seq: 5, Ack: 7, Flags: testkit.ACK | testkit.PSH | testkit.URG,
				Window: 502, Urgent: 3, Payload: []byte("hello"),
				Options: testkit.Options{TSVal: 1, TSEcr: 2, HasTimestamps: true, SACK: []testkit.SACKBlock{{Left: 10, Right: 20}, {Left: 30, Right: 40}}}},
		},
	} {
		p, err := testkit.Decode(testkit.TCPPacket(netip.MustParseAddrPort("10.77.0.2:80"), netip.MustParseAddrPort("10.77.0.1:40000"), Segment(&tc.seg)))
		if err != nil {
			t.Fatal(err)
		}
		p.TCP.RawOptions = nil
		if diff := cmp.Diff(&tc.want, p.TCP, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("converted, built and decoded (-want +got):\n%s", diff)
		}
	}
}
