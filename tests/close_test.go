package tests

import (
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// msl is the maximum segment lifetime the close tests give the daemon, so
// that its TIME-WAIT (2*MSL) ends within the test.
const msl = "1s"

// TestClientClosesFirst: nc sends a few bytes to echo and then FIN; the
// stack's echo answers, sees the FIN and closes. The kernel closed first,
// so its own ss shows its end in TIME-WAIT.
func TestClientClosesFirst(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	for _, tc := range []struct{ name, host, peer string }{
		{"IPv4", stackIPv4, stackIPv4 + ":7"},
		{"IPv6", stackIPv6, "[" + stackIPv6 + "]:7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runIn(t, d.ns, []byte("bye\n"), "nc", "-N", tc.host, "7")
			if r.err != nil || r.stdout != "bye\n" {
				t.Fatalf("nc -N %s 7: want the echo of %q: %v", tc.host, "bye\n", r)
			}
			testkit.WaitFor(t, 5*time.Second, "the kernel's end in TIME-WAIT", func() (bool, string) {
				sockets := kernelSockets(t, d.ns)
				_, ok := findSocket(sockets, kernelSocket{State: "TIME-WAIT", Peer: tc.peer})
				return ok, describeSockets(sockets)
			})
		})
	}
}

// TestStackClosesFirstDial: `tunstack dial` connects to a kernel listener
// and its input ends, so the stack sends the first FIN. The kernel's end
// goes to CLOSE-WAIT and stays there until the test closes it (LAST-ACK,
// then CLOSED); the stack's end goes FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT and,
// after 2*MSL, away.
func TestStackClosesFirstDial(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t, "--msl", msl)
	ln := testkit.ListenIn(t, d.ns, kernelIPv4+":0")
	kernelEnd := ln.Addr().String()
	type acceptResult struct {
		conn net.Conn
		err  error
	}
	accepted := make(chan acceptResult, 1)
	go func() {
		conn, err := ln.Accept()
		// Only the accepted socket stays, so ss shows exactly its states.
		ln.Close()
		accepted <- acceptResult{conn, err}
	}()

	stdin, feed := pipe(t)
	dial := startProcess(t, stdin, tunstackBinary(t), "dial", kernelEnd, "--control", d.control)
	stdin.Close() // the child has its copy
	var conn net.Conn
	select {
	case a := <-accepted:
		if a.err != nil {
			t.Fatalf("accept: %v\n%s", a.err, dial.output())
		}
		conn = a.conn
	case <-time.After(10 * time.Second):
		t.Fatalf("no connection from tunstack dial\n%s", dial.output())
	}
	defer conn.Close()

	// Data first, so the close follows a used connection.
	if _, err := feed.WriteString("hello\n"); err != nil {
		t.Fatal(err)
	}
	feed.Close() // EOF on dial's input: the stack sends FIN
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != "hello\n" {
		t.Fatalf("kernel end read %q, %v; want %q then EOF (the stack's FIN)\n%s", got, err, "hello\n", dial.output())
	}
	testkit.WaitFor(t, 5*time.Second, "the kernel's end in CLOSE-WAIT", func() (bool, string) {
		sockets := kernelSockets(t, d.ns)
		_, ok := findSocket(sockets, kernelSocket{State: "CLOSE-WAIT", Local: kernelEnd})
		return ok, describeSockets(sockets)
	})
	testkit.WaitFor(t, 5*time.Second, "the stack's end in FIN-WAIT-2", func() (bool, string) {
		st := d.status(t)
		c, ok := st.connection(kernelEnd)
		return ok && c.State == "FIN-WAIT-2", st.String()
	})

	conn.Close() // the kernel's FIN: LAST-ACK, then CLOSED once the stack ACKs
	var last stackConnState
	testkit.WaitFor(t, 5*time.Second, "the stack's end in TIME-WAIT", func() (bool, string) {
		st := d.status(t)
		c, ok := st.connection(kernelEnd)
		if ok {
			last = c
		}
		return ok && c.State == "TIME-WAIT", st.String()
	})
	testkit.WaitFor(t, 5*time.Second, "the kernel's end to leave LAST-ACK and close", func() (bool, string) {
		sockets := kernelSockets(t, d.ns)
		_, ok := findSocket(sockets, kernelSocket{Local: kernelEnd})
		return !ok, describeSockets(sockets)
	})
	if !dial.wait(5 * time.Second) {
		t.Fatalf("tunstack dial still running after both FINs\n%s", dial.output())
	}
	if code := dial.exitCode(); code != 0 {
		t.Errorf("tunstack dial exited %d, want 0\n%s", code, dial.output())
	}
	expectClosedAfterTimeWait(t, d, kernelEnd, last)
}

