package tundev

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testOffset = 16 // the offset the stack uses

// newBatch returns n buffers of size bytes each and their sizes slice.
func newBatch(n, size int) ([][]byte, []int) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	return bufs, make([]int, n)
}

// packets returns the n packets a Read returned.
func packets(bufs [][]byte, sizes []int, offset, n int) [][]byte {
	out := make([][]byte, n)
	for i := range n {
		out[i] = bufs[i][offset : offset+sizes[i]]
	}
	return out
}

func mustInject(t *testing.T, p *Peer, pkts ...[]byte) {
	t.Helper()
	for _, pkt := range pkts {
		if err := p.Inject(pkt); err != nil {
			t.Fatalf("Inject: %v", err)
		}
	}
}

func TestMemoryReadBatches(t *testing.T) {
	tests := []struct {
		name      string
		batchSize int
		bufs      int
		injected  int
		wantReads []int // packets per Read
	}{
		{"one per read", 1, 4, 3, []int{1, 1, 1}},
		{"batch limits", 2, 4, 3, []int{2, 1}},
		{"buffers limit", 8, 2, 3, []int{2, 1}},
		{"all at once", 8, 8, 3, []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, p := NewPipe(1500, tt.batchSize)
			defer m.Close()
			var want [][]byte
			for i := range tt.injected {
				pkt := bytes.Repeat([]byte{byte(i + 1)}, 10+i)
				want = append(want, pkt)
				mustInject(t, p, pkt)
			}
			var got [][]byte
			for _, wantN := range tt.wantReads {
				bufs, sizes := newBatch(tt.bufs, 100)
				n, err := m.Read(bufs, sizes, testOffset)
				if err != nil || n != wantN {
					t.Fatalf("Read = %d, %v; want %d, nil", n, err, wantN)
				}
				got = append(got, packets(bufs, sizes, testOffset, n)...)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("packets read (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMemoryInjectCopies(t *testing.T) {
	m, p := NewPipe(1500, 1)
	defer m.Close()
	pkt := []byte{1, 2, 3}
	mustInject(t, p, pkt)
	pkt[0] = 9
	bufs, sizes := newBatch(1, 64)
	if _, err := m.Read(bufs, sizes, 0); err != nil {
		t.Fatal(err)
	}
	if got := bufs[0][:sizes[0]]; !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Errorf("Read %v after the injector changed its buffer; want [1 2 3]", got)
	}
}

func TestMemoryReadShortBuffer(t *testing.T) {
	m, p := NewPipe(1500, 4)
	defer m.Close()

	// Too long for the first buffer: dropped with an error.
	mustInject(t, p, make([]byte, 50))
	bufs, sizes := newBatch(2, testOffset+40)
	if _, err := m.Read(bufs, sizes, testOffset); !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("Read of an oversized packet: err = %v, want io.ErrShortBuffer", err)
	}

	// Too long for a later buffer: kept for the next Read.
	small, large := make([]byte, 10), make([]byte, 30)
	mustInject(t, p, small, large)
	bufs = [][]byte{make([]byte, testOffset+40), make([]byte, testOffset+20)}
	if n, err := m.Read(bufs, sizes, testOffset); n != 1 || err != nil || sizes[0] != 10 {
		t.Fatalf("Read = %d, %v, size %d; want 1, nil, 10", n, err, sizes[0])
	}
	if n, err := m.Read(bufs, sizes, testOffset); n != 1 || err != nil || sizes[0] != 30 {
		t.Fatalf("second Read = %d, %v, size %d; want 1, nil, 30", n, err, sizes[0])
	}
}

func TestMemoryCloseUnblocksRead(t *testing.T) {
	m, _ := NewPipe(1500, 1)
	done := make(chan error, 1)
	go func() {
		bufs, sizes := newBatch(1, 100)
		_, err := m.Read(bufs, sizes, 0)
		done <- err
	}()
	m.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Read after Close: err = %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still blocked 5s after Close")
	}
}

func TestMemoryWrite(t *testing.T) {
	m, p := NewPipe(100, 8)
	defer m.Close()
	bufs := [][]byte{
		append(make([]byte, testOffset), 1, 2, 3),
		append(make([]byte, testOffset), 4),
	}
	if n, err := m.Write(bufs, testOffset); n != 2 || err != nil {
		t.Fatalf("Write = %d, %v; want 2, nil", n, err)
	}
	bufs[0][testOffset] = 9 // the peer must hold its own copy
	var got [][]byte
	for range 2 {
		pkt, ok := p.TryReceive()
		if !ok {
			t.Fatal("TryReceive found nothing")
		}
		got = append(got, pkt)
	}
	if diff := cmp.Diff([][]byte{{1, 2, 3}, {4}}, got); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
	if pkt, ok := p.TryReceive(); ok {
		t.Errorf("TryReceive = %v, want nothing", pkt)
	}
}

func TestMemoryWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		bufs    [][]byte
		offset  int
		wantN   int
		wantErr error
	}{
		{"too big", [][]byte{make([]byte, 100), make([]byte, 101)}, 0, 1, ErrPacketTooBig},
		{"offset beyond packet", [][]byte{make([]byte, 8)}, 9, 0, nil},
		{"negative offset", [][]byte{make([]byte, 8)}, -1, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := NewPipe(100, 1)
			defer m.Close()
			n, err := m.Write(tt.bufs, tt.offset)
			if n != tt.wantN || err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("Write = %d, %v; want %d and an error matching %v", n, err, tt.wantN, tt.wantErr)
			}
		})
	}
}

