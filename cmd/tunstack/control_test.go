package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// fakeBackend stands in for the stack: dials to port 9 are refused, to
// port 10 never complete, and the others reach a loopback TCP listener the
// test runs, which plays the peer.
type fakeBackend struct {
	peer string // the loopback listener's address

	mu          sync.Mutex
	subscribers int
	events      chan stack.Event
	unsubscribe chan struct{}
}

func (f *fakeBackend) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	target, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	switch target.Port() {
	case 9:
		return nil, &net.OpError{Op: "dial", Net: network, Err: tcp.ErrConnectionRefused}
	case 10:
		<-ctx.Done()
		return nil, fmt.Errorf("dial %s: %w", addr, ctx.Err())
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", f.peer)
}

func (f *fakeBackend) Subscribe(buf int) (<-chan stack.Event, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subscribers++
	var once sync.Once
	return f.events, func() { once.Do(func() { close(f.unsubscribe) }) }
}

func (f *fakeBackend) Status() controlReply {
	id := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	return controlReply{
		Counters: newCounterStatus(stack.Counters{PacketsIn: 3, Drops: map[string]uint64{"no-listener": 1}}),
		Connections: []connStatus{newConnStatus(stack.ConnInfo{
			Status: tcp.Status{ID: id, State: tcp.Established, SndNxt: 1001, RTO: time.Second},
			States: []tcp.State{tcp.Listen, tcp.SynReceived, tcp.Established},
		})},
	}
}

// shortTempDir is a temporary directory with a path short enough for a
// unix socket (108 bytes).
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tsctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// startFakeControl serves a fakeBackend on a socket in a temp dir. peer
// handles each connection the backend dials.
func startFakeControl(t *testing.T, peer func(net.Conn)) (path string, backend *fakeBackend, server *controlServer) {
	t.Helper()
	peerLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peerLn.Close() })
	go func() {
		for {
			conn, err := peerLn.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				if peer != nil {
					peer(conn)
				}
			}()
		}
	}()
	backend = &fakeBackend{peer: peerLn.Addr().String(), events: make(chan stack.Event, 16), unsubscribe: make(chan struct{})}
	path = filepath.Join(shortTempDir(t), "ctl.sock")
	ln, err := listenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	server = newControlServer(ln, backend, slog.New(slog.DiscardHandler))
	go server.serve()
	t.Cleanup(server.close)
	return path, backend, server
}

// request sends one request line and returns the connection and reply.
func request(t *testing.T, path, line string) (*net.UnixConn, *bufio.Reader, controlReply) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	conn := c.(*net.UnixConn)
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, line+"\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	reply, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatalf("reading reply to %s: %v", line, err)
	}
	var parsed controlReply
	if err := json.Unmarshal(reply, &parsed); err != nil {
		t.Fatalf("reply %q: %v", reply, err)
	}
	return conn, r, parsed
}

// TestControlDialHalfClose checks the byte stream both ways and that each
// side's half-close reaches the other: the peer reads to EOF before it
// answers, and the client reads the answer to EOF.
func TestControlDialHalfClose(t *testing.T) {
	path, _, _ := startFakeControl(t, func(conn net.Conn) {
		got, err := io.ReadAll(conn) // ends only with the client's FIN
		if err != nil {
			return
		}
		fmt.Fprintf(conn, "got %q", got)
		conn.(*net.TCPConn).CloseWrite()
	})
	conn, r, reply := request(t, path, `{"op":"dial","addr":"10.77.0.1:9000","timeout":"5s"}`)
	if !reply.OK || reply.Error != "" || reply.Local == "" {
		t.Fatalf("dial reply = %+v, want ok with a local address", reply)
	}
	if _, err := io.WriteString(conn, "hello"); err != nil {
		t.Fatal(err)
	}
	if err := conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `got "hello"`; string(got) != want {
		t.Errorf("read %q, want %q", got, want)
	}
}

