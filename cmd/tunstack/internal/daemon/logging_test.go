package daemon

import (
	"bytes"
	"log/slog"
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
