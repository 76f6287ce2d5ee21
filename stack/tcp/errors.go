package tcp

import (
	"errors"
	"syscall"
)

// Error is an error of RFC 9293's user interface (§3.10). Each value also
// matches the errno a kernel socket would return, so both
// errors.Is(err, tcp.ErrConnectionRefused) and
// errors.Is(err, syscall.ECONNREFUSED) hold.
type Error struct {
	msg   string
	errno syscall.Errno
}

func (e *Error) Error() string { return e.msg }

// Is matches the errno the error stands for.
func (e *Error) Is(target error) bool {
	var errno syscall.Errno
	return errors.As(target, &errno) && e.errno != 0 && errno == e.errno
}

// Timeout reports whether the error is a time-out, as net.Error asks.
func (e *Error) Timeout() bool { return e.errno == syscall.ETIMEDOUT }

// Temporary is part of the old net.Error interface.
func (e *Error) Temporary() bool { return false }

// The errors of the user calls (RFC 9293 §3.10).
var (
	// ErrConnectionRefused: a RST answered our SYN (§3.10.7.3).
	ErrConnectionRefused = &Error{"connection refused", syscall.ECONNREFUSED}
	// ErrConnectionReset: the peer reset a synchronized connection (§3.10.7.4).
	ErrConnectionReset = &Error{"connection reset by peer", syscall.ECONNRESET}
	// ErrTimedOut: retransmissions or the user timeout gave up (§3.8.3).
	ErrTimedOut = &Error{"connection timed out", syscall.ETIMEDOUT}
	// ErrClosing: SEND or a second CLOSE after CLOSE (§3.10.2, §3.10.4).
	ErrClosing = &Error{"connection closing", syscall.EPIPE}
	// ErrConnectionAborted: the local user aborted the connection (§3.10.5).
	ErrConnectionAborted = &Error{"connection aborted", syscall.ECONNABORTED}
	// ErrNotConnected: the call needs a connection that does not exist (§3.10).
	ErrNotConnected = &Error{"connection does not exist", syscall.ENOTCONN}
	// ErrHostUnreachable and ErrNetworkUnreachable: soft ICMP errors
	// (RFC 1122 §4.2.3.9) reported when the connection times out after them.
	ErrHostUnreachable    = &Error{"no route to host", syscall.EHOSTUNREACH}
	ErrNetworkUnreachable = &Error{"network is unreachable", syscall.ENETUNREACH}
	// ErrAlreadyOpen: OPEN on a connection that is not CLOSED (§3.10.1).
	ErrAlreadyOpen = &Error{"connection already exists", syscall.EISCONN}
)
