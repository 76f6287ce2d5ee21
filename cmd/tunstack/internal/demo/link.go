package demo

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/ladder"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// link sits between the TUN device and the stack, where the demo can
// disturb one segment on purpose, deterministically: lose the stack's
// next SYN to an address (so that the retransmission timer must send it
// again), or hold the stack's next FIN on a connection until the kernel's
// own FIN on it has left the kernel (so that the two FINs cross: a
// simultaneous close). It notes what it did for the ladders. Everything
// else passes untouched.
type link struct {
	stack.Link

	mu sync.Mutex
	// loseSYN is where the next SYN to lose goes; lost is closed when it
	// is lost.
	loseSYN netip.AddrPort
	lost    chan struct{}
	// holdFIN is the connection (the stack's view) whose next FIN to
	// hold; held is closed once it is held. heldPkt is the held packet,
	// with the link's headroom, heldAt when it came.
	holdFIN tcp.ID
	held    chan struct{}
	heldPkt []byte
	heldSeg ladder.SegmentKey
	heldAt  time.Time
	notes   map[tcp.ID][]ladder.LinkEvent
}

func newLink(l stack.Link) *link { return &link{Link: l, notes: map[tcp.ID][]ladder.LinkEvent{}} }

// loseNextSYN loses the stack's next SYN to dst; the channel is closed
// when it has.
func (l *link) loseNextSYN(dst netip.AddrPort) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loseSYN, l.lost = dst, make(chan struct{})
	return l.lost
}

// holdNextFIN holds the stack's next FIN on connection id until a FIN
// from the kernel on it is read; the channel is closed once it is held.
func (l *link) holdNextFIN(id tcp.ID) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holdFIN, l.held = id, make(chan struct{})
	return l.held
}

// clear drops the rules a step left, and delivers a FIN still held: a
// step that failed half-way must not leave the next one a disturbed link.
func (l *link) clear() {
	l.mu.Lock()
	pkt := l.heldPkt
	l.loseSYN, l.lost = netip.AddrPort{}, nil
	l.holdFIN, l.held, l.heldPkt = tcp.ID{}, nil, nil
	l.mu.Unlock()
	if pkt != nil {
		l.Link.Write([][]byte{pkt}, stack.Headroom)
	}
}

// events is what the link did to the stack's segments on connection id.
func (l *link) events(id tcp.ID) []ladder.LinkEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ladder.LinkEvent(nil), l.notes[id]...)
}

// Write passes the stack's packets on to the device, but those it loses
// or holds.
func (l *link) Write(bufs [][]byte, offset int) (int, error) {
	l.mu.Lock()
	keep, taken := bufs, false
	for i, b := range bufs {
		switch {
		case l.takes(b, offset):
			if !taken {
				keep, taken = append([][]byte(nil), bufs[:i]...), true
			}
		case taken:
			keep = append(keep, b)
		}
	}
	l.mu.Unlock()
	if len(keep) > 0 {
		if _, err := l.Link.Write(keep, offset); err != nil {
			return 0, err
		}
	}
	return len(bufs), nil
}

// takes reports whether the link loses or holds the stack's packet b.
func (l *link) takes(b []byte, offset int) bool {
	id, seg, ok := parse(b[offset:], false)
	if !ok {
		return false
	}
	key := ladder.SegmentKey{Flags: seg.Flags, Seq: seg.Seq, Ack: seg.Ack, Len: len(seg.Payload)}
	switch {
	case l.lost != nil && seg.Flags == tcp.FlagSYN && id.Remote == l.loseSYN:
		l.notes[id] = append(l.notes[id], ladder.LinkEvent{Seg: key, Lost: true,
			Note: "lost: the demo's link dropped this SYN on purpose"})
		close(l.lost)
		l.lost = nil
		return true
	case l.held != nil && id == l.holdFIN && seg.Flags.Has(tcp.FlagFIN):
		if l.heldPkt != nil {
			// The FIN again, sent by a timer while the first is held.
			l.notes[id] = append(l.notes[id], ladder.LinkEvent{Seg: key, Lost: true,
				Note: "dropped by the demo's link: the first copy of this FIN is still held"})
			return true
		}
		l.heldPkt = append(make([]byte, offset, offset+len(b)-offset), b[offset:]...)
		l.heldSeg, l.heldAt = key, time.Now()
		close(l.held)
		return true
	}
	return false
}

// Read reads from the device; when the kernel's FIN on the connection
// whose FIN is held arrives, it first delivers the held FIN to the kernel,
// so that the kernel has sent its FIN before it gets the stack's: each
// side is in FIN-WAIT-1 when the other's FIN reaches it.
func (l *link) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	n, err := l.Link.Read(bufs, sizes, offset)
	l.release(bufs[:n], sizes[:n], offset)
	return n, err
}

// ReadChecksummed is Read for a device that can say it computed the
// checksums (stack.ChecksummedReader).
func (l *link) ReadChecksummed(bufs [][]byte, sizes []int, offset int) (int, bool, error) {
	cr, ok := l.Link.(stack.ChecksummedReader)
	if !ok {
		n, err := l.Read(bufs, sizes, offset)
		return n, false, err
	}
	n, checksummed, err := cr.ReadChecksummed(bufs, sizes, offset)
	l.release(bufs[:n], sizes[:n], offset)
	return n, checksummed, err
}

func (l *link) release(bufs [][]byte, sizes []int, offset int) {
	l.mu.Lock()
	if l.heldPkt == nil {
		l.mu.Unlock()
		return
	}
	id := l.holdFIN
	for i, b := range bufs {
		in, seg, ok := parse(b[offset:offset+sizes[i]], true)
		if !ok || in != id || !seg.Flags.Has(tcp.FlagFIN) {
			continue
		}
		pkt, key, since := l.heldPkt, l.heldSeg, time.Since(l.heldAt)
		l.heldPkt, l.held = nil, nil
		l.notes[id] = append(l.notes[id], ladder.LinkEvent{Seg: key,
			Note: fmt.Sprintf("held by the demo's link until the kernel's FIN had left the kernel: delivered %.3f ms later, just before the stack read the kernel's FIN",
				float64(since)/float64(time.Millisecond))})
		l.mu.Unlock()
		// The kernel answers it inside this write: its ACK is in the
		// device's queue before the stack takes the kernel's FIN.
		l.Link.Write([][]byte{pkt}, offset)
		return
	}
	l.mu.Unlock()
}

// parse reads a TCP segment out of an IP packet and names its connection
// from the stack's side: inbound packets come from the kernel.
func parse(b []byte, inbound bool) (tcp.ID, tcp.Segment, bool) {
	p, err := wire.ParseIP(b)
	if err != nil || p.Protocol != wire.ProtoTCP {
		return tcp.ID{}, tcp.Segment{}, false
	}
	var seg tcp.Segment
	if wire.ParseTCPChecksummed(&p, &seg) != nil {
		return tcp.ID{}, tcp.Segment{}, false
	}
	src, dst := netip.AddrPortFrom(p.Src, seg.SrcPort), netip.AddrPortFrom(p.Dst, seg.DstPort)
	if inbound {
		return tcp.ID{Local: dst, Remote: src}, seg, true
	}
	return tcp.ID{Local: src, Remote: dst}, seg, true
}
