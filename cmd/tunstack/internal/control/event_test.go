package control

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// TestEventRoundTrip: what the daemon sends, the trace reads back into
// the same event, for the ladders.
func TestEventRoundTrip(t *testing.T) {
	id := tcp.ID{Local: netip.MustParseAddrPort("[fd00:77::2]:80"), Remote: netip.MustParseAddrPort("[fd00:77::1]:40000")}
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, e := range []stack.Event{
		{Time: at, Kind: stack.EventSegmentIn, Conn: id, State: tcp.Listen, ISN: stack.ISNs{Remote: 1000, RemoteKnown: true},
			Seg: stack.SegmentSummary{Flags: tcp.FlagSYN | tcp.FlagECE | tcp.FlagCWR, Seq: 1000, Window: 64240, Options: tcp.Options{
				MSS: 1440, SACKPermitted: true, HasWindowScale: true, WindowScale: 0, HasTimestamps: true, TSVal: 7, TSEcr: 0}}},
		{Time: at, Kind: stack.EventStateChange, Conn: id, State: tcp.Closed, From: tcp.LastAck, To: tcp.Closed, Reason: tcp.ReasonLastAckDone,
			ISN: stack.ISNs{Local: 5, Remote: 9, LocalKnown: true, RemoteKnown: true},
			Seg: stack.SegmentSummary{Flags: tcp.FlagACK, Seq: 10, Ack: 7, Window: 100, Options: tcp.Options{NumSACK: 2,
				SACK: [4]tcp.SACKBlock{{Left: 1, Right: 2}, {Left: 3, Right: 4}}}}},
		{Time: at, Kind: stack.EventDrop, Detail: "tcp-bad-checksum"},
		{Time: at, Kind: stack.EventDrop, Detail: "martian-source-own-address",
			Src: netip.MustParseAddr("fd00:77::2"), Dst: netip.MustParseAddr("fd00:77::2")},
	} {
		line, err := json.Marshal(NewEvent(e))
		if err != nil {
			t.Fatal(err)
		}
		var w Event
		if err := json.Unmarshal(line, &w); err != nil {
			t.Fatal(err)
		}
		back, err := w.StackEvent()
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if diff := cmp.Diff(e, back, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
			cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("%s (-sent +read back):\n%s", line, diff)
		}
	}
	bad := Event{Kind: "segment-sideways"}
	if _, err := bad.StackEvent(); err == nil {
		t.Error("an unknown kind was read back")
	}
}

func TestFlagsRoundTrip(t *testing.T) {
	for _, f := range []tcp.Flags{0, tcp.FlagSYN, tcp.FlagSYN | tcp.FlagACK, tcp.FlagFIN | tcp.FlagACK | tcp.FlagPSH, tcp.FlagRST | tcp.FlagACK, tcp.FlagECE | tcp.FlagCWR} {
		text, _ := Flags(f).MarshalText()
		var back Flags
		if err := back.UnmarshalText(text); err != nil || tcp.Flags(back) != f {
			t.Errorf("flags %v → %q → %v, %v", f, text, tcp.Flags(back), err)
		}
	}
}
