package control

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// dial opens the connection and then relays bytes between it and the
// client until both directions are done. r holds whatever the client sent
// after its request line.
func (s *Server) dial(client *net.UnixConn, r *bufio.Reader, req Request) {
	timeout := DefaultDialTimeout
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil || d <= 0 || d > MaxDialTimeout {
			writeReply(client, Reply{Error: fmt.Sprintf("bad timeout %q (want a duration up to %v)", req.Timeout, MaxDialTimeout)})
			return
		}
		timeout = d
	}
	if _, err := ParseDialTarget(req.Addr); err != nil {
		writeReply(client, Reply{Error: "bad address: " + err.Error()})
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
		writeReply(client, Reply{Error: dialErrorText(err)})
		return
	}
	defer conn.Close()
	if err := writeReply(client, Reply{OK: true, Local: conn.LocalAddr().String(), Remote: conn.RemoteAddr().String()}); err != nil {
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
