package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
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
// the session to out, until both directions are done or ctx ends.
func (s *Session) Relay(ctx context.Context, in io.Reader, out io.Writer) error {
	var (
		wg       sync.WaitGroup
		sendErr  error
		recvErr  error
		bothDone = make(chan struct{})
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if _, err := io.Copy(s.conn, in); err != nil {
			sendErr = err
			return
		}
		sendErr = s.conn.CloseWrite()
	}()
	go func() {
		defer wg.Done()
		_, recvErr = io.Copy(out, s.Reader)
	}()
	go func() {
		wg.Wait()
		close(bothDone)
	}()
	select {
	case <-bothDone:
	case <-ctx.Done():
		return ErrInterrupted
	}
	if recvErr != nil {
		return fmt.Errorf("receiving: %w", recvErr)
	}
	if sendErr != nil {
		return fmt.Errorf("sending: connection closed: %w", sendErr)
	}
	return nil
}