func TestMemoryQueuesAreBounded(t *testing.T) {
	m, p := NewPipe(1500, 1)
	defer m.Close()
	for i := range PipeQueueLen {
		if err := p.Inject([]byte{1}); err != nil {
			t.Fatalf("Inject %d: %v", i, err)
		}
	}
	if err := p.Inject([]byte{1}); !errors.Is(err, ErrQueueFull) {
		t.Errorf("Inject into a full queue: err = %v, want ErrQueueFull", err)
	}

	one := [][]byte{{1}}
	for range PipeQueueLen + 3 {
		if _, err := m.Write(one, 0); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.Dropped(); got != 3 {
		t.Errorf("Dropped = %d, want 3", got)
	}
}

func TestPeerReceive(t *testing.T) {
	t.Run("waits for a write", func(t *testing.T) {
		m, p := NewPipe(1500, 1)
		defer m.Close()
		go m.Write([][]byte{{7}}, 0)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if pkt, err := p.Receive(ctx); err != nil || !bytes.Equal(pkt, []byte{7}) {
			t.Errorf("Receive = %v, %v; want [7], nil", pkt, err)
		}
	})
	t.Run("context done", func(t *testing.T) {
		m, p := NewPipe(1500, 1)
		defer m.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := p.Receive(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Receive: err = %v, want context.Canceled", err)
		}
	})
	t.Run("drains after close", func(t *testing.T) {
		m, p := NewPipe(1500, 1)
		if _, err := m.Write([][]byte{{1}, {2}}, 0); err != nil {
			t.Fatal(err)
		}
		m.Close()
		for _, want := range []byte{1, 2} {
			if pkt, err := p.Receive(context.Background()); err != nil || !bytes.Equal(pkt, []byte{want}) {
				t.Fatalf("Receive = %v, %v; want [%d], nil", pkt, err, want)
			}
		}
		if _, err := p.Receive(context.Background()); !errors.Is(err, os.ErrClosed) {
			t.Errorf("Receive on a drained, closed pipe: err = %v, want os.ErrClosed", err)
		}
	})
}

func TestMemoryClosed(t *testing.T) {
	m, p := NewPipe(1500, 1)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	bufs, sizes := newBatch(1, 10)
	if _, err := m.Read(bufs, sizes, 0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read: err = %v, want os.ErrClosed", err)
	}
	if _, err := m.Write(bufs, 0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write: err = %v, want os.ErrClosed", err)
	}
	if _, err := m.MTU(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("MTU: err = %v, want os.ErrClosed", err)
	}
	if err := p.Inject([]byte{1}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Inject: err = %v, want os.ErrClosed", err)
	}
}

func TestMemoryMTUAndBatchSize(t *testing.T) {
	m, _ := NewPipe(9000, 64)
	defer m.Close()
	if mtu, err := m.MTU(); mtu != 9000 || err != nil {
		t.Errorf("MTU = %d, %v; want 9000, nil", mtu, err)
	}
	if got := m.BatchSize(); got != 64 {
		t.Errorf("BatchSize = %d, want 64", got)
	}
}

func TestNewPipePanicsOnBadArguments(t *testing.T) {
	for _, args := range [][2]int{{0, 1}, {1500, 0}, {-1, 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewPipe(%d, %d) did not panic", args[0], args[1])
				}
			}()
			NewPipe(args[0], args[1])
		}()
	}
}

