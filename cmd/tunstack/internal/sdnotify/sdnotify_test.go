package sdnotify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// listen opens a unixgram socket at name (a path or an @abstract name)
// as systemd's end.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen on %s: %v", name, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// receive reads one datagram, or fails after a few seconds.
func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(buf[:n])
}

func TestNotifyPathAndAbstractSockets(t *testing.T) {
	for _, name := range []string{
		filepath.Join(t.TempDir(), "notify.sock"),
		fmt.Sprintf("@tunstack-sdnotify-test-%d", os.Getpid()),
	} {
		t.Run(name[:1], func(t *testing.T) {
			conn := listen(t, name)
			t.Setenv(EnvSocket, name)
			for _, state := range []string{Ready, Stopping} {
				sent, err := Notify(state)
				if !sent || err != nil {
					t.Fatalf("Notify(%q) = %v, %v", state, sent, err)
				}
				if got := receive(t, conn); got != state {
					t.Errorf("systemd got %q, want %q", got, state)
				}
			}
		})
	}
}

func TestNotifyWithoutSystemd(t *testing.T) {
	t.Setenv(EnvSocket, "")
	if sent, err := Notify(Ready); sent || err != nil {
		t.Errorf("Notify without NOTIFY_SOCKET = %v, %v; want nothing sent, no error", sent, err)
	}
}

func TestNotifyBadSocket(t *testing.T) {
	for _, socket := range []string{"relative/path", filepath.Join(t.TempDir(), "absent.sock")} {
		if sent, err := NotifySocket(socket, Ready); sent || err == nil {
			t.Errorf("NotifySocket(%q) = %v, %v; want an error", socket, sent, err)
		}
	}
}