func TestControlDialErrors(t *testing.T) {
	path, _, _ := startFakeControl(t, nil)
	for _, tt := range []struct{ request, wantErr string }{
		{`{"op":"dial","addr":"10.77.0.1:9"}`, "connection refused"},
		{`{"op":"dial","addr":"10.77.0.1:10","timeout":"50ms"}`, "connection timed out"},
		{`{"op":"dial","addr":"10.77.0.1:80","timeout":"soon"}`, `bad timeout "soon"`},
		{`{"op":"dial","addr":"10.77.0.1:80","timeout":"-1s"}`, `bad timeout "-1s"`},
		{`{"op":"dial","addr":"nowhere"}`, `bad address: "nowhere": want HOST:PORT`},
		{`{"op":"reboot"}`, `unknown op "reboot"`},
		{`{"op":`, "malformed request"},
	} {
		t.Run(tt.request, func(t *testing.T) {
			conn, r, reply := request(t, path, tt.request)
			if reply.OK || !strings.Contains(reply.Error, tt.wantErr) {
				t.Errorf("reply = %+v, want error %q", reply, tt.wantErr)
			}
			// The daemon closes the connection after an error.
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
				t.Errorf("after the error: read %q, %v; want EOF", rest, err)
			}
		})
	}
}

func TestControlStatus(t *testing.T) {
	path, _, _ := startFakeControl(t, nil)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintln(c, `{"op":"status"}`)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	// The names tests/ and `tunstack ss` read.
	for _, want := range []string{
		`"ok":true`,
		`"counters":{"packets_in":3,`,
		`"drops":{"no-listener":1}`,
		`"connections":[{"local":"10.77.0.2:80","remote":"10.77.0.1:40000","state":"ESTABLISHED","states":["LISTEN","SYN-RECEIVED","ESTABLISHED"],`,
		`"snd_nxt":1001`,
		`"rto":"1s"`,
	} {
		if !strings.Contains(line, want) {
			t.Errorf("status reply lacks %s:\n%s", want, line)
		}
	}
}

func TestControlEvents(t *testing.T) {
	path, backend, _ := startFakeControl(t, nil)
	conn, r, reply := request(t, path, `{"op":"events"}`)
	if !reply.OK {
		t.Fatalf("events reply = %+v", reply)
	}
	id := tcp.ID{Local: netip.MustParseAddrPort("10.77.0.2:80"), Remote: netip.MustParseAddrPort("10.77.0.1:40000")}
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	syn := stack.SegmentSummary{Flags: tcp.FlagSYN, Seq: 1000, Window: 64240, Options: tcp.Options{MSS: 1460, HasWindowScale: true, WindowScale: 7}}
	isn := stack.ISNs{Remote: 1000, RemoteKnown: true}
	backend.events <- stack.Event{Time: at, Kind: stack.EventSegmentIn, Conn: id, State: tcp.Listen, Seg: syn, ISN: isn}
	backend.events <- stack.Event{Time: at, Kind: stack.EventStateChange, Conn: id, State: tcp.SynReceived, From: tcp.Listen, To: tcp.SynReceived, Reason: tcp.ReasonListenSYN}
	want := []string{
		`{"time":"2025-01-02T03:04:05Z","kind":"segment-in","local":"10.77.0.2:80","remote":"10.77.0.1:40000","state":"LISTEN","seg":{"flags":"SYN","seq":1000,"ack":0,"rel_seq":0,"win":64240,"len":0,"options":{"mss":1460,"wscale":7}},"irs":1000}`,
		`{"time":"2025-01-02T03:04:05Z","kind":"state","local":"10.77.0.2:80","remote":"10.77.0.1:40000","state":"SYN-RECEIVED","from":"LISTEN","to":"SYN-RECEIVED","reason":"listen-syn","rule":"rfc9293:3.10.7.2","rfc":"RFC 9293 §3.10.7.2","why":"SYN in LISTEN: send SYN-ACK, enter SYN-RECEIVED"}`,
	}
	for _, w := range want {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(line) != w {
			t.Errorf("event line\n got %s\nwant %s", strings.TrimSpace(line), w)
		}
		var back wireEvent
		if err := json.Unmarshal([]byte(line), &back); err != nil {
			t.Errorf("event line does not parse back: %v", err)
		}
	}
	// Hanging up ends the subscription.
	conn.Close()
	select {
	case <-backend.unsubscribe:
	case <-time.After(5 * time.Second):
		t.Fatal("the events stream did not unsubscribe after the client hung up")
	}
}

