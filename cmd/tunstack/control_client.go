package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Errors of reaching a daemon.
var (
	errNoDaemon        = errors.New("no tunstack daemon is running there")
	errControlDenied   = errors.New("permission denied")
	errControlProtocol = errors.New("unexpected answer from the daemon")
)

// replySlack is how long past a dial's own time-out the client waits for
// the daemon's answer before it gives up on the daemon.
const replySlack = 5 * time.Second

// controlSession is one connection to a daemon's control socket after its
// request was answered. For dial it then carries the byte stream: read
// through reader (which may hold bytes that arrived with the reply).
type controlSession struct {
	conn   *net.UnixConn
	reader *bufio.Reader
	reply  controlReply
}

func (s *controlSession) Close() error { return s.conn.Close() }

// requestError is a request that the daemon answered with an error.
type requestError struct{ msg string }

func (e *requestError) Error() string { return e.msg }

// controlRequestTo connects to the daemon at path, sends req and reads the
// reply. It waits at most wait for the connection and the reply. A reply
// with an error is returned as a *requestError.
func controlRequestTo(ctx context.Context, path string, req controlRequest, wait time.Duration) (*controlSession, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
			return nil, fmt.Errorf("control socket %s: %w", path, errNoDaemon)
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
			return nil, fmt.Errorf("control socket %s: %w", path, errControlDenied)
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
			return nil, fmt.Errorf("control socket %s: %w: closed without an answer", path, errControlProtocol)
		}
		return nil, fmt.Errorf("control socket %s: no answer from the daemon: %w", path, err)
	}
	var reply controlReply
	if err := json.Unmarshal(line, &reply); err != nil {
		conn.Close()
		return nil, fmt.Errorf("control socket %s: %w: %v", path, errControlProtocol, err)
	}
	if reply.Error != "" || !reply.OK {
		conn.Close()
		if reply.Error == "" {
			reply.Error = errControlProtocol.Error()
		}
		return nil, &requestError{reply.Error}
	}
	if !stop() {
		conn.Close()
		return nil, ctx.Err()
	}
	conn.SetDeadline(time.Time{})
	return &controlSession{conn: conn, reader: reader, reply: reply}, nil
}
