package control

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
	"time"

	"github.com/tunstack/tunstack/stack"
)

// Backend is what the server needs from the stack. The daemon passes a
// StackBackend; tests pass fakes.
type Backend interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	Subscribe(buf int) (<-chan stack.Event, func())
	// Status fills the counters and connections of a status reply.
	Status() Reply
}

// Limits of the control server.
const (
	maxRequestLine     = 4 << 10
	requestReadTimeout = 10 * time.Second
	eventsBuffer       = 1024
)

// Errors of Listen.
var (
	ErrDaemonRunning = errors.New("another daemon is listening on it")
	ErrNotSocket     = errors.New("exists and is not a socket")
)

// Listen creates the control socket at path, readable and writable
// by its owner only. A socket left behind by a daemon that died is
// replaced; one that a live daemon answers on is not.
func Listen(path string) (*net.UnixListener, error) {
	stale, err := CheckPath(path)
	if err != nil {
		return nil, err
	}
	if stale {
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

// CheckPath checks, before a daemon creates anything, that it can listen
// at path: the directory exists or can be made, and the path is free or
// holds a socket nobody answers on (stale: Listen replaces it).
func CheckPath(path string) (stale bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("control socket %s: %w", path, err)
	}
	info, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("control socket %s: %w", path, err)
	}
	if info.Mode().Type() != os.ModeSocket {
		return false, fmt.Errorf("control socket %s: %w", path, ErrNotSocket)
	}
	if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
		conn.Close()
		return false, fmt.Errorf("control socket %s: %w", path, ErrDaemonRunning)
	}
	return true, nil
}

// Server answers requests on the control socket.
type Server struct {
	ln      *net.UnixListener
	backend Backend
	manager Manager // faults and forwards; nil: none (manage.go)
	log     *slog.Logger

	ctx    context.Context // canceled by close: ends dials in progress
	cancel context.CancelFunc

	mu sync.Mutex
	// active are the sessions; true for a dial session that relays,
	// which ends itself when ctx ends, telling its client why.
	active map[net.Conn]bool
	wg     sync.WaitGroup
}

// NewServer serves backend on ln once Serve is called.
func NewServer(ln *net.UnixListener, backend Backend, log *slog.Logger) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{ln: ln, backend: backend, log: log, ctx: ctx, cancel: cancel, active: map[net.Conn]bool{}}
}

// Serve accepts connections until Close.
func (s *Server) Serve() {
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
func (s *Server) track(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		return false
	}
	s.active[conn] = false
	s.wg.Add(1) // under mu, so never after close has begun waiting
	return true
}

func (s *Server) untrack(conn net.Conn) {
	conn.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.active, conn)
}

// relaying marks conn as a dial session that relays: Close leaves it to
// end itself. It reports false once Close has begun.
func (s *Server) relaying(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		return false
	}
	s.active[conn] = true
	return true
}

// Close stops accepting, ends every session (dial proxies, telling their
// clients why; event streams) and waits for their goroutines. A dial
// session's connection is closed, not reset: resetting is up to the
// stack's shutdown. It does not remove the socket file.
func (s *Server) Close() {
	s.ln.Close()
	s.cancel()
	s.mu.Lock()
	for conn, relaying := range s.active {
		if !relaying {
			conn.Close()
		}
	}
	s.active = nil
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) handle(conn *net.UnixConn) {
	conn.SetReadDeadline(time.Now().Add(requestReadTimeout))
	r := bufio.NewReaderSize(conn, maxRequestLine)
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			writeReply(conn, Reply{Error: "request line too long"})
		}
		return
	}
	conn.SetReadDeadline(time.Time{})
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		writeReply(conn, Reply{Error: "malformed request: " + err.Error()})
		return
	}
	switch req.Op {
	case OpDial:
		s.dial(conn, r, req)
	case OpStatus:
		reply := s.backend.Status()
		reply.OK = true
		writeReply(conn, reply)
	case OpEvents:
		s.events(conn, req.Filter)
	case OpMemstats:
		s.memstats(conn)
	case OpFaultAdd, OpFaultList, OpFaultRemove, OpForwardAdd, OpForwardList, OpForwardRm:
		s.manage(conn, req)
	default:
		writeReply(conn, Reply{Error: fmt.Sprintf("unknown op %q (want dial, status or events)", req.Op)})
	}
}

func writeReply(w io.Writer, reply Reply) error {
	b, err := json.Marshal(reply)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// events streams the stack's events, those filter selects, to the client
// until it hangs up.
func (s *Server) events(client *net.UnixConn, filter *Filter) {
	if filter == nil {
		filter = &Filter{}
	}
	match, err := filter.Compile()
	if err != nil {
		writeReply(client, Reply{Error: "bad filter: " + err.Error()})
		return
	}
	events, unsubscribe := s.backend.Subscribe(eventsBuffer)
	defer unsubscribe()
	if writeReply(client, Reply{OK: true}) != nil {
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
			if match.MatchEvent(&e) && enc.Encode(NewEvent(e)) != nil {
				return
			}
			// Write out in batches: flush when no more events wait.
			if len(events) == 0 && w.Flush() != nil {
				return
			}
		}
	}
}
