package tundev

import "context"

// PeerLink is the Peer of an in-memory device with the device's own
// methods (stack.Link's), so that a second stack can play the kernel's
// side in tests: what one stack writes, the other reads.
type PeerLink struct {
	peer   *Peer
	mtu    int
	ctx    context.Context
	cancel context.CancelFunc
}

// Link returns the peer as a device of the given MTU. Closing it ends a
// pending Read; the pipe itself stays open.
func (p *Peer) Link(mtu int) *PeerLink {
	ctx, cancel := context.WithCancel(context.Background())
	return &PeerLink{peer: p, mtu: mtu, ctx: ctx, cancel: cancel}
}

// Read returns the next packet the device side wrote, one at a time.
func (l *PeerLink) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	pkt, err := l.peer.Receive(l.ctx)
	if err != nil {
		return 0, err
	}
	sizes[0] = copy(bufs[0][offset:], pkt)
	return 1, nil
}

// Write injects the packets for the device side to read.
func (l *PeerLink) Write(bufs [][]byte, offset int) (int, error) {
	for i, b := range bufs {
		if err := l.peer.Inject(b[offset:]); err != nil {
			return i, err
		}
	}
	return len(bufs), nil
}

func (l *PeerLink) BatchSize() int    { return 1 }
func (l *PeerLink) MTU() (int, error) { return l.mtu, nil }
func (l *PeerLink) Close() error      { l.cancel(); return nil }
