package tests

import (
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
	"golang.org/x/sys/unix"
)

// silentPeer is a `tunstack dial` connection whose stack side sits in
// FIN-WAIT-2: dial's input ended (the stack's FIN, which the kernel
// acknowledged) and the kernel's side, in CLOSE-WAIT, sends nothing more,
// for its socket stays open and unread.
type silentPeer struct {
	dial *process
	peer net.Conn // the kernel's side
}

func startSilentPeer(t *testing.T, d *daemon) silentPeer {
	t.Helper()
	ln := testkit.ListenIn(t, d.ns, kernelIPv4+":0")
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- conn
	}()
	dialIn, dialFeed := pipe(t)
	dial := startProcess(t, dialIn, tunstackBinary(t), "dial", kernelIPv4+":"+port, "--control", d.control)
	dialIn.Close()
	dialFeed.Close() // the stack's FIN
	var peer net.Conn
	select {
	case peer = <-accepted:
	case <-time.After(10 * time.Second):
	}
	if peer == nil {
		t.Fatalf("the kernel accepted no connection from tunstack dial\n%s", dial.output())
	}
	t.Cleanup(func() { peer.Close() })
	testkit.WaitFor(t, 10*time.Second, "the kernel's side in CLOSE-WAIT", func() (bool, string) {
		sockets := kernelSockets(t, d.ns)
		_, ok := findSocket(sockets, kernelSocket{State: "CLOSE-WAIT", Local: kernelIPv4 + ":" + port})
		return ok, describeSockets(sockets)
	})
	return silentPeer{dial: dial, peer: peer}
}

// checkReset checks that the kernel's side of p was reset: a RST is the
// only way out of CLOSE-WAIT for a socket that sends nothing.
func (p silentPeer) checkReset(t *testing.T, ns string) {
	t.Helper()
	testkit.WaitFor(t, 5*time.Second, "the kernel's side to be reset", func() (bool, string) {
		state, err := tcpState(p.peer)
		if err != nil {
			return false, err.Error()
		}
		return state == tcpClose, "TCP state " + strconv.Itoa(int(state))
	})
	if n := tcpCounter(t, ns, "EstabResets"); n != 1 {
		t.Errorf("the kernel counted %d connections reset from ESTABLISHED or CLOSE-WAIT, want 1", n)
	}
}

// checkDialEnded checks that tunstack dial failed with one line that
// says the daemon ended its connection.
func (p silentPeer) checkDialEnded(t *testing.T) {
	t.Helper()
	if !p.dial.wait(5 * time.Second) {
		t.Fatalf("tunstack dial still running after the daemon stopped\n%s", p.dial.output())
	}
	if code := p.dial.exitCode(); code != 1 {
		t.Errorf("tunstack dial exited %d, want 1\n%s", code, p.dial.output())
	}
	if line, ok := oneLine(t, "dial's stderr", p.dial.stderr.String()); ok && !strings.Contains(line, "the daemon is shutting down") {
		t.Errorf("dial's error %q does not say the daemon ended the connection", line)
	}
}

const tcpClose = 7 // TCP_CLOSE in struct tcp_info's state

// tcpState is the kernel's TCP state of conn.
func tcpState(conn net.Conn) (uint8, error) {
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		return 0, err
	}
	var state uint8
	var infoErr error
	err = raw.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			infoErr = err
			return
		}
		state = info.State
	})
	if err == nil {
		err = infoErr
	}
	return state, err
}

// TestShutdownSilentPeer: SIGTERM with a connection in FIN-WAIT-2 whose
// peer stays silent: the daemon resets it once --shutdown-grace has
// passed, exits 0 within the grace period plus a second, and says how
// many connections closed and how many it reset; tunstack dial fails
// with a line that says why.
func TestShutdownSilentPeer(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	const grace = 2 * time.Second
	ns := testkit.AddNamespace(t) // outlives the daemon: its counters are read after
	d := startDaemonIn(t, ns, "--shutdown-grace", grace.String())
	p := startSilentPeer(t, d)

	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !d.wait(grace + time.Second) {
		t.Fatalf("daemon still running %v after SIGTERM with --shutdown-grace %v\n%s", grace+time.Second, grace, d.output())
	}
	t.Logf("daemon exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if code := d.exitCode(); code != 0 {
		t.Errorf("daemon exited %d, want 0\n%s", code, d.output())
	}
	if !strings.Contains(d.stderr.String(), "msg=stopped closed=0 reset=1") {
		t.Errorf("no log line saying one connection was reset and none closed\n%s", d.output())
	}
	p.checkReset(t, ns)
	p.checkDialEnded(t)
}

// TestShutdownSecondSignal: a second SIGTERM during the grace period
// resets what is still open at once.
func TestShutdownSecondSignal(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	ns := testkit.AddNamespace(t)
	d := startDaemonIn(t, ns, "--shutdown-grace", "1m")
	p := startSilentPeer(t, d)

	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 5*time.Second, "the daemon to begin its shutdown", func() (bool, string) {
		return strings.Contains(d.stderr.String(), "shutting down"), d.output()
	})
	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !d.wait(3 * time.Second) {
		t.Fatalf("daemon still running 3s after a second SIGTERM\n%s", d.output())
	}
	t.Logf("daemon exited %v after the second SIGTERM", time.Since(start).Round(time.Millisecond))
	if code := d.exitCode(); code != 0 {
		t.Errorf("daemon exited %d, want 0\n%s", code, d.output())
	}
	if !strings.Contains(d.stderr.String(), "msg=stopped closed=0 reset=1") {
		t.Errorf("no log line saying one connection was reset\n%s", d.output())
	}
	p.checkReset(t, ns)
	p.checkDialEnded(t)
}
