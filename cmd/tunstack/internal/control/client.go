package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// Errors of reaching a daemon.
var (
	ErrNoDaemon = errors.New("no tunstack daemon is running there")
	ErrDenied   = errors.New("permission denied")
	ErrProtocol = errors.New("unexpected answer from the daemon")
)

// Client waits.
const (
	// ReplyWait bounds how long a client waits for the daemon to answer
	// a status or events request.
	ReplyWait = 10 * time.Second
	// ReplySlack is how long past a dial's own time-out the client waits
	// for the daemon's answer before it gives up on the daemon.
	ReplySlack = 5 * time.Second
)

// Session is one connection to a daemon's control socket after its
// request was answered. For dial it then carries the byte stream, and for
// events the events: read them through Reader, which may hold bytes that
// arrived with the reply.
type Session struct {
	conn   *net.UnixConn
	Reader *bufio.Reader
	Reply  Reply
}

func (s *Session) Close() error { return s.conn.Close() }

// RequestError is a request that the daemon answered with an error.
type RequestError struct{ Msg string }

func (e *RequestError) Error() string { return e.Msg }

// Open connects to the daemon at path, sends req and reads the reply. It
// waits at most wait for the connection and the reply. A reply with an
// error is returned as a *RequestError.
func Open(ctx context.Context, path string, req Request, wait time.Duration) (*Session, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
			return nil, fmt.Errorf("control socket %s: %w", path, ErrNoDaemon)
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
			return nil, fmt.Errorf("control socket %s: %w", path, ErrDenied)
		}
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	conn := c.(*net.UnixConn)
	// Ctrl-C while waiting for the reply ends the wait.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	b, _ := json.Marshal(req)
	if _, err := conn.Write(append(b, '\n')); err != nil {
		conn.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	reader := bufio.NewReader(conn)
	line, err := reader.ReadBytes('\n')
	if err != nil {
		conn.Close()
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ctx.Err()
		}
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return nil, fmt.Errorf("control socket %s: %w: closed without an answer", path, ErrProtocol)
		}
		return nil, fmt.Errorf("control socket %s: no answer from the daemon: %w", path, err)
	}
	var reply Reply
	if err := json.Unmarshal(line, &reply); err != nil {
		conn.Close()
		return nil, fmt.Errorf("control socket %s: %w: %v", path, ErrProtocol, err)
	}
	if reply.Error != "" || !reply.OK {
		conn.Close()
		if reply.Error == "" {
			reply.Error = ErrProtocol.Error()
		}
		return nil, &RequestError{reply.Error}
	}
	if !stop() {
		conn.Close()
		return nil, ctx.Err()
	}
	conn.SetDeadline(time.Time{})
	return &Session{conn: conn, Reader: reader, Reply: reply}, nil
}

// FetchStatus asks the daemon at path for its status.
func FetchStatus(ctx context.Context, path string) (Reply, error) {
	s, err := Open(ctx, path, Request{Op: OpStatus}, ReplyWait)
	if err != nil {
		return Reply{}, err
	}
	s.Close()
	return s.Reply, nil
}

// ErrInterrupted: the context ended a relay.
var ErrInterrupted = errors.New("interrupted")

// Relay copies in to a dial session, then half-closes it, while it copies
// the session to out, until both directions are done or ctx ends. It
// returns at once, without waiting for in, when the daemon ends the
// session: a *SessionEnded that says why, or ErrDaemonClosed.
func (s *Session) Relay(ctx context.Context, in io.Reader, out io.Writer) error {
	var (
		sent     atomic.Bool // in is done and the session half-closed
		sendErr  = make(chan error, 1)
		recvErr  = make(chan error, 1)
		finished = false
	)
	go func() {
		_, err := io.Copy(s.conn, in)
		if err == nil {
			sent.Store(true)
			err = s.conn.CloseWrite()
		}
		sendErr <- err
	}()
	go func() {
		err := readFrames(s.Reader, out)
		if err == nil {
			// The peer's FIN: the daemon closes the session once this
			// side is done too, or ends it with a reason first.
			err = afterFIN(s.Reader)
			if err == nil && !sent.Load() {
				err = ErrDaemonClosed
			}
		}
		recvErr <- err
	}()
	for !finished {
		select {
		case err := <-recvErr:
			if err != nil {
				return err
			}
			finished = true
		case err := <-sendErr:
			if err != nil {
				return s.sendFailed(err, recvErr)
			}
			sendErr = nil // wait for the other direction
		case <-ctx.Done():
			return ErrInterrupted
		}
	}
	if sendErr != nil {
		// Received everything and the daemon closed the session: the
		// sending side ended with it.
		select {
		case err := <-sendErr:
			if err != nil {
				return fmt.Errorf("sending: connection closed: %w", err)
			}
		case <-ctx.Done():
			return ErrInterrupted
		}
	}
	return nil
}

// sendFailed is the error of a session whose sending side failed: the
// reason the daemon gave, which it sends before it closes the session and
// which may still be on its way, or else the send's own error.
func (s *Session) sendFailed(err error, recvErr <-chan error) error {
	select {
	case r := <-recvErr:
		if r != nil {
			return r
		}
	case <-time.After(time.Second):
	}
	return fmt.Errorf("sending: connection closed: %w", err)
}
