package forward

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// bufferSize is each direction's buffer: the most a relay holds that
// neither side has taken. The windows of the two connections do the rest
// of the flow control.
const bufferSize = 64 << 10

// relay copies one client connection of the stack and its server
// connection into each other.
type relay struct {
	client   Conn
	backend  net.Conn
	counters *counters

	once sync.Once // the first reset ends both
}

// halfCloser is a connection that can send its FIN and keep reading:
// a Conn, and the kernel's *net.TCPConn.
type halfCloser interface{ CloseWrite() error }

// run copies both ways until both are done, then closes both.
func (r *relay) run() {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		r.copy(r.backend, r.client, &r.counters.toUpstream)
	}()
	go func() {
		defer wg.Done()
		r.copy(r.client, r.backend, &r.counters.toClient)
	}()
	wg.Wait()
	r.client.Close()
	r.backend.Close()
}

// copy moves src's bytes to dst. At src's FIN it sends dst's FIN and
// returns, leaving the other direction flowing; if either fails (a reset,
// the stack stopping), it resets both.
func (r *relay) copy(dst, src net.Conn, copied *atomic.Uint64) {
	buf := make([]byte, bufferSize)
	_, err := io.CopyBuffer(countingWriter{dst, copied}, readerOnly{src}, buf)
	if err == nil {
		if hc, ok := dst.(halfCloser); ok && hc.CloseWrite() == nil {
			return
		}
	}
	r.reset()
}

// reset aborts both connections: the stack's with a RST, the kernel's
// with SO_LINGER 0, so that its close sends a RST too.
func (r *relay) reset() {
	r.once.Do(func() {
		r.client.Abort()
		if tc, ok := r.backend.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		r.backend.Close()
	})
}

// readerOnly and countingWriter hide WriteTo and ReadFrom, so that CopyBuffer
// uses the relay's bounded buffer and not a path of its own (splice, a
// buffer of another size) that would report errors differently.
type readerOnly struct{ io.Reader }

// countingWriter also counts the bytes written, as they are written, so
// that a long relay's bytes show while it runs.
type countingWriter struct {
	w      io.Writer
	copied *atomic.Uint64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.copied.Add(uint64(n))
	return n, err
}
