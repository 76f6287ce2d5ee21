package trace

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

func TestTraceLine(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.Local)
	id := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	isns := stack.ISNs{Local: 5000, Remote: 1000, LocalKnown: true, RemoteKnown: true}
	for _, tt := range []struct {
		e    stack.Event
		want string
	}{
		{stack.Event{Time: at, Kind: stack.EventSegmentIn, Conn: id, State: tcp.Listen, ISN: stack.ISNs{Remote: 1000, RemoteKnown: true},
			Seg: stack.SegmentSummary{Flags: tcp.FlagSYN, Seq: 1000, Window: 64240, Options: tcp.Options{MSS: 1460, SACKPermitted: true, HasWindowScale: true, WindowScale: 7}}},
			"03:04:05.000006 in    10.77.0.1:40000 > 10.77.0.2:80  SYN seq=0 (1000) win=64240 len=0 <mss 1460,sackOK,wscale 7> [LISTEN]"},
		{stack.Event{Time: at, Kind: stack.EventStateChange, Conn: id, State: tcp.SynReceived, From: tcp.Listen, To: tcp.SynReceived, Reason: tcp.ReasonListenSYN},
			"03:04:05.000006 state 10.77.0.2:80 - 10.77.0.1:40000  LISTEN → SYN-RECEIVED: RFC 9293 §3.10.7.2: SYN in LISTEN: send SYN-ACK, enter SYN-RECEIVED [listen-syn]"},
		{stack.Event{Time: at, Kind: stack.EventSegmentOut, Conn: id, State: tcp.Established, ISN: isns, Reason: tcp.ReasonRSTInWindowChallenge,
			Seg: stack.SegmentSummary{Flags: tcp.FlagACK, Seq: 5001, Ack: 1001, Window: 2048}},
			"03:04:05.000006 out   10.77.0.2:80 > 10.77.0.1:40000  ACK seq=1 (5001) ack=1 (1001) win=2048 len=0 [ESTABLISHED] RFC 9293 §3.10.7.4: RST in window but not exact: challenge ACK, RFC 5961 §3.2 [rst-in-window]"},
		{stack.Event{Time: at, Kind: stack.EventDrop, Conn: id, State: tcp.Established, ISN: isns, Reason: tcp.ReasonUnacceptable,
			Seg: stack.SegmentSummary{Flags: tcp.FlagACK | tcp.FlagPSH, Seq: 900, Ack: 5001, Len: 10, Options: tcp.Options{NumSACK: 1, SACK: [4]tcp.SACKBlock{{Left: 5101, Right: 5201}}}}},
			"03:04:05.000006 drop  10.77.0.1:40000 > 10.77.0.2:80  PSH-ACK seq=4294967196 (900) ack=1 (5001) win=0 len=10 <sack 1 {101 (5101):201 (5201)}> [ESTABLISHED] dropped: RFC 9293 §3.10.7.4: segment not acceptable: send ACK, drop [unacceptable]"},
		{stack.Event{Time: at, Kind: stack.EventDrop, Detail: "ip-bad-checksum"},
			"03:04:05.000006 drop  dropped: ip-bad-checksum"},
		{stack.Event{Time: at, Kind: stack.EventDrop, Detail: "martian-source-loopback",
			Src: netip.MustParseAddr("127.0.0.1"), Dst: netip.MustParseAddr("10.77.0.2")},
			"03:04:05.000006 drop  127.0.0.1 > 10.77.0.2  dropped: RFC 1122 §3.2.1.3: martian source: a loopback address [martian-source-loopback]"},
		{stack.Event{Time: at, Kind: stack.EventDrop, Detail: "not-our-address",
			Src: netip.MustParseAddr("fd00:77::1"), Dst: netip.MustParseAddr("fd00:77::9")},
			"03:04:05.000006 drop  fd00:77::1 > fd00:77::9  dropped: not addressed to the stack [not-our-address]"},
		{stack.Event{Time: at, Kind: stack.EventDrop, Conn: id, State: tcp.Established, ISN: isns, Reason: tcp.ReasonInvalidRateLimited,
			Seg: stack.SegmentSummary{Flags: tcp.FlagSYN, Seq: 77777}},
			"03:04:05.000006 drop  10.77.0.1:40000 > 10.77.0.2:80  SYN seq=76777 (77777) win=0 len=0 [ESTABLISHED] dropped: RFC 5961 §7: unacceptable segment: drop, no ACK: the connection sent one too recently (ACK throttling) [invalid-ratelimit]"},
	} {
		if got := Line(&tt.e); got != tt.want {
			t.Errorf("Line:\n got %s\nwant %s", got, tt.want)
		}
	}
}