// TestStackClosesFirstHTTP: the HTTP service answers a request that says
// "Connection: close" and closes first. nc, the client, keeps its end open
// while its input is open, so the kernel's end stays in CLOSE-WAIT until
// the test ends nc's input.
func TestStackClosesFirstHTTP(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t, "--msl", msl)
	stdin, feed := pipe(t)
	name, args := inNamespace(d.ns, "nc", stackIPv4, "80")
	nc := startProcess(t, stdin, name, args...)
	stdin.Close()
	if _, err := feed.WriteString("GET / HTTP/1.1\r\nHost: " + stackIPv4 + "\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	stackEnd := stackIPv4 + ":80"
	var kernel kernelSocket
	testkit.WaitFor(t, 10*time.Second, "the kernel's end in CLOSE-WAIT", func() (bool, string) {
		sockets := kernelSockets(t, d.ns)
		s, ok := findSocket(sockets, kernelSocket{State: "CLOSE-WAIT", Peer: stackEnd})
		kernel = s
		return ok, describeSockets(sockets) + "\nnc:\n" + nc.output()
	})
	if !strings.HasPrefix(nc.stdout.String(), "HTTP/1.1 200") {
		t.Errorf("nc received %q, want an HTTP/1.1 200 response", nc.stdout.String())
	}
	feed.Close() // nc closes its socket: FIN from the kernel, LAST-ACK
	if !nc.wait(5 * time.Second) {
		t.Fatalf("nc still running after its input ended\n%s", nc.output())
	}
	var last stackConnState
	testkit.WaitFor(t, 5*time.Second, "the stack's end in TIME-WAIT", func() (bool, string) {
		st := d.status(t)
		c, ok := st.connection(kernel.Local)
		if ok {
			last = c
		}
		return ok && c.State == "TIME-WAIT", st.String()
	})
	testkit.WaitFor(t, 5*time.Second, "the kernel's end to close", func() (bool, string) {
		sockets := kernelSockets(t, d.ns)
		_, ok := findSocket(sockets, kernelSocket{Local: kernel.Local})
		return !ok, describeSockets(sockets)
	})
	expectClosedAfterTimeWait(t, d, kernel.Local, last)
}

// expectClosedAfterTimeWait waits for the stack's connection with the
// kernel's end kernelEnd to close once TIME-WAIT's 2*MSL (2 s in these
// tests) is over, and checks the states it went through, the stack having
// closed first; last is the connection as last seen.
func expectClosedAfterTimeWait(t *testing.T, d *daemon, kernelEnd string, last stackConnState) {
	t.Helper()
	testkit.WaitFor(t, 4*time.Second, "the stack's connection to close after 2*MSL", func() (bool, string) {
		st := d.status(t)
		c, ok := st.connection(kernelEnd)
		if ok {
			last = c
		}
		return !ok || c.State == "CLOSED", st.String()
	})
	want := []string{"ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"}
	if !containsInOrder(last.States, want) {
		t.Errorf("stack's connection went through %v; want %v in that order", last.States, want)
	}
}

// pipe returns a pipe whose read end becomes a child's stdin; the caller
// closes its copy of r after starting the child, and w to send EOF.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		w.Close()
	})
	return r, w
}
