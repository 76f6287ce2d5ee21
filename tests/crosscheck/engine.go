package crosscheck

import (
	"errors"
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// Engine is one TCP implementation under test, seen from the wire: the
// scripted peer sends it segments, the virtual clock moves, the user makes
// calls, and the engine's segments, state and error are read back. Sequence
// numbers here are absolute; the player translates the script's relative ones.
type Engine interface {
	// Input delivers a segment from the peer.
	Input(seg *tcp.Segment)
	// Advance moves the virtual clock on by d, firing every timer due.
	Advance(d time.Duration)
	// Sent returns the segments sent since the last call, in order.
	Sent() []Sent
	// State is the connection's state (LISTEN before a passive open has
	// a connection, and again after Figure 8's return to LISTEN).
	State() tcp.State
	// Err is the error the connection ended with: one of tcp's sentinel
	// errors, or nil.
	Err() error
	// OpenPassive listens on StackPort; OpenActive connects to the peer.
	OpenPassive() error
	OpenActive() error
	// Send queues p and reports an error if not all of it was taken.
	Send(p []byte) error
	// Shutdown is the half-close (RFC 9293 CLOSE): a FIN after the data.
	Shutdown() error
	// Close is net.Conn's Close: CLOSE and stop receiving.
	Close() error
	// Abort is RFC 9293 ABORT.
	Abort() error
	// Read returns what is readable now, and whether the peer's FIN has
	// been read (EOF).
	Read() (data []byte, eof bool, err error)
	// Release frees the engine's resources.
	Release()
}

// Sent is a segment an engine sent, with the reason the engine gave for it
// if it gives one (tunstack's reason codes, for the transcript).
type Sent struct {
	tcp.Segment
	Why string
}

// The addresses of a scenario. The stack listens on port 80 (passive
// scenarios) or connects from port 40000 to the peer's port 80 (active).
var (
	stackAddr = netip.MustParseAddr("10.77.0.2")
	peerAddr  = netip.MustParseAddr("10.77.0.1")
)

const (
	wellKnownPort = 80
	ephemeralPort = 40000
)

// Endpoints returns the stack's and the peer's address and port for a
// scenario.
func Endpoints(active bool) (stack, peer netip.AddrPort) {
	if active {
		return netip.AddrPortFrom(stackAddr, ephemeralPort), netip.AddrPortFrom(peerAddr, wellKnownPort)
	}
	return netip.AddrPortFrom(stackAddr, wellKnownPort), netip.AddrPortFrom(peerAddr, ephemeralPort)
}

// errName names a connection error the way scripts write it.
func errName(err error) string {
	switch {
	case err == nil:
		return "none"
	case errors.Is(err, tcp.ErrConnectionRefused):
		return "refused"
	case errors.Is(err, tcp.ErrConnectionReset):
		return "reset"
	case errors.Is(err, tcp.ErrTimedOut):
		return "timeout"
	case errors.Is(err, tcp.ErrConnectionAborted):
		return "aborted"
	}
	return "other: " + err.Error()
}
