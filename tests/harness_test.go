package tests

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// These tests check the harness itself, without the tunstack binary.

func TestParseSS(t *testing.T) {
	out := "LISTEN     0      4096       0.0.0.0:5000      0.0.0.0:*\n" +
		"TIME-WAIT  0      0        10.77.0.1:40000  10.77.0.2:7\n" +
		"CLOSE-WAIT 1      0     [fd00:77::1]:5000 [fd00:77::2]:49152  \n" +
		"\n"
	want := []kernelSocket{
		{State: "LISTEN", Local: "0.0.0.0:5000", Peer: "0.0.0.0:*"},
		{State: "TIME-WAIT", Local: "10.77.0.1:40000", Peer: "10.77.0.2:7"},
		{State: "CLOSE-WAIT", Local: "[fd00:77::1]:5000", Peer: "[fd00:77::2]:49152"},
	}
	got := parseSS(out)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseSS (-want +got):\n%s", diff)
	}
	if s, ok := findSocket(got, kernelSocket{State: "TIME-WAIT", Peer: "10.77.0.2:7"}); !ok || s.Local != "10.77.0.1:40000" {
		t.Errorf("findSocket(TIME-WAIT to 10.77.0.2:7) = %v, %v", s, ok)
	}
	if _, ok := findSocket(got, kernelSocket{State: "LAST-ACK"}); ok {
		t.Error("findSocket found a LAST-ACK socket that is not there")
	}
}

// TestCommandHarness checks the commands these tests run inside a
// namespace (testkit.TestNamespaceLifecycle checks the namespace itself):
// that nc is the OpenBSD one the tests rely on (-N), and that ss and the
// kernel's counters are read from the namespace.
func TestCommandHarness(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	ns := testkit.AddNamespace(t)
	ln := testkit.ListenIn(t, ns, "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	received := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			received <- err.Error()
			return
		}
		defer conn.Close()
		data, _ := io.ReadAll(conn)
		received <- string(data)
	}()
	r := runIn(t, ns, []byte("hello"), "nc", "-N", "127.0.0.1", strconv.Itoa(port))
	if r.err != nil {
		t.Fatalf("nc in namespace: %v", r)
	}
	if got := <-received; got != "hello" {
		t.Errorf("listener in namespace received %q, want %q", got, "hello")
	}
	if n := tcpCounter(t, ns, "ActiveOpens"); n != 1 {
		t.Errorf("kernel counted %d active opens in the namespace, want 1", n)
	}
	// The kernel keeps the client's end in TIME-WAIT: ss sees it.
	testkit.WaitFor(t, 5*time.Second, "TIME-WAIT in ss", func() (bool, string) {
		sockets := kernelSockets(t, ns)
		_, ok := findSocket(sockets, kernelSocket{State: "TIME-WAIT", Peer: "127.0.0.1:" + strconv.Itoa(port)})
		return ok, describeSockets(sockets)
	})
}
