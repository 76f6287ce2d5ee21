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
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/tunstack/tunstack/stack"
)

// controlBackend is what the control server needs from the stack. The
// daemon passes its *stack.Stack through stackBackend; tests pass fakes.
type controlBackend interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	Subscribe(buf int) (<-chan stack.Event, func())
	// Status fills the counters and connections of a status reply.
	Status() controlReply
}

// Limits of the control server.
const (
	maxRequestLine     = 4 << 10
	requestReadTimeout = 10 * time.Second
	maxDialTimeout     = 5 * time.Minute
	eventsBuffer       = 1024
)

var (
	errDaemonRunning = errors.New("another daemon is listening on it")
	errNotSocket     = errors.New("exists and is not a socket")
)

// listenControl creates the control socket at path, readable and writable
// by its owner only. A socket left behind by a daemon that died is
// replaced; one that a live daemon answers on is not.
func listenControl(path string) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if info, err := os.Lstat(path); err == nil {
		if info.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("control socket %s: %w", path, errNotSocket)
		}
		if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
			conn.Close()
			return nil, fmt.Errorf("control socket %s: %w", path, errDaemonRunning)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket %s: removing stale socket: %w", path, err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	// The daemon removes the file itself, last, so that its disappearance
	// means the daemon is gone.
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		os.Remove(path)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return ln, nil
}

// controlServer answers requests on the control socket.
type controlServer struct {
	ln      *net.UnixListener
	backend controlBackend
	log     *slog.Logger

	ctx    context.Context // canceled by close: ends dials in progress
	cancel context.CancelFunc

	mu     sync.Mutex
	active map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newControlServer(ln *net.UnixListener, backend controlBackend, log *slog.Logger) *controlServer {
	ctx, cancel := context.WithCancel(context.Background())
	return &controlServer{ln: ln, backend: backend, log: log, ctx: ctx, cancel: cancel, active: map[net.Conn]struct{}{}}
}

// serve accepts connections until close.
func (s *controlServer) serve() {
	for {
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error("control socket accept failed", "err", err)
			}
			return
		}
		if !s.track(conn) {
			conn.Close()
			return
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(conn)
			s.handle(conn)
		}()
	}
}

// track registers a connection so that close can end it and wait for its
// goroutine; false once closed.
func (s *controlServer) track(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		return false
	}
	s.active[conn] = struct{}{}
	s.wg.Add(1) // under mu, so never after close has begun waiting
	return true
}

func (s *controlServer) untrack(conn net.Conn) {
	conn.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.active, conn)
}

// close stops accepting, ends every session (dial proxies, event streams)
// and waits for their goroutines. It does not remove the socket file.
func (s *controlServer) close() {
	s.ln.Close()
	s.cancel()
	s.mu.Lock()
	for conn := range s.active {
		conn.Close()
	}
	s.active = nil
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *controlServer) handle(conn *net.UnixConn) {
	conn.SetReadDeadline(time.Now().Add(requestReadTimeout))
	r := bufio.NewReaderSize(conn, maxRequestLine)
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			writeReply(conn, controlReply{Error: "request line too long"})
		}
		return
	}
	conn.SetReadDeadline(time.Time{})
	var req controlRequest
	if err := json.Unmarshal(line, &req); err != nil {
		writeReply(conn, controlReply{Error: "malformed request: " + err.Error()})
		return
	}
	switch req.Op {
	case opDial:
		s.dial(conn, r, req)
	case opStatus:
		reply := s.backend.Status()
		reply.OK = true
		writeReply(conn, reply)
	case opEvents:
		s.events(conn, req.Filter)
	case opMemstats:
		s.memstats(conn)
	default:
		writeReply(conn, controlReply{Error: fmt.Sprintf("unknown op %q (want dial, status or events)", req.Op)})
	}
}

