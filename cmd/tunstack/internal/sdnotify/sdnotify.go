// Package sdnotify tells systemd how the daemon is doing, as sd_notify(3)
// does for a unit of Type=notify: one datagram of newline-separated
// KEY=VALUE assignments to the unix socket that $NOTIFY_SOCKET names, a
// path or, with a leading '@', an abstract name.
//
// Without $NOTIFY_SOCKET (not started by systemd, or not Type=notify) it
// does nothing. It does not implement the watchdog, file descriptor
// storage or vsock addresses.
package sdnotify

import (
	"fmt"
	"log/slog"
	"net"
	"os"
)

// The states tunstack sends (sd_notify(3)).
const (
	// Ready: the service is up; systemd starts the units ordered after it.
	Ready = "READY=1"
	// Stopping: the service is shutting down.
	Stopping = "STOPPING=1"
)

// EnvSocket is the variable in which systemd names its socket.
const EnvSocket = "NOTIFY_SOCKET"

// Notify sends state to the socket $NOTIFY_SOCKET names. It reports
// whether a datagram was sent: false, with no error, when the variable is
// not set.
func Notify(state string) (bool, error) {
	return NotifySocket(os.Getenv(EnvSocket), state)
}

// NotifySocket sends state to socket, a path or an '@' abstract name; ""
// sends nothing.
func NotifySocket(socket, state string) (bool, error) {
	if socket == "" {
		return false, nil
	}
	if socket[0] != '/' && socket[0] != '@' {
		return false, fmt.Errorf("%s=%q: want an absolute path or an @abstract name", EnvSocket, socket)
	}
	// The net package turns a leading '@' into the NUL byte of an
	// abstract address, as systemd means it.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return false, fmt.Errorf("notifying systemd: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return false, fmt.Errorf("notifying systemd: %w", err)
	}
	return true, nil
}

// Send is Notify for the daemon: a failure to tell systemd is logged, not
// fatal (systemd itself ends a Type=notify unit that never gets ready).
func Send(log *slog.Logger, state string) {
	if _, err := Notify(state); err != nil {
		log.Warn("sd_notify", "state", state, "err", err)
	}
}
