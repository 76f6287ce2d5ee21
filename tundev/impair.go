package tundev

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
)

// Impaired is a link that loses, duplicates, reorders and delays packets on
// their way through another link, the way netem does for a kernel
// interface: on receive (the packets Read returns) and on transmit (the
// packets Write is given), each as its ImpairConfig says. It has the method
// set of a Device and is safe for concurrent use.
//
// A direction that is impaired holds its packets in a queue ordered by due
// time, at most ImpairConfig.Limit of them. One goroutine per impaired
// direction keeps the traffic moving: on receive it reads the inner link
// and queues what it reads, and Read returns the packets that are due; on
// transmit Write queues copies of the packets, and the goroutine writes
// them to the inner link as they fall due. A direction with nothing to do
// passes straight through.
//
// Since transmitted packets are written later, Write cannot report the
// inner link's errors; they are counted (ImpairCounters.Failed).
type Impaired struct {
	inner batchLink
	seed  uint64
	clock impairClock

	rx, tx *lane // nil when that direction passes through

	readMu    sync.Mutex // serialises Reads
	rxTimer   impairTimer
	readErrs  chan error    // non-fatal errors of the inner Read, for Read to return
	pumpDone  chan struct{} // closed when the receive goroutine has stopped
	pumpErr   error         // why it stopped; valid after pumpDone
	txBufs    [][]byte      // the transmit goroutine's write batch
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
	running   sync.WaitGroup
}

// impairHeadroom is the offset at which Impaired reads from and writes to
// the inner link: the stack's own headroom, which leaves room for the
// virtio-net header (MinOffset).
const impairHeadroom = 16

// maxInnerPacket is the largest packet the inner link may return: with the
// TUN's offloads on, a Read hands over up to 64 KiB at once.
const maxInnerPacket = 65535

// Impair wraps link so that it degrades traffic as cfg says, and starts a
// goroutine for each impaired direction. Close stops them and closes link.
// It fails with ErrInvalidConfig if cfg does not validate.
func Impair(link batchLink, cfg ImpairConfig) (*Impaired, error) {
	return impairWithClock(link, cfg, realClock{})
}

func impairWithClock(link batchLink, cfg ImpairConfig, clock impairClock) (*Impaired, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("impairing the link: %w", err)
	}
	im := &Impaired{
		inner:    link,
		seed:     cfg.Seed,
		clock:    clock,
		readErrs: make(chan error),
		pumpDone: make(chan struct{}),
		closed:   make(chan struct{}),
	}
	if im.seed == 0 {
		im.seed = rand.Uint64() | 1 // never 0, which would mean "pick one"
	}
	// Each direction draws from a stream of its own, so that the traffic
	// of one does not shift the decisions of the other.
	batch := max(link.BatchSize(), 1)
	if cfg.Receive.active() {
		im.rx = newLane(cfg.Receive, clock, im.seed, 1, cfg.limit())
		im.rxTimer = clock.NewTimer()
		im.running.Add(1)
		go im.pump(batch)
	}
	if cfg.Transmit.active() {
		im.tx = newLane(cfg.Transmit, clock, im.seed, 2, cfg.limit())
		im.txBufs = make([][]byte, batch)
		for i := range im.txBufs {
			// Full-size buffers let the TUN device coalesce a batch into
			// one super-packet, as it does for the stack's own writes.
			im.txBufs[i] = make([]byte, impairHeadroom+maxInnerPacket)
		}
		im.running.Add(1)
		go im.transmit()
	}
	return im, nil
}

// Seed is the seed the draws use: ImpairConfig.Seed, or the one picked
// for it. A run with the same seed and traffic makes the same decisions.
func (im *Impaired) Seed() uint64 { return im.seed }

// Counters returns what each direction has done so far.
func (im *Impaired) Counters() (receive, transmit ImpairCounters) {
	if im.rx != nil {
		receive = im.rx.counters()
	}
	if im.tx != nil {
		transmit = im.tx.counters()
	}
	return receive, transmit
}

// pump is the receive goroutine: it reads batches from the inner link and
// queues each packet, until the link fails or closes.
func (im *Impaired) pump(batch int) {
	defer im.running.Done()
	defer close(im.pumpDone)
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, impairHeadroom+maxInnerPacket)
	}
	sizes := make([]int, batch)
	for {
		n, err := im.inner.Read(bufs, sizes, impairHeadroom)
		for i := range n {
			im.rx.admit(bufs[i][impairHeadroom : impairHeadroom+sizes[i]])
		}
		if err == nil {
			continue
		}
		if linkGone(err) {
			im.pumpErr = err
			return
		}
		// Pass the error on, as the inner link would have: the reader
		// decides whether it is fatal.
		select {
		case im.readErrs <- err:
		case <-im.closed:
			im.pumpErr = os.ErrClosed
			return
		}
	}
}

// linkGone reports whether a Read error means the link will not return
// packets again.
func linkGone(err error) bool {
	return errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF)
}

