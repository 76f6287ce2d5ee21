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
	if !s.relaying(client) {
		writeReply(client, Reply{Error: reasonShutdown})
		return
	}
	if err := writeReply(client, Reply{OK: true, Local: conn.LocalAddr().String(), Remote: conn.RemoteAddr().String()}); err != nil {
		return
	}
	s.log.Debug("control dial connected", "local", conn.LocalAddr(), "remote", conn.RemoteAddr())
	relay(s.ctx, client, r, conn)
}

// halfCloser is a connection whose sending side can be shut on its own.
type halfCloser interface {
	CloseWrite() error
}

// Why a session ends when the daemon stops.
const reasonShutdown = "the daemon is shutting down"

// relay copies in both directions between the client (whose buffered
// reader is clientIn) and the stack connection, until both are done or
// ctx (the server's) ends. The client's EOF becomes CloseWrite on the
// connection, the connection's EOF a FIN frame (frame.go); an error in
// either direction, or the server closing, ends the session with a frame
// that says why and closes both ends. The connection is closed, not
// reset: a daemon that shuts down resets what is still open after its
// grace period.
func relay(ctx context.Context, client *net.UnixConn, clientIn io.Reader, conn net.Conn) {
	w := &frameWriter{client: client}
	var once sync.Once
	end := func(reason string) {
		w.end(reason)
		once.Do(func() {
			client.Close()
			conn.Close()
		})
	}
	stop := context.AfterFunc(ctx, func() { end(reasonShutdown) })
	defer stop()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if _, err := io.Copy(conn, clientIn); err != nil {
			end(dialErrorText(err))
			return
		}
		hc, ok := conn.(halfCloser)
		if !ok {
			end("cannot half-close the connection")
			return
		}
		if err := hc.CloseWrite(); err != nil {
			end(dialErrorText(err))
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := conn.Read(buf)
			if n > 0 && w.write(frameData, buf[:n]) != nil {
				end("the client went away")
				return
			}
			if errors.Is(err, io.EOF) {
				if w.write(frameFIN, nil) != nil {
					end("the client went away")
				}
				return
			}
			if err != nil {
				end(dialErrorText(err))
				return
			}
		}
	}()
	wg.Wait()
	once.Do(func() {
		client.Close()
		conn.Close()
	})
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
