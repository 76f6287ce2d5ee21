package main

import (
	"encoding/json"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/clitest"
	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/tests/testkit"
)

// TestSSOverRealStack lists a real stack's connections: one held open,
// one the peer has closed and the application has not (CLOSE-WAIT).
func TestSSOverRealStack(t *testing.T) {
	pair := clitest.NewStackPair(t)
	ln, err := pair.Ours.Listen("tcp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 2)
	// Held open: never read, never closed.
	go stack.AcceptEach(ln, func(c net.Conn) { accepted <- c })
	path, _ := clitest.ServeControl(t, control.StackBackend{Stack: pair.Ours})
	held := pair.DialFromPeer(t, "10.77.0.2:7")
	closing := pair.DialFromPeer(t, "10.77.0.2:7")
	for range 2 {
		c := <-accepted
		defer c.Close()
	}
	held.Write([]byte("unread"))
	closing.Close()

	var conns []control.ConnStatus
	testkit.Eventually(t, "one ESTABLISHED and one CLOSE-WAIT connection", func() bool {
		code, out, errOut := runCLI(t, noCapabilities, nil, "ss", "--control", path, "--json")
		if code != exitOK {
			t.Fatalf("ss --json exited %d: %s", code, errOut)
		}
		conns = nil
		if err := json.Unmarshal([]byte(out), &conns); err != nil {
			t.Fatalf("ss --json printed %q: %v", out, err)
		}
		var states []string
		for _, c := range conns {
			states = append(states, c.State)
		}
		slices.Sort(states)
		return slices.Equal(states, []string{"CLOSE-WAIT", "ESTABLISHED"})
	})
	for _, c := range conns {
		if c.Local != "10.77.0.2:7" || c.Since == nil || c.Age == "" || c.MSS == 0 || c.RTO == "" || len(c.States) < 3 {
			t.Errorf("connection %+v lacks its ends, age, MSS, RTO or states", c)
		}
		if c.State == "ESTABLISHED" && c.RecvQ != len("unread") {
			t.Errorf("ESTABLISHED Recv-Q = %d, want %d", c.RecvQ, len("unread"))
		}
	}

	code, out, _ := runCLI(t, noCapabilities, nil, "ss", "--control", path, "-a")
	for _, want := range []string{"State", "Recv-Q", "LISTEN", "10.77.0.2:7", "ESTABLISHED", "CLOSE-WAIT", "rto:", "mss:", "states: LISTEN → SYN-RECEIVED → ESTABLISHED"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("ss -a (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	// ss's own flags and filters: -tni prints ss -i's line in ss's units
	// (milliseconds), and no engine view or states.
	code, out, _ = runCLI(t, noCapabilities, nil, "ss", "--control", path, "-tni")
	info := regexp.MustCompile(`(?m)^\t cubic wscale:\d+,\d+ rto:\d+ rtt:[0-9.]+/[0-9.]+ mss:\d+ cwnd:\d+ .*segs_out:\d+ segs_in:\d+ send \d+bps`)
	if code != exitOK || len(info.FindAllString(out, -1)) != 2 || strings.Contains(out, "states:") || strings.Contains(out, "µs") {
		t.Errorf("ss -tni (exit %d): want two ss -i lines in ss's format, without the engine's view:\n%s", code, out)
	}
	code, out, _ = runCLI(t, noCapabilities, nil, "ss", "--control", path, "-tanH", "sport", "=", ":7", "and", "not", "(", "dst", "10.77.0.9", ")")
	if code != exitOK || strings.Count(out, "\n") != 3 || strings.Contains(out, "Recv-Q") || strings.Contains(out, "rto:") {
		t.Errorf("ss -tanH sport = :7 ... (exit %d): want the listener and both connections, without header or details:\n%s", code, out)
	}
	code, out, _ = runCLI(t, noCapabilities, nil, "ss", "--control", path, "-tn", "state", "established", "dport", "gt", ":65535")
	if code != exitOK || strings.TrimSpace(out) != "State  Recv-Q  Send-Q  Local Address:Port  Peer Address:Port  Age" {
		t.Errorf("ss -tn state established dport gt :65535 (exit %d): want the header alone:\n%s", code, out)
	}
	code, out, _ = runCLI(t, noCapabilities, nil, "ss", "--control", path, "state", "close-wait")
	if code != exitOK || strings.Contains(out, "\nESTABLISHED") || !strings.Contains(out, "\nCLOSE-WAIT") {
		t.Errorf("ss state close-wait (exit %d):\n%s", code, out)
	}
	code, out, _ = runCLI(t, noCapabilities, nil, "ss", "--control", path, "--stuck", "--min-age", "0s")
	if code != exitOK || !strings.Contains(out, "\nCLOSE-WAIT") || !strings.Contains(out, "the application to close") || strings.Contains(out, "\nESTABLISHED") {
		t.Errorf("ss --stuck (exit %d):\n%s", code, out)
	}
	code, out, _ = runCLI(t, noCapabilities, nil, "ss", "--control", path, "--stuck")
	if code != exitOK || !strings.Contains(out, "no connection has been") {
		t.Errorf("ss --stuck with the default age (exit %d):\n%s", code, out)
	}
}

func TestSSUsageErrors(t *testing.T) {
	missing := filepath.Join(testkit.ShortTempDir(t), "none.sock")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ss", "--control", missing, "-s", "half-open"}, exitUsage, `unknown state "half-open"`},
		{[]string{"ss", "--control", missing, "state"}, exitUsage, "state: which state?"},
		{[]string{"ss", "--control", missing, "dport", "=", ":http"}, exitUsage, "service names are not looked up"},
		{[]string{"ss", "--control", missing, "-46"}, exitUsage, "-4 and -6 do not go together"},
		{[]string{"ss", "--control", missing, "--stuck", "-s", "established"}, exitUsage, "--stuck looks at"},
		{[]string{"ss", "--control", missing, "--remote", "nowhere"}, exitUsage, `remote "nowhere"`},
		{[]string{"ss", "--control", missing}, exitFailure, "no tunstack daemon is running there"},
		{[]string{"trace", "--control", missing, "--json", "--ladder"}, exitUsage, "do not go together"},
		{[]string{"trace", "--control", missing}, exitFailure, "no tunstack daemon is running there"},
	} {
		code, _, errOut := runCLI(t, noCapabilities, nil, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}

// TestSSUDPOverRealStack: ss -ua lists a real stack's UDP sockets, with
// the datagram that waits to be read.
func TestSSUDPOverRealStack(t *testing.T) {
	pair := clitest.NewStackPair(t)
	pc, err := pair.Ours.ListenPacket("udp", ":7")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	conn, err := pair.Peer.DialUDP("udp", "10.77.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("unread"))
	path, _ := clitest.ServeControl(t, control.StackBackend{Stack: pair.Ours})
	var out string
	testkit.Eventually(t, "the datagram waiting on the socket", func() bool {
		code, stdout, errOut := runCLI(t, noCapabilities, nil, "ss", "--control", path, "-ua")
		if code != exitOK {
			t.Fatalf("ss -ua exited %d: %s", code, errOut)
		}
		out = stdout
		return strings.Contains(out, "datagrams:1")
	})
	if !strings.Contains(out, "UNCONN") || !strings.Contains(out, "0.0.0.0:7") || !strings.Contains(out, " 6 ") {
		t.Errorf("ss -ua printed\n%s\nwant 0.0.0.0:7 UNCONN with 6 bytes in Recv-Q", out)
	}
}
