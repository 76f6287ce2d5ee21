package daemon

import (
	"context"
	"io"
	"log/slog"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

func NewLogger(w io.Writer, cfg LogConfig) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logConnections logs connections opening and closing at info level, and
// every other state change and drop at debug level, until events is closed.
func logConnections(log *slog.Logger, events <-chan stack.Event) {
	for e := range events {
		logEvent(log, e)
	}
}

func logEvent(log *slog.Logger, e stack.Event) {
	switch e.Kind {
	case stack.EventStateChange:
		attrs := []any{"local", e.Conn.Local, "remote", e.Conn.Remote}
		switch e.To {
		case tcp.Established:
			log.Info("connection opened", attrs...)
		case tcp.Closed:
			level := slog.LevelInfo
			if e.From == tcp.SynReceived {
				// A handshake that never completed: under a SYN flood,
				// each spoofed SYN the half-open queue took ends so.
				level = slog.LevelDebug
			}
			log.Log(context.Background(), level, "connection closed", append(attrs, "from", e.From, "reason", e.Reason.Code())...)
		default:
			log.Debug("state change", append(attrs, "from", e.From, "to", e.To, "reason", e.Reason.Code())...)
		}
	case stack.EventDrop:
		if !log.Enabled(context.Background(), slog.LevelDebug) {
			return
		}
		// A drop before demultiplexing has no tcp.Reason: its code is
		// Detail ("not-our-address", "martian-source-loopback").
		reason := e.Reason.Code()
		if e.Reason == tcp.ReasonNone && e.Detail != "" {
			reason = e.Detail
		}
		attrs := []any{"reason", reason}
		switch {
		case e.Conn != (tcp.ID{}):
			attrs = append(attrs, "local", e.Conn.Local, "remote", e.Conn.Remote)
		case e.Src.IsValid():
			attrs = append(attrs, "src", e.Src, "dst", e.Dst)
		}
		log.Debug("drop", attrs...)
	}
}
