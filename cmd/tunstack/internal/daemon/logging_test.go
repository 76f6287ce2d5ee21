package daemon

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

func TestLogEventHalfOpenCloseIsDebug(t *testing.T) {
	// Under a SYN flood every spoofed SYN in the half-open queue ends
	// in CLOSED: that must not be an info line each.
	for _, tt := range []struct {
		from   tcp.State
		level  slog.Level
		logged bool
	}{
		{tcp.Established, slog.LevelInfo, true},
		{tcp.LastAck, slog.LevelInfo, true},
		{tcp.SynReceived, slog.LevelInfo, false},
		{tcp.SynReceived, slog.LevelDebug, true},
	} {
		var out bytes.Buffer
		log := NewLogger(&out, LogConfig{Level: tt.level, Format: "text"})
		logEvent(log, stack.Event{Kind: stack.EventStateChange, From: tt.from, To: tcp.Closed, Reason: tcp.ReasonGiveUp})
		if got := strings.Contains(out.String(), `msg="connection closed"`); got != tt.logged {
			t.Errorf("closed from %v at %v: logged %v, want %v: %q", tt.from, tt.level, got, tt.logged, out.String())
		}
	}
}

// TestJSONLogNamesStates: the JSON log writes states by their RFC names,
// as the text log does (slog's JSON handler would write a tcp.State as
// its number), and every drop with a reason code.
func TestJSONLogNamesStates(t *testing.T) {
	id := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	for _, tt := range []struct {
		e    stack.Event
		want map[string]any
	}{
		{stack.Event{Kind: stack.EventStateChange, Conn: id, From: tcp.Listen, To: tcp.SynReceived, Reason: tcp.ReasonListenSYN},
			map[string]any{"msg": "state change", "from": "LISTEN", "to": "SYN-RECEIVED", "reason": "listen-syn"}},
		{stack.Event{Kind: stack.EventStateChange, Conn: id, From: tcp.TimeWait, To: tcp.Closed, Reason: tcp.ReasonTimeWaitExpired},
			map[string]any{"msg": "connection closed", "from": "TIME-WAIT", "reason": "2msl-expired"}},
		{stack.Event{Kind: stack.EventDrop, Detail: "not-our-address", Src: netip.MustParseAddr("10.77.0.1"), Dst: netip.MustParseAddr("10.77.0.9")},
			map[string]any{"msg": "drop", "reason": "not-our-address", "why": "not addressed to the stack", "src": "10.77.0.1", "dst": "10.77.0.9"}},
		{stack.Event{Kind: stack.EventDrop, Conn: id, State: tcp.Established, Reason: tcp.ReasonUnacceptable},
			map[string]any{"msg": "drop", "reason": "unacceptable", "state": "ESTABLISHED"}},
		{stack.Event{Kind: stack.EventDrop, Detail: "ip-bad-checksum"},
			map[string]any{"msg": "drop", "reason": "ip-bad-checksum"}},
	} {
		var out bytes.Buffer
		logEvent(NewLogger(&out, LogConfig{Level: slog.LevelDebug, Format: "json"}), tt.e)
		var got map[string]any
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("log line %q: %v", out.String(), err)
		}
		for k, want := range tt.want {
			if got[k] != want {
				t.Errorf("%s: %s = %#v, want %#v (line %s)", tt.want["msg"], k, got[k], want, out.String())
			}
		}
		if got["reason"] == "none" || got["reason"] == "" {
			t.Errorf("line without a reason: %s", out.String())
		}
		if _, ok := got["detail"]; ok {
			t.Errorf("line with a detail besides its reason: %s", out.String())
		}
	}
}
