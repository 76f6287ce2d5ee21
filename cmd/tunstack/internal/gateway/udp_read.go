package gateway

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// datagramReader reads one direction of a flow a datagram at a time into
// a function, holding a buffer only while a datagram passes where its
// socket allows: an idle flow then holds none.
type datagramReader interface {
	// ReadDatagram waits for the next datagram (until the read deadline)
	// and calls fn with it, valid only during the call.
	ReadDatagram(fn func(payload []byte)) error
	SetReadDeadline(t time.Time) error
	// release gives back what the reader holds; it is not used after.
	release()
}

// datagramsOf reads c's datagrams; held counts the buffers lent.
func datagramsOf(c net.Conn, held *atomic.Int64) datagramReader {
	switch c := c.(type) {
	case stackDatagrams: // the native stack's socket (stack.UDPConn.ReadDatagram)
		return stackReader{c}
	case *net.UDPConn: // the host's
		if raw, err := c.SyscallConn(); err == nil {
			return &kernelReader{conn: c, raw: raw, held: held}
		}
	}
	held.Add(datagramBuffer)
	return &bufferedReader{conn: c, buf: make([]byte, datagramBuffer), held: held}
}

// stackDatagrams is a socket that hands its datagrams over from its own
// storage.
type stackDatagrams interface {
	ReadDatagram(fn func(payload []byte)) error
	SetReadDeadline(t time.Time) error
}

type stackReader struct{ stackDatagrams }

func (stackReader) release() {}

// kernelReader waits for a host socket to be readable without a buffer
// (the runtime's poller), then reads the datagram into one from the pool.
type kernelReader struct {
	conn *net.UDPConn
	raw  syscall.RawConn
	held *atomic.Int64
}

func (k *kernelReader) SetReadDeadline(t time.Time) error { return k.conn.SetReadDeadline(t) }

func (k *kernelReader) release() {}

func (k *kernelReader) ReadDatagram(fn func(payload []byte)) error {
	var (
		buf  *[]byte
		n    int
		rerr error
	)
	err := k.raw.Read(func(fd uintptr) bool {
		buf = datagramBuffers.Get().(*[]byte)
		for {
			n, rerr = unix.Read(int(fd), *buf)
			if !errors.Is(rerr, unix.EINTR) {
				break
			}
		}
		if errors.Is(rerr, unix.EAGAIN) {
			datagramBuffers.Put(buf)
			buf = nil
			return false // nothing yet: wait for the poller
		}
		return true
	})
	if buf == nil {
		return err // the deadline, or the socket closed
	}
	defer datagramBuffers.Put(buf)
	if rerr != nil {
		// An ICMP error for an earlier datagram (ECONNREFUSED), as
		// *net.UDPConn's Read reports it.
		return &net.OpError{Op: "read", Net: "udp", Source: k.conn.LocalAddr(), Addr: k.conn.RemoteAddr(), Err: os.NewSyscallError("read", rerr)}
	}
	k.held.Add(datagramBuffer)
	defer k.held.Add(-datagramBuffer)
	fn((*buf)[:n])
	return err
}

// bufferedReader reads any other socket (gVisor's) into a buffer of its
// own, for the flow's life.
type bufferedReader struct {
	conn net.Conn
	buf  []byte
	held *atomic.Int64
}

func (b *bufferedReader) SetReadDeadline(t time.Time) error { return b.conn.SetReadDeadline(t) }

func (b *bufferedReader) release() { b.held.Add(-datagramBuffer) }

func (b *bufferedReader) ReadDatagram(fn func(payload []byte)) error {
	n, err := b.conn.Read(b.buf)
	if err != nil {
		return err
	}
	fn(b.buf[:n])
	return nil
}
