package stack

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memLink is one end of an in-memory point-to-point link for tests: what
// one end writes, the other reads. Like a real NIC it drops packets when
// the other end's queue is full instead of blocking, so two stacks wired
// back to back cannot deadlock.
type memLink struct {
	rx      chan []byte
	peer    *memLink
	done    chan struct{}
	once    sync.Once
	dropped atomic.Int64
}

func newMemLinkPair() (*memLink, *memLink) {
	a := &memLink{rx: make(chan []byte, 4096), done: make(chan struct{})}
	b := &memLink{rx: make(chan []byte, 4096), done: make(chan struct{})}
	a.peer, b.peer = b, a
	return a, b
}

func (l *memLink) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	var first []byte
	select {
	case first = <-l.rx:
	case <-l.done:
		return 0, net.ErrClosed
	}
	n := 0
	for pkt := first; ; {
		sizes[n] = copy(bufs[n][offset:], pkt)
		n++
		if n == len(bufs) {
			return n, nil
		}
		select {
		case pkt = <-l.rx:
		default:
			return n, nil
		}
	}
}

func (l *memLink) Write(bufs [][]byte, offset int) (int, error) {
	select {
	case <-l.done:
		return 0, net.ErrClosed
	default:
	}
	for _, b := range bufs {
		l.send(bytes.Clone(b[offset:]))
	}
	return len(bufs), nil
}

// send puts one packet on the wire towards the peer.
func (l *memLink) send(pkt []byte) {
	select {
	case l.peer.rx <- pkt:
	default:
		l.dropped.Add(1)
	}
}

func (l *memLink) BatchSize() int    { return 16 }
func (l *memLink) MTU() (int, error) { return 1500, nil }
func (l *memLink) Close() error      { l.once.Do(func() { close(l.done) }); return nil }

// recv returns the next packet the peer wrote, failing the test after
// timeout.
func (l *memLink) recv(t *testing.T, timeout time.Duration) []byte {
	t.Helper()
	select {
	case pkt := <-l.rx:
		return pkt
	case <-time.After(timeout):
		t.Fatalf("no packet within %v", timeout)
		return nil
	}
}
