package forward

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Each direction of a relay reads into a small buffer of its own while
// little flows, and into a large one, taken from a pool, while reads fill
// the small one: an idle relay (most of a gateway's connections) holds
// 2 KiB a direction instead of 64, and a bulk transfer still moves 64 KiB
// a read. The large buffer goes back to the pool once a read returns less
// than the small one holds: the flow has become a trickle.
const (
	idleBufferSize = 2 << 10
	// bufferSize is the most a direction holds that neither side has
	// taken. The windows of the two connections do the rest of the flow
	// control.
	bufferSize = 64 << 10
)

var bulkBuffers = sync.Pool{New: func() any { b := make([]byte, bufferSize); return &b }}

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
	idle := make([]byte, idleBufferSize)
	held := &r.counters.bufferBytes
	held.Add(idleBufferSize)
	defer held.Add(-idleBufferSize)
	var bulk *[]byte
	defer func() {
		if bulk != nil {
			bulkBuffers.Put(bulk)
			held.Add(-bufferSize)
		}
	}()
	for {
		buf := idle
		if bulk != nil {
			buf = *bulk
		}
		n, err := src.Read(buf)
		if n > 0 {
			w, werr := dst.Write(buf[:n])
			copied.Add(uint64(w))
			if werr != nil {
				r.reset()
				return
			}
		}
		switch {
		case bulk == nil && n == len(buf):
			bulk = bulkBuffers.Get().(*[]byte)
			held.Add(bufferSize)
		case bulk != nil && n < idleBufferSize:
			bulkBuffers.Put(bulk)
			held.Add(-bufferSize)
			bulk = nil
		}
		switch {
		case errors.Is(err, io.EOF):
			if hc, ok := dst.(halfCloser); ok && hc.CloseWrite() == nil {
				return
			}
			r.reset()
			return
		case err != nil:
			r.reset()
			return
		}
	}
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
