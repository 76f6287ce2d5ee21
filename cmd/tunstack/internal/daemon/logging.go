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

// States are logged by their RFC 9293 names, as strings: slog's JSON
// handler would print a tcp.State as its number. A drop's reason is the
// engine's reason code, or for a packet dropped before demultiplexing the
// stack's own code (Event.Detail: "not-our-address"), and why says it in
// words, as `tunstack trace` does.

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
			log.Log(context.Background(), level, "connection closed", append(attrs, "from", e.From.String(), "reason", e.Reason.Code())...)
		default:
			log.Debug("state change", append(attrs, "from", e.From.String(), "to", e.To.String(), "reason", e.Reason.Code())...)
		}
	case stack.EventDrop:
		if !log.Enabled(context.Background(), slog.LevelDebug) {
			return
		}
		reason, why := dropReason(&e)
		attrs := []any{"reason", reason}
		if why != "" {
			attrs = append(attrs, "why", why)
		}
		switch {
		case e.Conn != (tcp.ID{}):
			attrs = append(attrs, "local", e.Conn.Local, "remote", e.Conn.Remote, "state", e.State.String())
		case e.Src.IsValid():
			attrs = append(attrs, "src", e.Src, "dst", e.Dst)
		}
		log.Debug("drop", attrs...)
	}
}

// dropReason is a drop's reason code and the line that says why: the
// engine's reason, else the stack's code for a packet dropped before
// demultiplexing ("not-our-address", "martian-source-loopback") or the
// wire's ("ip-bad-checksum"), which says it itself. A drop always has a
// code: "unknown" only if the stack gave neither.
func dropReason(e *stack.Event) (code, why string) {
	switch {
	case e.Reason != tcp.ReasonNone:
		return e.Reason.Code(), e.Reason.Text()
	case e.Detail != "":
		return e.Detail, stack.DropText(e.Detail)
	}
	return "unknown", ""
}
