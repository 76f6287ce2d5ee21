package tundev

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/tests/testkit"
)

// These tests run an Impaired link over a pipe, mostly on a fake clock:
// they number the packets, push them through one direction, and check
// what comes out against the counters.

const (
	impairTestMTU   = 1500
	impairTestBatch = 16
	// impairChunk is how many packets a test pushes before it waits for
	// the link to catch up: well under PipeQueueLen, so the pipe never
	// drops.
	impairChunk = 200
)

// numbered returns a 64-byte packet carrying id.
func numbered(id int) []byte {
	pkt := make([]byte, 64)
	binary.BigEndian.PutUint32(pkt, uint32(id))
	return pkt
}

func packetNumber(pkt []byte) int { return int(binary.BigEndian.Uint32(pkt)) }

// received collects the numbers of the packets that came out of a link.
type received struct {
	mu  sync.Mutex
	ids []int
}

func (r *received) add(id int) {
	r.mu.Lock()
	r.ids = append(r.ids, id)
	r.mu.Unlock()
}

func (r *received) snapshot() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

func (r *received) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

// impairedPipe is an Impaired link over a pipe, with a goroutine taking
// what comes out of the impaired direction.
type impairedPipe struct {
	im    *Impaired
	peer  *Peer
	clock *fakeClock
	out   *received
}

