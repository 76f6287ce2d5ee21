package demo

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tundev"
)

var (
	stackEnd  = netip.MustParseAddrPort("10.77.100.2:49152")
	kernelEnd = netip.MustParseAddrPort("10.77.100.1:9000")
	connID    = tcp.ID{Local: stackEnd, Remote: kernelEnd}
)

// packet builds a TCP packet from src to dst with the link's headroom in
// front.
func packet(t *testing.T, src, dst netip.AddrPort, flags tcp.Flags, seq uint32) []byte {
	t.Helper()
	buf := make([]byte, stack.Headroom+100)
	seg := tcp.Segment{SrcPort: src.Port(), DstPort: dst.Port(), Flags: flags, Seq: tcp.Seq(seq), Ack: 1, Window: 1000}
	n, err := wire.BuildTCP(buf[stack.Headroom:], src.Addr(), dst.Addr(), &seg, 0)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:stack.Headroom+n]
}

// flagsOf reads the flags of a packet the kernel's side received.
func flagsOf(t *testing.T, pkt []byte) tcp.Flags {
	t.Helper()
	_, seg, ok := parse(pkt, false)
	if !ok {
		t.Fatalf("not a TCP packet: %x", pkt)
	}
	return seg.Flags
}

func newTestLink(t *testing.T) (*link, *tundev.Peer) {
	mem, peer := tundev.NewPipe(1500, 8)
	t.Cleanup(func() { mem.Close() })
	return newLink(mem), peer
}

func receive(t *testing.T, peer *tundev.Peer) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	pkt, err := peer.Receive(ctx)
	if err != nil {
		t.Fatalf("the kernel's side received nothing: %v", err)
	}
	return pkt
}

// TestLinkLosesOneSYN: the next SYN to the address is lost and noted;
// the one after it passes, and so does everything else.
func TestLinkLosesOneSYN(t *testing.T) {
	l, peer := newTestLink(t)
	lost := l.loseNextSYN(kernelEnd)
	other := packet(t, stackEnd, netip.MustParseAddrPort("10.77.100.1:9001"), tcp.FlagSYN, 5)
	if n, err := l.Write([][]byte{packet(t, stackEnd, kernelEnd, tcp.FlagSYN, 100), other}, stack.Headroom); n != 2 || err != nil {
		t.Fatalf("Write = %d, %v; want both taken", n, err)
	}
	select {
	case <-lost:
	default:
		t.Fatal("the SYN was not lost")
	}
	if id, _, _ := parse(receive(t, peer), false); id.Remote.Port() != 9001 {
		t.Errorf("the kernel got a packet to %v, want the other SYN", id.Remote)
	}
	l.Write([][]byte{packet(t, stackEnd, kernelEnd, tcp.FlagSYN, 100)}, stack.Headroom)
	if got := receive(t, peer); flagsOf(t, got) != tcp.FlagSYN {
		t.Errorf("the second SYN did not pass")
	}
	notes := l.events(connID)
	if len(notes) != 1 || !notes[0].Lost || notes[0].Seg.Seq != 100 || notes[0].Seg.Flags != tcp.FlagSYN {
		t.Errorf("link events %+v, want the lost SYN", notes)
	}
}

// TestLinkHoldsFINUntilTheKernelsFIN: the stack's FIN waits; a copy sent
// again meanwhile is dropped; when the kernel's FIN is read, the held FIN
// goes to the kernel before Read returns the kernel's FIN to the stack.
func TestLinkHoldsFINUntilTheKernelsFIN(t *testing.T) {
	l, peer := newTestLink(t)
	held := l.holdNextFIN(connID)
	fin := packet(t, stackEnd, kernelEnd, tcp.FlagFIN|tcp.FlagACK, 200)
	l.Write([][]byte{packet(t, stackEnd, kernelEnd, tcp.FlagACK, 199), fin}, stack.Headroom)
	select {
	case <-held:
	default:
		t.Fatal("the FIN was not held")
	}
	if got := receive(t, peer); flagsOf(t, got) != tcp.FlagACK {
		t.Fatalf("the kernel got %v first, want the ACK", flagsOf(t, got))
	}
	l.Write([][]byte{fin}, stack.Headroom) // sent again by a timer
	if pkt, ok := peer.TryReceive(); ok {
		t.Fatalf("the kernel got %v while the FIN is held", flagsOf(t, pkt))
	}

	// The kernel's ACK passes; its FIN releases ours.
	for _, flags := range []tcp.Flags{tcp.FlagACK, tcp.FlagFIN | tcp.FlagACK} {
		if err := peer.Inject(packet(t, kernelEnd, stackEnd, flags, 900)[stack.Headroom:]); err != nil {
			t.Fatal(err)
		}
		bufs, sizes := [][]byte{make([]byte, stack.Headroom+1500)}, []int{0}
		n, err := l.Read(bufs, sizes, stack.Headroom)
		if n != 1 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
		pkt, released := peer.TryReceive()
		if flags == tcp.FlagACK && released {
			t.Fatalf("the kernel's ACK released %v", flagsOf(t, pkt))
		}
		if flags != tcp.FlagACK && (!released || flagsOf(t, pkt) != tcp.FlagFIN|tcp.FlagACK) {
			t.Fatal("the kernel's FIN did not release the stack's")
		}
	}
	notes := l.events(connID)
	if len(notes) != 2 || !notes[0].Lost || notes[1].Lost || !strings.HasPrefix(notes[1].Note, "held by the demo's link") {
		t.Errorf("link events %+v, want the dropped copy and the held FIN", notes)
	}
}

// TestLinkClear: a FIN still held when a step ends is delivered, and no
// rule outlives the step.
func TestLinkClear(t *testing.T) {
	l, peer := newTestLink(t)
	l.holdNextFIN(connID)
	l.loseNextSYN(kernelEnd)
	l.Write([][]byte{packet(t, stackEnd, kernelEnd, tcp.FlagFIN|tcp.FlagACK, 200)}, stack.Headroom)
	l.clear()
	if got := receive(t, peer); flagsOf(t, got) != tcp.FlagFIN|tcp.FlagACK {
		t.Fatalf("clear delivered %v, want the held FIN", flagsOf(t, got))
	}
	l.Write([][]byte{packet(t, stackEnd, kernelEnd, tcp.FlagSYN, 100)}, stack.Headroom)
	if got := receive(t, peer); flagsOf(t, got) != tcp.FlagSYN {
		t.Errorf("after clear the SYN was lost")
	}
}
