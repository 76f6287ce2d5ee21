package tests

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
	"golang.org/x/sys/unix"
)

// unitFile is the systemd unit the repository ships.
const unitFile = "../dist/tunstack.service"

// TestSystemdUnitVerifies: systemd-analyze verify finds nothing to say
// about dist/tunstack.service, and the unit asks for what README promises:
// Type=notify, CAP_NET_ADMIN and no other capability, a user of its own,
// restart on failure, and no --netns (that would need CAP_SYS_ADMIN).
// systemd-analyze wants ExecStart's binary to exist, so it verifies a copy
// whose ExecStart is the binary the tests built.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze := testkit.RequireCommand(t, "systemd-analyze", "systemd")
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	directives := map[string][]string{}
	for line := range strings.Lines(string(unit)) {
		line = strings.TrimSpace(line)
		if key, value, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			directives[key] = append(directives[key], value)
		}
	}
	for key, want := range map[string]string{
		"Type":                  "notify",
		"AmbientCapabilities":   "CAP_NET_ADMIN",
		"CapabilityBoundingSet": "CAP_NET_ADMIN",
		"DynamicUser":           "yes",
		"Restart":               "on-failure",
	} {
		if got := directives[key]; len(got) != 1 || got[0] != want {
			t.Errorf("%s: %s=%q, want %s=%s", unitFile, key, got, key, want)
		}
	}
	execStart := directives["ExecStart"]
	if len(execStart) != 1 || !strings.HasPrefix(execStart[0], "/usr/local/bin/tunstack up") {
		t.Fatalf("%s: ExecStart=%q, want one /usr/local/bin/tunstack up", unitFile, execStart)
	}
	if strings.Contains(execStart[0], "--netns") {
		t.Errorf("%s: ExecStart uses --netns, which needs CAP_SYS_ADMIN", unitFile)
	}

	bin := tunstackBinary(t)
	copied := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/tunstack `).ReplaceAll(unit, []byte("ExecStart="+bin+" "))
	path := filepath.Join(t.TempDir(), "tunstack.service")
	if err := os.WriteFile(path, copied, 0o644); err != nil {
		t.Fatal(err)
	}
	// verify exits 0 after mere warnings (an unknown key, a bad value):
	// any output is a failure.
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unitFile, err, out)
	}
}

// notification is one datagram a service sent to its NOTIFY_SOCKET, with
// the sender's credentials as the kernel vouches for them.
type notification struct {
	state    map[string]string // KEY=VALUE assignments
	pid, uid int
}

// notifyStub is systemd's end of NOTIFY_SOCKET: an abstract unixgram
// socket that passes each sender's credentials, as systemd's does.
type notifyStub struct {
	name string // "@..." for NOTIFY_SOCKET
	conn *net.UnixConn
}

// listenNotify opens the stub in namespace ns: abstract socket names
// belong to a network namespace, and the daemon sends from inside ns.
func listenNotify(t *testing.T, ns string) *notifyStub {
	t.Helper()
	stub := &notifyStub{name: "@" + testkit.UniqueName("tunstack-notify")}
	err := testkit.InNamespace(ns, func() (err error) {
		stub.conn, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: stub.name, Net: "unixgram"})
		return err
	})
	if err != nil {
		t.Fatalf("notify socket: %v", err)
	}
	t.Cleanup(func() { stub.conn.Close() })
	raw, err := stub.conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var sockErr error
	if err := raw.Control(func(fd uintptr) {
		sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil || sockErr != nil {
		t.Fatalf("SO_PASSCRED: %v %v", err, sockErr)
	}
	return stub
}

// next returns the next notification, failing the test after timeout.
func (s *notifyStub) next(t *testing.T, timeout time.Duration) notification {
	t.Helper()
	s.conn.SetReadDeadline(time.Now().Add(timeout))
	buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	n, oobn, _, _, err := s.conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatalf("no notification within %v: %v", timeout, err)
	}
	note := notification{state: map[string]string{}, pid: -1, uid: -1}
	for line := range strings.Lines(string(buf[:n])) {
		key, value, _ := strings.Cut(strings.TrimSpace(line), "=")
		note.state[key] = value
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err == nil && len(msgs) == 1 {
		if cred, err := unix.ParseUnixCredentials(&msgs[0]); err == nil {
			note.pid, note.uid = int(cred.Pid), int(cred.Uid)
		}
	}
	return note
}

// TestSystemdNotifyReadyThenStopping runs the daemon as the unit does, as
// a user that is not root with CAP_NET_ADMIN alone, under a stub of
// systemd's notify socket: the daemon itself (the main PID, which
// NotifyAccess=main requires) says READY=1 once its page is served, and
// STOPPING=1 when SIGTERM comes, then exits 0. /dev/net/tun is a private
// copy of the device node with the usual mode 0666, bound over the real
// one in a mount namespace of the test's, so that the user can open it
// whatever the mode of the machine's node.
func TestSystemdNotifyReadyThenStopping(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.RequireCommand(t, "unshare", "util-linux")
	t.Parallel()
	ns := testkit.AddNamespace(t)
	stub := listenNotify(t, ns)
	dir := testkit.ShortTempDir(t)
	if err := os.Chmod(dir, 0o777); err != nil { // the daemon's user makes its control socket here
		t.Fatal(err)
	}
	tun := filepath.Join(dir, "tun")
	if err := unix.Mknod(tun, unix.S_IFCHR|0o666, int(unix.Mkdev(10, 200))); err != nil {
		t.Fatalf("mknod %s: %v", tun, err)
	}
	if err := os.Chmod(tun, 0o666); err != nil { // mknod's mode passes the umask
		t.Fatal(err)
	}
	const nobody = 65534
	args := []string{"NOTIFY_SOCKET=" + stub.name,
		"unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", `mount --bind "$0" /dev/net/tun && exec "$@"`, tun,
		"ip", "netns", "exec", ns,
		"setpriv", fmt.Sprintf("--reuid=%d", nobody), fmt.Sprintf("--regid=%d", nobody), "--clear-groups",
		"--inh-caps=-all,+net_admin", "--ambient-caps=-all,+net_admin", "--bounding-set=-all,+net_admin", "--",
		tunstackBinary(t), "up", "--control", filepath.Join(dir, "ctl.sock")}
	d := startProcess(t, nil, "env", args...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("env %s\n%s", strings.Join(args, " "), d.output())
		}
	})

	ready := stub.next(t, startTimeout)
	if ready.state["READY"] != "1" {
		t.Fatalf("first notification %v, want READY=1", ready.state)
	}
	if ready.pid != d.cmd.Process.Pid || ready.uid != nobody {
		t.Errorf("READY=1 came from PID %d as UID %d, want the daemon, PID %d, as %d", ready.pid, ready.uid, d.cmd.Process.Pid, nobody)
	}
	// Ready means serving: the page answers at once.
	if r := runIn(t, ns, nil, "curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", "http://"+stackIPv4+"/"); r.err != nil || r.stdout != "200" {
		t.Errorf("curl of the page after READY=1: %v", r)
	}

	d.cmd.Process.Signal(syscall.SIGTERM)
	stopping := stub.next(t, stopTimeout)
	if stopping.state["STOPPING"] != "1" || stopping.pid != d.cmd.Process.Pid {
		t.Errorf("after SIGTERM: %v from PID %d, want STOPPING=1 from %d", stopping.state, stopping.pid, d.cmd.Process.Pid)
	}
	if !d.wait(stopTimeout) {
		t.Fatalf("the daemon did not exit within %v of SIGTERM", stopTimeout)
	}
	if d.exitCode() != 0 {
		t.Errorf("the daemon exited %d, want 0", d.exitCode())
	}
}