// newImpairedPipe wraps a pipe with cfg on a fake clock and collects what
// the Peer receives (transmit) and what Read returns (receive). The test's
// cleanup closes the link and waits for the collectors.
func newImpairedPipe(t *testing.T, cfg ImpairConfig) *impairedPipe {
	t.Helper()
	m, peer := NewPipe(impairTestMTU, impairTestBatch)
	clock := newFakeClock()
	im, err := impairWithClock(m, cfg, clock)
	if err != nil {
		t.Fatalf("impairWithClock: %v", err)
	}
	p := &impairedPipe{im: im, peer: peer, clock: clock, out: &received{}}
	ctx, cancel := context.WithCancel(context.Background())
	var collectors sync.WaitGroup
	collectors.Add(2)
	go func() {
		defer collectors.Done()
		for {
			pkt, err := peer.Receive(ctx)
			if err != nil {
				return
			}
			p.out.add(packetNumber(pkt))
		}
	}()
	go func() {
		defer collectors.Done()
		bufs, sizes := newBatch(impairTestBatch, testOffset+impairTestMTU)
		for {
			n, err := im.Read(bufs, sizes, testOffset)
			for i := range n {
				p.out.add(packetNumber(bufs[i][testOffset:]))
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		im.Close()
		cancel()
		collectors.Wait()
		if d := peer.Dropped(); d != 0 {
			t.Errorf("the pipe dropped %d packets: the test pushed faster than it collected", d)
		}
	})
	return p
}

// direction is one way through the link, as a test drives it.
type direction struct {
	name string
	lane func(*Impaired) *lane
	send func(t *testing.T, p *impairedPipe, pkt []byte)
}

var directions = []direction{
	{
		name: "transmit",
		lane: func(im *Impaired) *lane { return im.tx },
		send: func(t *testing.T, p *impairedPipe, pkt []byte) {
			t.Helper()
			buf := append(make([]byte, testOffset), pkt...)
			if n, err := p.im.Write([][]byte{buf}, testOffset); n != 1 || err != nil {
				t.Fatalf("Write = %d, %v; want 1, nil", n, err)
			}
		},
	},
	{
		name: "receive",
		lane: func(im *Impaired) *lane { return im.rx },
		send: func(t *testing.T, p *impairedPipe, pkt []byte) {
			t.Helper()
			mustInject(t, p.peer, pkt)
		},
	},
}

// counters returns the counters of the direction d.
func (d direction) counters(p *impairedPipe) ImpairCounters {
	return d.lane(p.im).counters()
}

// settle waits until direction d has taken in want packets, released every
// packet that is due on the fake clock, and the collector has them all.
func (d direction) settle(t *testing.T, p *impairedPipe, want uint64) {
	t.Helper()
	l := d.lane(p.im)
	testkit.WaitFor(t, 10*time.Second, d.name+" to catch up", func() (bool, string) {
		c := l.counters()
		l.mu.Lock()
		_, due := l.due(p.clock.Now())
		due = due || l.writing > 0
		l.mu.Unlock()
		got := p.out.len()
		return c.Packets == want && !due && uint64(got) == c.Delivered,
			fmt.Sprintf("%+v, collected %d", c, got)
	})
}

// push sends packets numbered from..to-1 through d, a chunk at a time.
func (d direction) push(t *testing.T, p *impairedPipe, from, to int) {
	t.Helper()
	for start := from; start < to; start += impairChunk {
		end := min(start+impairChunk, to)
		for id := start; id < end; id++ {
			d.send(t, p, numbered(id))
		}
		d.settle(t, p, uint64(end))
	}
}

// runDirection pushes n packets through d with cfg applied to it, then lets
// the fake clock run past every hold and delay. It returns what came out,
// how many came out before the clock moved, and the counters.
func runDirection(t *testing.T, d direction, imp Impairment, seed uint64, n int) (ids []int, beforeHold int, c ImpairCounters) {
	t.Helper()
	cfg := ImpairConfig{Seed: seed}
	if d.name == "transmit" {
		cfg.Transmit = imp
	} else {
		cfg.Receive = imp
	}
	p := newImpairedPipe(t, cfg)
	d.push(t, p, 0, n)
	beforeHold = p.out.len()
	p.clock.Advance(imp.hold() + imp.Delay + imp.Jitter)
	d.settle(t, p, uint64(n))
	testkit.WaitFor(t, 10*time.Second, "nothing held", func() (bool, string) {
		c = d.counters(p)
		return c.Held == 0, fmt.Sprintf("%+v", c)
	})
	return p.out.snapshot(), beforeHold, c
}

// TestImpairCounts pushes 20,000 packets through each direction with a
// fixed seed and checks that the counters say exactly what happened to
// them: which numbers are missing (lost), which came twice (duplicated),
// which came only after the reorder hold (reordered).
func TestImpairCounts(t *testing.T) {
	const n = 20000
	impairments := []struct {
		name string
		imp  Impairment
	}{
		{"loss", Impairment{Loss: 2}},
		{"duplicate", Impairment{Duplicate: 1}},
		{"reorder", Impairment{Reorder: 1}},
		{"all of the issue", Impairment{Loss: 2, Duplicate: 1, Reorder: 1}},
		{"all lost", Impairment{Loss: 100}},
	}
	for _, d := range directions {
		for _, tt := range impairments {
			t.Run(d.name+"/"+tt.name, func(t *testing.T) {
				ids, beforeHold, c := runDirection(t, d, tt.imp, 42, n)

				if c.Packets != n || c.Overflow != 0 || c.Failed != 0 {
					t.Fatalf("counters %+v: want %d packets, no overflow, no failures", c, n)
				}
				if sum := c.Lost + c.Held + c.Delivered; sum != c.Packets+c.Duplicated {
					t.Errorf("lost+held+delivered = %d, packets+duplicated = %d", sum, c.Packets+c.Duplicated)
				}
				if uint64(len(ids)) != c.Delivered {
					t.Errorf("collected %d packets, counters say %d delivered", len(ids), c.Delivered)
				}
				seen := map[int]int{}
				for _, id := range ids {
					seen[id]++
				}
				var twice uint64
				for _, k := range seen {
					if k == 2 {
						twice++
					} else if k != 1 {
						t.Fatalf("a packet came %d times", k)
					}
				}
				if lost := uint64(n - len(seen)); lost != c.Lost {
					t.Errorf("%d numbers never came, counters say %d lost", lost, c.Lost)
				}
				if twice != c.Duplicated {
					t.Errorf("%d numbers came twice, counters say %d duplicated", twice, c.Duplicated)
				}
				// Before the hold, packets come in order; the ones held
				// back come after it, in order too.
				first, late := ids[:beforeHold], ids[beforeHold:]
				if !slices.IsSorted(first) || !slices.IsSorted(late) {
					t.Errorf("packets out of order within a phase")
				}
				if held := uint64(len(slices.Compact(slices.Clone(late)))); held != c.Reordered {
					t.Errorf("%d numbers came after the reorder hold, counters say %d reordered", held, c.Reordered)
				}
				checkRate(t, "lost", c.Lost, n, tt.imp.Loss)
				// Duplicate and reorder draw only for packets not lost.
				checkRate(t, "duplicated", c.Duplicated, n-c.Lost, tt.imp.Duplicate)
				checkRate(t, "reordered", c.Reordered, n-c.Lost, tt.imp.Reorder)
			})
		}
	}
}

// checkRate checks that got of n is within 30% of percent: the seed is
// fixed, so this only guards the meaning of the percentage.
func checkRate(t *testing.T, what string, got, n uint64, percent float64) {
	t.Helper()
	want := float64(n) * percent / 100
	if float64(got) < want*0.7 || float64(got) > want*1.3 {
		t.Errorf("%s %d of %d packets, want about %.0f (%v%%)", what, got, n, want, percent)
	}
}

// TestImpairSeedReproduces: the same seed makes the same decisions, and
// another seed makes others.
func TestImpairSeedReproduces(t *testing.T) {
	imp := Impairment{Loss: 2, Duplicate: 1, Reorder: 1}
	for _, d := range directions {
		t.Run(d.name, func(t *testing.T) {
			first, _, _ := runDirection(t, d, imp, 7, 3000)
			again, _, _ := runDirection(t, d, imp, 7, 3000)
			other, _, _ := runDirection(t, d, imp, 8, 3000)
			if diff := cmp.Diff(first, again); diff != "" {
				t.Errorf("seed 7 twice gave different packets (-first +again):\n%s", diff)
			}
			if cmp.Equal(first, other) {
				t.Error("seeds 7 and 8 gave the same packets")
			}
		})
	}
}

// TestImpairDelay: with a delay and jitter, no packet comes before its
// earliest time, none after its latest, and they keep their order. The
// test moves the fake clock a millisecond at a time and records when each
// packet came.
func TestImpairDelay(t *testing.T) {
	const (
		delay  = 20 * time.Millisecond
		jitter = 5 * time.Millisecond
		step   = time.Millisecond
		n      = 60
	)
	for _, d := range directions {
		for _, jit := range []time.Duration{0, jitter} {
			t.Run(d.name+"/jitter "+jit.String(), func(t *testing.T) {
				imp := Impairment{Delay: delay, Jitter: jit}
				cfg := ImpairConfig{Seed: 3, Transmit: imp}
				if d.name == "receive" {
					cfg = ImpairConfig{Seed: 3, Receive: imp}
				}
				p := newImpairedPipe(t, cfg)
				start := p.clock.Now()
				sentAt := map[int]time.Duration{}
				cameAt := map[int]time.Duration{}
				for tick := 0; len(cameAt) < n; tick++ {
					if tick > n+int((delay+jit)/step)+1 {
						t.Fatalf("only %d of %d packets came by %v", len(cameAt), n, time.Duration(tick)*step)
					}
					now := time.Duration(tick) * step
					if tick < n {
						sentAt[tick] = now
						d.send(t, p, numbered(tick))
					}
					d.settle(t, p, uint64(min(tick+1, n)))
					for _, id := range p.out.snapshot()[len(cameAt):] {
						cameAt[id] = now
					}
					p.clock.Advance(step)
				}
				ids := p.out.snapshot()
				if !slices.IsSorted(ids) {
					t.Errorf("packets came out of order: %v", ids)
				}
				for id, came := range cameAt {
					// A packet released at its time is seen at the next
					// step if the releasing goroutine ran after the test
					// looked: one step of slack on the late side.
					lo, hi := sentAt[id]+delay-jit, sentAt[id]+delay+jit+step
					if came < lo || came > hi {
						t.Errorf("packet %d sent at %v came at %v, want within %v..%v", id, sentAt[id], came, lo, hi)
					}
				}
				if got := p.clock.Now().Sub(start); got < delay {
					t.Errorf("the test ended after %v of fake time, less than the delay", got)
				}
			})
		}
	}
}

// TestImpairLimit: beyond Limit held packets, a direction drops and counts.
func TestImpairLimit(t *testing.T) {
	for _, d := range directions {
		t.Run(d.name, func(t *testing.T) {
			imp := Impairment{Delay: time.Second}
			cfg := ImpairConfig{Limit: 4, Transmit: imp}
			if d.name == "receive" {
				cfg = ImpairConfig{Limit: 4, Receive: imp}
			}
			p := newImpairedPipe(t, cfg)
			for id := range 6 {
				d.send(t, p, numbered(id))
			}
			testkit.WaitFor(t, 10*time.Second, "6 packets in", func() (bool, string) {
				c := d.counters(p)
				return c.Packets == 6, fmt.Sprintf("%+v", c)
			})
			if c := d.counters(p); c.Held != 4 || c.Overflow != 2 {
				t.Errorf("held %d, overflow %d; want 4 and 2", c.Held, c.Overflow)
			}
			p.clock.Advance(time.Second)
			d.settle(t, p, 6)
			if diff := cmp.Diff([]int{0, 1, 2, 3}, p.out.snapshot()); diff != "" {
				t.Errorf("packets out (-want +got):\n%s", diff)
			}
		})
	}
}

// TestImpairReadShortBuffer: a held packet too long for Read's first
// buffer is dropped with io.ErrShortBuffer and counted as failed.
func TestImpairReadShortBuffer(t *testing.T) {
	m, peer := NewPipe(impairTestMTU, impairTestBatch)
	im, err := impairWithClock(m, ImpairConfig{Receive: Impairment{Reorder: 100, ReorderHold: time.Millisecond}}, newFakeClock())
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	mustInject(t, peer, make([]byte, 1000))
	testkit.WaitFor(t, 10*time.Second, "the packet to be held", func() (bool, string) {
		c := im.rx.counters()
		return c.Held == 1, fmt.Sprintf("%+v", c)
	})
	im.clock.(*fakeClock).Advance(time.Millisecond)
	bufs, sizes := newBatch(2, testOffset+100)
	if _, err := im.Read(bufs, sizes, testOffset); !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("Read into 100-byte buffers = %v, want io.ErrShortBuffer", err)
	}
	if c := im.rx.counters(); c.Failed != 1 || c.Held != 0 {
		t.Errorf("after the short read: failed %d, held %d; want 1 and 0", c.Failed, c.Held)
	}
}

