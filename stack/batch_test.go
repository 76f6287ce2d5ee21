package stack

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
)

// batchLink is a link whose every Read returns exactly one batch the test
// handed to deliver, so a test decides which packets arrive in one read.
// It is a ChecksummedReader and says what deliver was told.
type batchLink struct {
	batches chan linkBatch
	out     chan []byte
	done    chan struct{}
	once    sync.Once

	held      atomic.Bool   // Write waits for gate
	gate      chan struct{} // closed by releaseWrites
	release   sync.Once
	writeHeld chan struct{} // a Write started waiting
}

type linkBatch struct {
	pkts        [][]byte
	checksummed bool
}

func newBatchLink() *batchLink {
	return &batchLink{batches: make(chan linkBatch, 16), out: make(chan []byte, 4096), done: make(chan struct{}),
		gate: make(chan struct{}), writeHeld: make(chan struct{}, 64)}
}

// holdWrites makes every Write wait until releaseWrites.
func (l *batchLink) holdWrites() { l.held.Store(true) }

func (l *batchLink) releaseWrites() {
	l.held.Store(false)
	l.release.Do(func() { close(l.gate) })
}

// deliver makes pkts the result of one Read.
func (l *batchLink) deliver(checksummed bool, pkts ...[]byte) {
	l.batches <- linkBatch{pkts, checksummed}
}

func (l *batchLink) ReadChecksummed(bufs [][]byte, sizes []int, offset int) (int, bool, error) {
	select {
	case b := <-l.batches:
		for i, p := range b.pkts {
			sizes[i] = copy(bufs[i][offset:], p)
		}
		return len(b.pkts), b.checksummed, nil
	case <-l.done:
		return 0, false, net.ErrClosed
	}
}

func (l *batchLink) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	n, _, err := l.ReadChecksummed(bufs, sizes, offset)
	return n, err
}

func (l *batchLink) Write(bufs [][]byte, offset int) (int, error) {
	if l.held.Load() {
		l.writeHeld <- struct{}{}
		<-l.gate
	}
	for _, b := range bufs {
		l.out <- append([]byte(nil), b[offset:]...)
	}
	return len(bufs), nil
}

func (l *batchLink) BatchSize() int    { return 64 }
func (l *batchLink) MTU() (int, error) { return 1500, nil }
func (l *batchLink) Close() error      { l.once.Do(func() { close(l.done) }); return nil }

// batchPeer plays the far end of one connection over a batchLink.
type batchPeer struct {
	t           *testing.T
	link        *batchLink
	addr, stack netip.AddrPort
	seq, ack    tcp.Seq
}

// segment builds the peer's next segment and advances its sequence number.
func (p *batchPeer) segment(flags tcp.Flags, payload []byte) []byte {
	p.t.Helper()
	seg := tcp.Segment{Seq: p.seq, Ack: p.ack, Flags: flags, Window: 65535, Payload: payload}
	if flags.Has(tcp.FlagSYN) {
		// Window scaling, so that the stack's window is not capped at
		// 65535 and shows every byte its buffer holds.
		seg.Options.MSS, seg.Options.HasWindowScale = 1460, true
	}
	p.seq = seg.End()
	return tcpPacket(p.addr, p.stack, seg)
}

// expect returns the next segment the stack sends.
func (p *batchPeer) expect() tcp.Segment {
	p.t.Helper()
	select {
	case pkt := <-p.link.out:
		_, seg := parseTCP(p.t, pkt)
		return seg
	case <-p.link.done:
	}
	p.t.Fatal("link closed")
	return tcp.Segment{}
}

// establishBatched runs a stack on a batchLink with a listener on port 9
// and returns the peer of an established connection and the accepted
// connection.
func establishBatched(t *testing.T) (*running, *batchPeer, *Conn) {
	t.Helper()
	link := newBatchLink()
	s := startStack(t, link, stackOptions(stackAddr4))
	ln := listen(t, s, ":9")
	peer := &batchPeer{t: t, link: link, seq: 5000,
		addr:  netip.AddrPortFrom(peerAddr4, 40000),
		stack: netip.AddrPortFrom(stackAddr4, 9)}
	link.deliver(false, peer.segment(tcp.FlagSYN, nil))
	synAck := peer.expect()
	if synAck.Flags != tcp.FlagSYN|tcp.FlagACK {
		t.Fatalf("got %v, want SYN-ACK", &synAck)
	}
	peer.ack = synAck.Seq.Add(1)
	link.deliver(false, peer.segment(tcp.FlagACK, nil))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	// On a loaded machine the SYN-ACK's timer may fire before the ACK is
	// read; what it sent again left before Accept could return.
	for {
		select {
		case pkt := <-link.out:
			if _, seg := parseTCP(t, pkt); seg.Flags != tcp.FlagSYN|tcp.FlagACK {
				t.Fatalf("got %v after the handshake, want nothing or a SYN-ACK sent again", &seg)
			}
			continue
		default:
		}
		return s, peer, c.(*Conn)
	}
}

