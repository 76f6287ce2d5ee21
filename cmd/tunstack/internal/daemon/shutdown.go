package daemon

import (
	"context"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// DefaultShutdownGrace is how long open connections get to close with
// FIN when the daemon stops, before those still open are reset
// (--shutdown-grace).
const DefaultShutdownGrace = 3 * time.Second

// ShutdownReport says how the connections open when the daemon began to
// stop ended.
type ShutdownReport struct {
	// Closed finished their close (CLOSED or TIME-WAIT) within the grace
	// period; Reset were still open at its end, or when a second signal
	// came, and were reset.
	Closed, Reset int
}

// Shutdown is Stop for a signal: it closes every connection with FIN,
// resets those still open once Config.ShutdownGrace has passed or force
// is closed (a second signal), then stops the rest as Stop does. It
// returns how the connections ended. A connection whose peer stays silent
// holds the daemon no longer than the grace period: nothing else waits on
// a peer.
func (d *Daemon) Shutdown(force <-chan struct{}) (ShutdownReport, error) {
	d.stopOnce.Do(func() { d.stopError = d.stopNow(force) })
	return d.report, d.stopError
}

// closeConnections closes the stack's connections with FIN and resets
// those still open after the grace period or once force is closed; it
// returns when the stack's loop has stopped.
func (d *Daemon) closeConnections(force <-chan struct{}) ShutdownReport {
	open := openConnections(d.stack.Connections())
	abortCtx, abort := context.WithCancel(context.Background())
	defer abort()
	done := make(chan error, 1)
	go func() { done <- d.stack.Shutdown(abortCtx) }()

	grace := time.NewTimer(d.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
		return ShutdownReport{Closed: open}
	case <-grace.C:
	case <-force:
		d.log.Info("second signal: resetting the connections still open")
	}
	// The loop runs until abort: those it lists now are the ones reset.
	// It lists none if it has just finished on its own.
	stillOpen := openConnections(d.stack.Connections())
	abort()
	<-done
	return ShutdownReport{Closed: max(open-stillOpen, 0), Reset: stillOpen}
}

// openConnections counts the connections that are neither closed nor
// listening nor in TIME-WAIT: those a shutdown closes or resets.
func openConnections(conns []stack.ConnInfo) int {
	n := 0
	for _, c := range conns {
		switch c.Status.State {
		case tcp.Listen, tcp.TimeWait, tcp.Closed:
		default:
			n++
		}
	}
	return n
}