// TestControlCloseEndsSessions checks that stopping the server ends a
// dial session in progress and an event stream.
func TestControlCloseEndsSessions(t *testing.T) {
	peerDone := make(chan struct{})
	path, _, server := startFakeControl(t, func(conn net.Conn) {
		io.Copy(io.Discard, conn)
		close(peerDone)
	})
	dialConn, dialReader, reply := request(t, path, `{"op":"dial","addr":"10.77.0.1:9000"}`)
	if !reply.OK {
		t.Fatalf("dial reply = %+v", reply)
	}
	eventsConn, eventsReader, reply := request(t, path, `{"op":"events"}`)
	if !reply.OK {
		t.Fatalf("events reply = %+v", reply)
	}
	closed := make(chan struct{})
	go func() {
		server.close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not return")
	}
	for name, r := range map[string]io.Reader{"dial": dialReader, "events": eventsReader} {
		if _, err := io.ReadAll(r); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Logf("%s session: %v", name, err)
		}
	}
	select {
	case <-peerDone:
	case <-time.After(5 * time.Second):
		t.Error("the dialed connection was not closed")
	}
	dialConn.Close()
	eventsConn.Close()
	if _, err := net.Dial("unix", path); err == nil {
		t.Error("the socket still accepts connections after close")
	}
}

func TestListenControl(t *testing.T) {
	dir := shortTempDir(t)

	t.Run("creates directory and socket owner-only", func(t *testing.T) {
		path := filepath.Join(dir, "sub", "a.sock")
		ln, err := listenControl(path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Type() != os.ModeSocket || info.Mode().Perm() != 0o600 {
			t.Errorf("socket mode %v, want a socket with 0600", info.Mode())
		}
	})

	t.Run("refuses a live socket", func(t *testing.T) {
		path := filepath.Join(dir, "live.sock")
		ln, err := listenControl(path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		if _, err := listenControl(path); !errors.Is(err, errDaemonRunning) {
			t.Errorf("second listen = %v, want errDaemonRunning", err)
		}
	})

	t.Run("replaces a stale socket", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		ln, err := listenControl(path)
		if err != nil {
			t.Fatal(err)
		}
		ln.Close() // the file stays: SetUnlinkOnClose(false)
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("socket file gone after close: %v", err)
		}
		ln, err = listenControl(path)
		if err != nil {
			t.Fatalf("listen over a stale socket: %v", err)
		}
		ln.Close()
	})

	t.Run("refuses a regular file", func(t *testing.T) {
		path := filepath.Join(dir, "file")
		os.WriteFile(path, nil, 0o644)
		if _, err := listenControl(path); !errors.Is(err, errNotSocket) {
			t.Errorf("listen over a file = %v, want errNotSocket", err)
		}
	})
}

func TestDialErrorText(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{tcp.ErrConnectionRefused, "connection refused"},
		{fmt.Errorf("dial: %w", tcp.ErrTimedOut), "connection timed out"},
		{context.DeadlineExceeded, "connection timed out"},
		{&net.OpError{Op: "dial", Err: tcp.ErrConnectionReset}, "connection reset by peer"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no local address")}, "no local address"},
		{errors.New("odd"), "odd"},
	} {
		if got := dialErrorText(tt.err); got != tt.want {
			t.Errorf("dialErrorText(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