// A read's burst of segments is acknowledged once, at its end, and that
// ACK already advertises the room the burst's data left in the engine
// once moved to the application's queue.
func TestBurstAckedOnceWithTheWindowItsDataFreed(t *testing.T) {
	_, peer, _ := establishBatched(t)
	payload := make([]byte, 1000)

	peer.link.deliver(false, peer.segment(tcp.FlagACK, payload))
	single := peer.expect()
	if single.Ack != peer.seq {
		t.Fatalf("ACK of one segment acks %d, want %d", single.Ack, peer.seq)
	}

	var burst [][]byte
	for range 10 {
		burst = append(burst, peer.segment(tcp.FlagACK, payload))
	}
	peer.link.deliver(false, burst...)
	ack := peer.expect()
	if ack.Ack != peer.seq || ack.Window != single.Window {
		t.Errorf("burst answered with ack %d window %d, want ack %d window %d", ack.Ack, ack.Window, peer.seq, single.Window)
	}

	// Nothing else came between: the next packet is the next ACK.
	peer.link.deliver(false, peer.segment(tcp.FlagACK|tcp.FlagPSH, payload))
	if next := peer.expect(); next.Ack != peer.seq {
		t.Errorf("after the burst's ACK came %v, want the ACK of the next segment (ack %d)", &next, peer.seq)
	}
}

// A segment that changes the connection's state is dealt with before the
// next segment of the same read: a RST frees the 4-tuple at once, so a
// SYN right behind it in the batch opens a new connection.
func TestStateChangeTakesEffectWithinTheBatch(t *testing.T) {
	_, peer, _ := establishBatched(t)
	rst := peer.segment(tcp.FlagRST, nil)
	peer.seq = 90000
	peer.ack = 0
	syn := peer.segment(tcp.FlagSYN, nil)
	peer.link.deliver(false, rst, syn)
	if got := peer.expect(); got.Flags != tcp.FlagSYN|tcp.FlagACK || got.Ack != 90001 {
		t.Fatalf("the SYN after the RST was answered with %v, want SYN-ACK ack=90001", &got)
	}
}

// A link that computed a batch's checksums itself spares the stack from
// verifying them; any other batch is verified.
func TestChecksummedBatchIsNotVerifiedAgain(t *testing.T) {
	tests := []struct {
		name        string
		checksummed bool
		wantDropped bool
	}{
		{"link computed the checksums", true, false},
		{"link did not say", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, peer, c := establishBatched(t)
			pkt := peer.segment(tcp.FlagACK|tcp.FlagPSH, []byte("data"))
			pkt[len(pkt)-1] ^= 0xff // the payload no longer matches the checksum
			// A checksummed read always carries a good segment too
			// (a split super-packet): its ACK shows the batch is done.
			good := peer.segment(tcp.FlagACK|tcp.FlagPSH, []byte("more"))
			peer.link.deliver(tt.checksummed, pkt, good)
			ack := peer.expect()
			dropped := s.Counters().Drops["tcp-bad-checksum"] == 1
			if dropped != tt.wantDropped {
				t.Errorf("bad-checksum drops = %v, want dropped %v", s.Counters().Drops, tt.wantDropped)
			}
			if tt.wantDropped {
				return
			}
			if ack.Ack != peer.seq {
				t.Errorf("ack %d, want %d", ack.Ack, peer.seq)
			}
			buf := make([]byte, 16)
			n, err := c.Read(buf)
			if err != nil || n != 8 {
				t.Errorf("Read = %d %q, %v; want both segments' 8 bytes", n, buf[:n], err)
			}
		})
	}
}