// TestImpairPassThrough: a direction without impairment goes straight to
// the inner link, and the other is still impaired.
func TestImpairPassThrough(t *testing.T) {
	p := newImpairedPipe(t, ImpairConfig{Transmit: Impairment{Loss: 100}})
	if p.im.rx != nil {
		t.Fatal("receive is impaired with a zero Impairment")
	}
	mustInject(t, p.peer, numbered(1))
	directions[0].send(t, p, numbered(2)) // lost
	testkit.WaitFor(t, 10*time.Second, "the injected packet to be read", func() (bool, string) {
		return p.out.len() == 1, ""
	})
	if diff := cmp.Diff([]int{1}, p.out.snapshot()); diff != "" {
		t.Errorf("packets out (-want +got):\n%s", diff)
	}
	if _, tx := p.im.Counters(); tx.Lost != 1 {
		t.Errorf("transmit lost %d, want 1", tx.Lost)
	}
}

// TestImpairRealClock runs a delay on the real clock end to end.
func TestImpairRealClock(t *testing.T) {
	m, peer := NewPipe(impairTestMTU, impairTestBatch)
	delay := Impairment{Delay: 2 * time.Millisecond, Jitter: time.Millisecond, Reorder: 10}
	im, err := Impair(m, ImpairConfig{Receive: delay, Transmit: delay})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	if im.Seed() == 0 {
		t.Error("Seed() = 0; want the random seed picked")
	}
	const n = 100
	var want []int
	for id := range n {
		want = append(want, id)
		mustInject(t, peer, numbered(id))
		buf := append(make([]byte, testOffset), numbered(id)...)
		if _, err := im.Write([][]byte{buf}, testOffset); err != nil {
			t.Fatal(err)
		}
	}
	var read, written []int
	bufs, sizes := newBatch(impairTestBatch, testOffset+impairTestMTU)
	for len(read) < n {
		k, err := im.Read(bufs, sizes, testOffset)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		for i := range k {
			read = append(read, packetNumber(bufs[i][testOffset:]))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(written) < n {
		pkt, err := peer.Receive(ctx)
		if err != nil {
			t.Fatalf("Receive after %d packets: %v", len(written), err)
		}
		written = append(written, packetNumber(pkt))
	}
	for _, got := range [][]int{read, written} {
		if diff := cmp.Diff(want, slices.Sorted(slices.Values(got))); diff != "" {
			t.Errorf("packets through (-want +got):\n%s", diff)
		}
	}
}

// TestImpairClose: Close ends a blocked Read, fails later calls, closes
// the inner link, stops every goroutine, and returns the same each time.
func TestImpairClose(t *testing.T) {
	before := runtime.NumGoroutine()
	m, peer := NewPipe(impairTestMTU, impairTestBatch)
	delay := Impairment{Delay: time.Hour / 1000, Reorder: 50}
	im, err := Impair(m, ImpairConfig{Receive: delay, Transmit: delay})
	if err != nil {
		t.Fatal(err)
	}
	// Leave packets held in both directions.
	for id := range 10 {
		mustInject(t, peer, numbered(id))
		buf := append(make([]byte, testOffset), numbered(id)...)
		im.Write([][]byte{buf}, testOffset)
	}
	readErr := make(chan error, 1)
	go func() {
		bufs, sizes := newBatch(1, testOffset+impairTestMTU)
		for {
			if _, err := im.Read(bufs, sizes, testOffset); err != nil {
				readErr <- err
				return
			}
		}
	}()
	if err := im.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-readErr:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Read after Close = %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read still blocked 10s after Close")
	}
	if _, err := im.Write([][]byte{make([]byte, testOffset+20)}, testOffset); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
	if _, err := m.MTU(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("inner link's MTU after Close = %v, want os.ErrClosed (closed)", err)
	}
	if err := im.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	testkit.WaitFor(t, 10*time.Second, "the goroutines to end", func() (bool, string) {
		now := runtime.NumGoroutine()
		return now <= before, fmt.Sprintf("%d goroutines, %d before", now, before)
	})
}
