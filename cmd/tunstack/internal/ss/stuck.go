package ss

import (
	"fmt"
	"io"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack/tcp"
)

// DefaultStuckAge is how long a connection must have been in a state
// before `tunstack ss --stuck` calls it stuck.
const DefaultStuckAge = 10 * time.Second

// StuckStates are the states where a connection waits on someone else and
// may wait for ever: the peer (SYN-RECEIVED, FIN-WAIT-2, LAST-ACK) or the
// application (CLOSE-WAIT).
var StuckStates = []string{
	tcp.SynReceived.String(),
	tcp.FinWait2.String(),
	tcp.CloseWait.String(),
	tcp.LastAck.String(),
}

// stuck reports whether c has been in one of StuckStates for minAge or
// longer.
func stuck(c *control.ConnStatus, minAge time.Duration) bool {
	age, err := time.ParseDuration(c.Age)
	if err != nil || age < minAge {
		return false
	}
	for _, st := range StuckStates {
		if c.State == st {
			return true
		}
	}
	return false
}

// WaitingFor says what a connection waits for in its state, in words.
func WaitingFor(c *control.ConnStatus) string {
	switch c.State {
	case tcp.SynReceived.String():
		return "the ACK of our SYN-ACK" + retransmission(c)
	case tcp.FinWait2.String():
		if t, ok := c.Timer(control.TimerFinWait2); ok {
			return fmt.Sprintf("the peer's FIN (the application has closed: gives up in %s)", shortDuration(t.Left))
		}
		return "the peer's FIN (no time-out while the application holds the connection open)"
	case tcp.CloseWait.String():
		if !c.AppClosed {
			s := "the application to close: the peer has sent its FIN"
			if c.RecvQ > 0 {
				s += fmt.Sprintf(", %d bytes before it are unread", c.RecvQ)
			}
			return s
		}
		return fmt.Sprintf("the peer to take %d bytes queued before our FIN (its window is %d)", c.SendQ, c.SndWnd)
	case tcp.LastAck.String():
		return "the ACK of our FIN" + retransmission(c)
	case tcp.SynSent.String():
		return "the peer's SYN-ACK" + retransmission(c)
	case tcp.FinWait1.String(), tcp.Closing.String():
		return "the ACK of our FIN" + retransmission(c)
	case tcp.TimeWait.String():
		if t, ok := c.Timer(control.TimerTimeWait); ok {
			return "2MSL to pass: " + shortDuration(t.Left) + " left"
		}
	}
	return ""
}

// retransmission describes the retransmission timer: " (retransmitting,
// backoff 2, next in 1.6s)".
func retransmission(c *control.ConnStatus) string {
	t, ok := c.Timer(control.TimerRetransmit)
	switch {
	case ok && t.Backoff > 0:
		return fmt.Sprintf(" (retransmitting, backoff %d, next in %s)", t.Backoff, shortDuration(t.Left))
	case ok:
		return fmt.Sprintf(" (retransmission in %s)", shortDuration(t.Left))
	case c.Backoff > 0:
		return fmt.Sprintf(" (backoff %d)", c.Backoff)
	}
	return ""
}

// writeStuck prints stuck connections and what each waits for.
func writeStuck(w io.Writer, conns []control.ConnStatus, minAge time.Duration) {
	if len(conns) == 0 {
		fmt.Fprintf(w, "no connection has been in SYN-RECEIVED, FIN-WAIT-2, CLOSE-WAIT or LAST-ACK for %v or more\n", minAge)
		return
	}
	rows := [][]string{{"State", "For", "Local Address:Port", "Peer Address:Port", "Waiting for"}}
	for _, c := range conns {
		rows = append(rows, []string{c.State, shortDuration(c.Age), c.Local, c.Remote, c.WaitingFor})
	}
	for _, line := range columns(rows) {
		fmt.Fprintln(w, line)
	}
}
