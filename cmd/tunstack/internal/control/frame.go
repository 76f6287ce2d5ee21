package control

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The daemon's side of a dial session is framed, so that how the
// connection ended travels with its bytes; a plain stream could not tell
// the peer's FIN from the daemon going away:
//
//	'd' LEN BYTES  bytes the peer sent
//	'f' 0          the peer's FIN: no more bytes will come
//	'x' LEN TEXT   the session ended; TEXT says why ("connection reset by
//	               peer", "the daemon is shutting down")
//
// LEN is 4 bytes, big-endian. After 'x', and after 'f' once the client has
// ended its own side, the daemon closes the connection. The client's side
// stays a plain byte stream; its shutdown(SHUT_WR) becomes the FIN.
const (
	frameData = 'd'
	frameFIN  = 'f'
	frameEnd  = 'x'

	frameHeader = 5
	// maxFrame bounds a frame the client accepts: the daemon sends at
	// most what one read of the connection returns.
	maxFrame = 1 << 20
)

// endWriteWait bounds how long ending a session waits for a client that
// does not read: the shutdown must not wait on it.
const endWriteWait = 200 * time.Millisecond

// ErrDaemonClosed: the daemon closed a dial session without saying why
// (it was killed, or it crashed).
var ErrDaemonClosed = errors.New("the daemon closed the connection")

// SessionEnded is a dial session that the daemon ended before both sides
// were done: Reason says why, as a phrase ("the daemon is shutting down",
// "connection reset by peer").
type SessionEnded struct{ Reason string }

func (e *SessionEnded) Error() string { return e.Reason }

// frameWriter writes frames to the client, one at a time; after end it
// writes nothing more.
type frameWriter struct {
	mu     sync.Mutex
	client *net.UnixConn
	ended  bool
	buf    []byte
}

func (w *frameWriter) write(kind byte, payload []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return net.ErrClosed
	}
	return w.writeLocked(kind, payload)
}

func (w *frameWriter) writeLocked(kind byte, payload []byte) error {
	w.buf = append(w.buf[:0], kind, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(w.buf[1:frameHeader], uint32(len(payload)))
	w.buf = append(w.buf, payload...)
	_, err := w.client.Write(w.buf)
	return err
}

// end sends the reason the session ends, once, then no more frames. A
// write to a client that does not read is cut short (endWriteWait).
func (w *frameWriter) end(reason string) {
	w.client.SetWriteDeadline(time.Now().Add(endWriteWait))
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return
	}
	w.ended = true
	w.writeLocked(frameEnd, []byte(reason))
}

// readFrames copies a framed session from r to out until the peer's FIN
// and returns nil then, or the error that ended it: a *SessionEnded, or
// ErrDaemonClosed if the stream ends without either.
func readFrames(r *bufio.Reader, out io.Writer) error {
	var header [frameHeader]byte
	for {
		if _, err := io.ReadFull(r, header[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return ErrDaemonClosed
			}
			return err
		}
		n := binary.BigEndian.Uint32(header[1:])
		if n > maxFrame {
			return fmt.Errorf("%w: a frame of %d bytes", ErrProtocol, n)
		}
		switch header[0] {
		case frameData:
			if _, err := io.CopyN(out, r, int64(n)); err != nil {
				if errors.Is(err, io.EOF) {
					return ErrDaemonClosed
				}
				return err
			}
		case frameFIN:
			return nil
		case frameEnd:
			reason := make([]byte, n)
			if _, err := io.ReadFull(r, reason); err != nil {
				return ErrDaemonClosed
			}
			return &SessionEnded{Reason: string(reason)}
		default:
			return fmt.Errorf("%w: frame type %q", ErrProtocol, header[0])
		}
	}
}

// afterFIN waits, once the peer's FIN has come, for the daemon to close
// the session: nil if it closes it, a *SessionEnded if it ends it with a
// reason first.
func afterFIN(r *bufio.Reader) error {
	err := readFrames(r, io.Discard)
	if errors.Is(err, ErrDaemonClosed) {
		return nil
	}
	if err == nil {
		return fmt.Errorf("%w: a second FIN", ErrProtocol)
	}
	return err
}
