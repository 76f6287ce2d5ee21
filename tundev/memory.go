package tundev

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// PipeQueueLen is how many packets each direction of a pipe holds.
const PipeQueueLen = 1024

// Memory is an in-memory link for tests that need no root: what its Peer
// injects, Read returns; what is written, the Peer receives. It has the
// method set of a Device and is safe for concurrent use.
//
// Like a TUN device it does not block the writer: when the Peer's queue is
// full, Write drops the packet and counts it (Peer.Dropped).
type Memory struct {
	mtu       int
	batchSize int

	toStack chan []byte // injected by the Peer, returned by Read
	toPeer  chan []byte // written by the stack, received by the Peer

	closed    chan struct{}
	closeOnce sync.Once
	dropped   atomic.Uint64

	readMu  sync.Mutex // serialises Reads, guards pending
	pending []byte     // a packet Read took but had no room for
}

// Peer is the far end of a Memory device: the kernel's part in a test.
type Peer struct {
	m *Memory
}

// NewPipe returns a Memory device with the given MTU and batch size, and
// its Peer. It panics if either is not positive.
func NewPipe(mtu, batchSize int) (*Memory, *Peer) {
	if mtu <= 0 || batchSize <= 0 {
		panic(fmt.Sprintf("tundev.NewPipe(%d, %d): MTU and batch size must be positive", mtu, batchSize))
	}
	m := &Memory{
		mtu:       mtu,
		batchSize: batchSize,
		toStack:   make(chan []byte, PipeQueueLen),
		toPeer:    make(chan []byte, PipeQueueLen),
		closed:    make(chan struct{}),
	}
	return m, &Peer{m: m}
}

// Read copies up to min(len(bufs), BatchSize()) injected packets into
// bufs[i][offset:] and sets sizes[i]. It blocks until at least one packet
// is there, and fails with os.ErrClosed once the device is closed. A packet
// too long for bufs[0] is dropped with an error matching io.ErrShortBuffer;
// one too long for a later buffer waits for the next Read.
func (m *Memory) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if offset < 0 {
		return 0, fmt.Errorf("reading from memory device: negative offset %d", offset)
	}
	m.readMu.Lock()
	defer m.readMu.Unlock()

	limit := min(len(bufs), len(sizes), m.batchSize)
	n := 0
	for n < limit {
		pkt, err := m.nextInjected(n == 0)
		if err != nil {
			return 0, err
		}
		if pkt == nil {
			break
		}
		if room := len(bufs[n]) - offset; len(pkt) > room {
			if n > 0 {
				m.pending = pkt
				break
			}
			return 0, fmt.Errorf("reading from memory device: packet of %d bytes, room for %d: %w",
				len(pkt), max(room, 0), io.ErrShortBuffer)
		}
		sizes[n] = copy(bufs[n][offset:], pkt)
		n++
	}
	return n, nil
}

// nextInjected returns the next packet for Read, waiting for one if block
// is set (the batch's first packet); nil means none is there. The caller
// holds readMu.
func (m *Memory) nextInjected(block bool) ([]byte, error) {
	if block {
		select {
		case <-m.closed:
			return nil, os.ErrClosed
		default:
		}
	}
	if pkt := m.pending; pkt != nil {
		m.pending = nil
		return pkt, nil
	}
	if !block {
		select {
		case pkt := <-m.toStack:
			return pkt, nil
		default:
			return nil, nil
		}
	}
	select {
	case pkt := <-m.toStack:
		return pkt, nil
	case <-m.closed:
		return nil, os.ErrClosed
	}
}

// Write copies the packets bufs[i][offset:] to the Peer and returns
// len(bufs). A packet longer than the MTU fails the Write with
// ErrPacketTooBig, after the packets before it went out.
func (m *Memory) Write(bufs [][]byte, offset int) (int, error) {
	select {
	case <-m.closed:
		return 0, os.ErrClosed
	default:
	}
	for i, buf := range bufs {
		if offset < 0 || offset > len(buf) {
			return i, fmt.Errorf("writing to memory device: offset %d outside packet %d of %d bytes", offset, i, len(buf))
		}
		pkt := buf[offset:]
		if len(pkt) > m.mtu {
			return i, fmt.Errorf("writing to memory device: packet %d of %d bytes, MTU %d: %w", i, len(pkt), m.mtu, ErrPacketTooBig)
		}
		select {
		case m.toPeer <- bytes.Clone(pkt):
		default:
			m.dropped.Add(1)
		}
	}
	return len(bufs), nil
}

// BatchSize is the most packets one Read returns.
func (m *Memory) BatchSize() int { return m.batchSize }

// MTU is the MTU NewPipe was given; os.ErrClosed after Close.
func (m *Memory) MTU() (int, error) {
	select {
	case <-m.closed:
		return 0, os.ErrClosed
	default:
		return m.mtu, nil
	}
}

// Close makes pending and later Reads and Writes fail with os.ErrClosed.
// The Peer can still receive what was written before. Close always
// returns nil.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() { close(m.closed) })
	return nil
}

// Inject queues a copy of pkt for the device's Read. It fails with
// ErrQueueFull when PipeQueueLen packets are waiting and with os.ErrClosed
// once the device is closed; it never blocks.
func (p *Peer) Inject(pkt []byte) error {
	select {
	case <-p.m.closed:
		return os.ErrClosed
	default:
	}
	select {
	case p.m.toStack <- bytes.Clone(pkt):
		return nil
	default:
		return fmt.Errorf("injecting a packet: %w", ErrQueueFull)
	}
}

// Receive returns the next packet written to the device, waiting until
// there is one, ctx is done (ctx.Err()) or the device is closed and every
// packet written before has been received (os.ErrClosed).
func (p *Peer) Receive(ctx context.Context) ([]byte, error) {
	select {
	case pkt := <-p.m.toPeer:
		return pkt, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.m.closed:
		if pkt, ok := p.TryReceive(); ok {
			return pkt, nil
		}
		return nil, os.ErrClosed
	}
}

// TryReceive returns the next packet written to the device, if there is
// one, without waiting.
func (p *Peer) TryReceive() ([]byte, bool) {
	select {
	case pkt := <-p.m.toPeer:
		return pkt, true
	default:
		return nil, false
	}
}

// Dropped counts the packets Write dropped because the Peer's queue was
// full.
func (p *Peer) Dropped() uint64 { return p.m.dropped.Load() }
