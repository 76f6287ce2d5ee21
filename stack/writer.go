package stack

import (
	"sync/atomic"
	"time"
)

// linkWriter writes the loop's output batches to the link on a goroutine
// of its own, in order, while the loop goes on with the next batch. A
// write to a TUN device runs the kernel's receive path inside the write
// call: for the ACK of a bulk upload, the kernel's whole TCP sender (it
// takes the ACK, frees what it acknowledges and sends the next
// super-packet). That is the largest single cost of the upload, and the
// reader need not wait for it to read and run what the kernel sends next.
//
// A hand-off costs a goroutine wakeup, though, which a request and its
// response would wait for: see Stack.handOff for which batches go.
//
// Batches are made as needed, up to maxWriterBatches in all; flush
// blocks while the writer holds all but the one the loop fills. A burst
// the writer falls behind on queues up there instead of stalling the
// reader: a queue of one batch stalled it often enough to cost a fifth of
// the upload's throughput.
type linkWriter struct {
	queue    chan *outBatch // filled batches, to the writer
	free     chan *outBatch // written batches, back to the loop
	done     chan struct{}  // closed when the writer has written everything
	made     int            // batches made so far, the loop's included; loop-owned
	inFlight atomic.Int32   // batches handed over and not yet written
}

// maxWriterBatches bounds the output batches, and so their buffers.
const maxWriterBatches = 8

// startWriter starts the writer goroutine; the loop's batch s.out stays
// the one it fills.
func (s *Stack) startWriter() {
	w := &linkWriter{
		queue: make(chan *outBatch, maxWriterBatches),
		free:  make(chan *outBatch, maxWriterBatches),
		done:  make(chan struct{}),
		made:  1,
	}
	s.writer = w
	go func() {
		defer close(w.done)
		for b := range w.queue {
			s.write(b)
			w.inFlight.Add(-1)
			w.free <- b
		}
	}()
}

// stopWriter waits until every batch handed over is written and ends the
// writer goroutine: after it, Run may return and the caller close the
// link.
func (s *Stack) stopWriter() {
	if s.writer == nil {
		return
	}
	close(s.writer.queue)
	<-s.writer.done
	s.writer = nil
}

// handOff reports whether the batch being flushed goes to the writer.
// It does while the writer has batches (they go out in order), and when
// the batch answers a burst the link read or is a burst itself: a stream,
// whose sender does not wait for each answer. A lone packet answering a
// lone packet (a handshake, a request) is written at once by the loop,
// as soon as the kernel can have it. SYN cookies' SYN-ACKs go too: they
// answer a SYN flood, during which the loop should be reading the next
// SYN rather than waiting for the kernel to take these answers.
func (s *Stack) handOff() bool {
	w := s.writer
	return w != nil && (w.inFlight.Load() > 0 || s.burstRead || s.out.n > 1 || s.out.flood > 0)
}

// How many SYN cookie answers, and for how long, a batch holds for more to
// join it.
const (
	floodHoldPackets = 32
	floodHoldTime    = 500 * time.Microsecond
)

// holdFloodAnswers reports whether the batch being filled should wait for
// the next read instead of being flushed: it holds SYN cookies' SYN-ACKs
// and nothing else, fewer than floodHoldPackets, the first for less than
// floodHoldTime. During a SYN flood each read brings one SYN; flushing its
// answer alone would cost a wakeup of the writer per SYN, where a batch of
// them costs one. The loop's timer flushes a batch that waits
// floodHoldTime (armTimer), so the cookie of an honest client's SYN is on
// its way within half a millisecond even if no other SYN follows.
func (s *Stack) holdFloodAnswers() bool {
	o := s.out
	if s.writer == nil || o.n == 0 || o.flood != o.n || o.n >= floodHoldPackets {
		return false
	}
	if o.heldSince.IsZero() {
		o.heldSince = s.now
	}
	return s.now.Sub(o.heldSince) < floodHoldTime
}

// heldUntil is when a batch of flood answers held by holdFloodAnswers
// must go; zero if none is held.
func (s *Stack) heldUntil() time.Time {
	if s.out.n == 0 || s.out.heldSince.IsZero() {
		return time.Time{}
	}
	return s.out.heldSince.Add(floodHoldTime)
}

// handOver gives the writer the loop's batch and takes an empty one.
func (s *Stack) handOver() {
	w := s.writer
	w.inFlight.Add(1)
	w.queue <- s.out
	select {
	case s.out = <-w.free:
	default:
		if w.made < maxWriterBatches {
			w.made++
			s.out = &outBatch{size: s.out.size}
		} else {
			s.out = <-w.free
		}
	}
}