func writeReply(w io.Writer, reply controlReply) error {
	b, err := json.Marshal(reply)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// dial opens the connection and then relays bytes between it and the
// client until both directions are done. r holds whatever the client sent
// after its request line.
func (s *controlServer) dial(client *net.UnixConn, r *bufio.Reader, req controlRequest) {
	timeout := defaultDialTimeout
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil || d <= 0 || d > maxDialTimeout {
			writeReply(client, controlReply{Error: fmt.Sprintf("bad timeout %q (want a duration up to %v)", req.Timeout, maxDialTimeout)})
			return
		}
		timeout = d
	}
	if _, err := validateDialTarget(req.Addr); err != nil {
		writeReply(client, controlReply{Error: "bad address: " + err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	// A client that goes away while the handshake runs (Ctrl-C on
	// `tunstack dial`) cancels it, so the stack stops sending SYNs.
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		if _, err := r.Peek(1); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			cancel()
		}
	}()
	conn, err := s.backend.DialContext(ctx, "tcp", req.Addr)
	client.SetReadDeadline(time.Unix(1, 0)) // stop the watcher
	<-watched
	client.SetReadDeadline(time.Time{})
	cancel()
	if err != nil {
		s.log.Debug("control dial failed", "addr", req.Addr, "err", err)
		writeReply(client, controlReply{Error: dialErrorText(err)})
		return
	}
	defer conn.Close()
	if err := writeReply(client, controlReply{OK: true, Local: conn.LocalAddr().String(), Remote: conn.RemoteAddr().String()}); err != nil {
		return
	}
	s.log.Debug("control dial connected", "local", conn.LocalAddr(), "remote", conn.RemoteAddr())
	relay(client, r, conn)
}

// halfCloser is a connection whose sending side can be shut on its own.
type halfCloser interface {
	CloseWrite() error
}

// relay copies in both directions between the client (whose buffered
// reader is clientIn) and the stack connection. EOF in one direction
// becomes CloseWrite on the other side; an error in either ends both.
func relay(client *net.UnixConn, clientIn io.Reader, conn net.Conn) {
	var once sync.Once
	abort := func() {
		once.Do(func() {
			client.Close()
			conn.Close()
		})
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if _, err := io.Copy(conn, clientIn); err != nil {
			abort()
			return
		}
		if hc, ok := conn.(halfCloser); ok {
			if hc.CloseWrite() == nil {
				return
			}
		}
		abort()
	}()
	go func() {
		defer wg.Done()
		if _, err := io.Copy(client, conn); err != nil {
			abort()
			return
		}
		if client.CloseWrite() != nil {
			abort()
		}
	}()
	wg.Wait()
	abort()
}

// events streams the stack's events, those filter selects, to the client
// until it hangs up.
func (s *controlServer) events(client *net.UnixConn, filter *connFilter) {
	if filter == nil {
		filter = &connFilter{}
	}
	match, err := filter.compile()
	if err != nil {
		writeReply(client, controlReply{Error: "bad filter: " + err.Error()})
		return
	}
	events, unsubscribe := s.backend.Subscribe(eventsBuffer)
	defer unsubscribe()
	if writeReply(client, controlReply{OK: true}) != nil {
		return
	}
	// The client sends nothing more: a read returning means it hung up.
	hungUp := make(chan struct{})
	go func() {
		io.Copy(io.Discard, client)
		close(hungUp)
	}()
	w := bufio.NewWriter(client)
	enc := json.NewEncoder(w)
	for {
		select {
		case <-hungUp:
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			if match.matchEvent(&e) && enc.Encode(newWireEvent(e)) != nil {
				return
			}
			// Write out in batches: flush when no more events wait.
			if len(events) == 0 && w.Flush() != nil {
				return
			}
		}
	}
}

// dialErrorText turns a dial error into the phrase connect(2) would give,
// without the layers of context above it.
func dialErrorText(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "connection timed out"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network is unreachable"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host"
	case errors.Is(err, context.Canceled):
		return "daemon shutting down"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}