// TestMemoryConcurrent runs both directions at once, for the race
// detector: the peer injects, the stack echoes what it reads and then
// closes, the peer receives the echoes.
func TestMemoryConcurrent(t *testing.T) {
	const count = 2000
	m, p := NewPipe(1500, 16)
	var wg sync.WaitGroup

	wg.Go(func() {
		for i := 0; i < count; {
			switch err := p.Inject([]byte{byte(i)}); {
			case err == nil:
				i++
			case errors.Is(err, os.ErrClosed):
				return
			}
		}
	})
	wg.Go(func() {
		defer m.Close()
		bufs, sizes := newBatch(16, 64)
		for total := 0; total < count; {
			n, err := m.Read(bufs, sizes, testOffset)
			if err != nil {
				t.Errorf("Read: %v", err)
				return
			}
			total += n
			for i := range n {
				bufs[i] = bufs[i][:testOffset+sizes[i]]
			}
			if _, err := m.Write(bufs[:n], testOffset); err != nil {
				t.Errorf("Write: %v", err)
			}
			for i := range n {
				bufs[i] = bufs[i][:cap(bufs[i])]
			}
		}
	})
	received := 0
	wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for {
			_, err := p.Receive(ctx)
			if err != nil {
				if !errors.Is(err, os.ErrClosed) {
					t.Errorf("Receive: %v", err)
				}
				return
			}
			received++
		}
	})
	wg.Wait()
	if got := uint64(received) + p.Dropped(); got != count {
		t.Errorf("received %d + dropped %d packets, want %d in all", received, p.Dropped(), count)
	}
}

func TestPeerLinkCarriesBothWays(t *testing.T) {
	mem, peer := NewPipe(1500, 4)
	link := peer.Link(1500)
	defer link.Close()
	if _, err := link.Write([][]byte{append(make([]byte, 16), "to device"...)}, 16); err != nil {
		t.Fatal(err)
	}
	bufs, sizes := [][]byte{make([]byte, 64)}, make([]int, 1)
	if n, err := mem.Read(bufs, sizes, 0); n != 1 || err != nil || string(bufs[0][:sizes[0]]) != "to device" {
		t.Fatalf("device read %d %v %q", n, err, bufs[0][:sizes[0]])
	}
	if _, err := mem.Write([][]byte{append(make([]byte, 16), "to peer"...)}, 16); err != nil {
		t.Fatal(err)
	}
	if n, err := link.Read(bufs, sizes, 0); n != 1 || err != nil || string(bufs[0][:sizes[0]]) != "to peer" {
		t.Fatalf("peer link read %d %v %q", n, err, bufs[0][:sizes[0]])
	}
	link.Close()
	if _, err := link.Read(bufs, sizes, 0); err == nil {
		t.Fatal("Read after Close did not fail")
	}
}