// Read copies up to min(len(bufs), BatchSize()) packets that are due into
// bufs[i][offset:] and sets sizes[i]. It blocks until one is due, and
// fails with os.ErrClosed once the link is closed. A packet too long for
// bufs[0] is dropped with an error matching io.ErrShortBuffer; one too long
// for a later buffer waits for the next Read.
func (im *Impaired) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if im.rx == nil {
		return im.inner.Read(bufs, sizes, offset)
	}
	if offset < 0 {
		return 0, fmt.Errorf("reading from impaired link: negative offset %d", offset)
	}
	im.readMu.Lock()
	defer im.readMu.Unlock()
	limit := min(len(bufs), len(sizes), max(im.inner.BatchSize(), 1))
	for {
		select {
		case <-im.closed:
			return 0, os.ErrClosed
		default:
		}
		if n, err := im.releaseInto(bufs[:limit], sizes, offset); n > 0 || err != nil {
			return n, err
		}
		im.rx.arm(im.rxTimer)
		select {
		case <-im.rx.wake:
		case <-im.rxTimer.C():
		case err := <-im.readErrs:
			return 0, err
		case <-im.pumpDone:
			return 0, im.pumpErr
		case <-im.closed:
			return 0, os.ErrClosed
		}
	}
}

// releaseInto copies the received packets that are due into bufs.
func (im *Impaired) releaseInto(bufs [][]byte, sizes []int, offset int) (int, error) {
	l := im.rx
	l.mu.Lock()
	defer l.mu.Unlock()
	now := im.clock.Now()
	n := 0
	for n < len(bufs) {
		pkt, ok := l.due(now)
		if !ok {
			break
		}
		room := len(bufs[n]) - offset
		if len(pkt) > room {
			if n > 0 {
				break // it goes first in the next Read
			}
			l.release()
			l.failed.Add(1)
			return 0, fmt.Errorf("reading from impaired link: packet of %d bytes, room for %d: %w",
				len(pkt), max(room, 0), io.ErrShortBuffer)
		}
		sizes[n] = copy(bufs[n][offset:], pkt)
		l.release()
		n++
	}
	l.delivered.Add(uint64(n))
	return n, nil
}

// Write queues copies of the packets bufs[i][offset:] for transmission and
// returns len(bufs); the packets are written to the inner link when due.
func (im *Impaired) Write(bufs [][]byte, offset int) (int, error) {
	if im.tx == nil {
		return im.inner.Write(bufs, offset)
	}
	select {
	case <-im.closed:
		return 0, os.ErrClosed
	default:
	}
	for i, buf := range bufs {
		if offset < 0 || offset > len(buf) {
			return i, fmt.Errorf("writing to impaired link: offset %d outside packet %d of %d bytes", offset, i, len(buf))
		}
		im.tx.admit(buf[offset:])
	}
	return len(bufs), nil
}

// transmit is the transmit goroutine: it writes the held packets to the
// inner link in order of due time, a batch at a time, until Close.
func (im *Impaired) transmit() {
	defer im.running.Done()
	timer := im.clock.NewTimer()
	defer timer.Stop()
	batch := make([][]byte, 0, len(im.txBufs))
	for {
		batch = im.dueForTransmit(batch[:0])
		if len(batch) > 0 {
			n, err := im.inner.Write(batch, impairHeadroom)
			n = min(max(n, 0), len(batch))
			im.tx.delivered.Add(uint64(n))
			if err != nil {
				im.tx.failed.Add(uint64(len(batch) - n))
			}
			im.tx.mu.Lock()
			im.tx.writing = 0
			im.tx.mu.Unlock()
			continue
		}
		im.tx.arm(timer)
		select {
		case <-im.tx.wake:
		case <-timer.C():
		case <-im.closed:
			return
		}
	}
}

// dueForTransmit copies up to a batch of due packets into the write
// buffers and returns them, offset by impairHeadroom.
func (im *Impaired) dueForTransmit(batch [][]byte) [][]byte {
	l := im.tx
	l.mu.Lock()
	defer l.mu.Unlock()
	now := im.clock.Now()
	for len(batch) < len(im.txBufs) {
		pkt, ok := l.due(now)
		if !ok {
			break
		}
		buf := im.txBufs[len(batch)]
		buf = buf[:impairHeadroom+copy(buf[impairHeadroom:cap(buf)], pkt)]
		l.release()
		batch = append(batch, buf)
	}
	l.writing = len(batch)
	return batch
}

// BatchSize is the inner link's batch size.
func (im *Impaired) BatchSize() int { return im.inner.BatchSize() }

// MTU is the inner link's MTU.
func (im *Impaired) MTU() (int, error) { return im.inner.MTU() }

// Close stops the goroutines, drops the packets still held, and closes
// the inner link. Calling it again returns what the first call returned.
func (im *Impaired) Close() error {
	im.closeOnce.Do(func() {
		close(im.closed)
		// Closing the inner link ends the receive goroutine's Read.
		im.closeErr = im.inner.Close()
		im.running.Wait()
	})
	return im.closeErr
}
