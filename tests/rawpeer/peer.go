package rawpeer

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
	"golang.org/x/sys/unix"
)

// Errors of a Peer.
var (
	ErrFamilies = errors.New("rawpeer: the peer's and the stack's addresses must be of one family")
	ErrNoMatch  = errors.New("rawpeer: no matching segment from the stack")
	ErrClosed   = errors.New("rawpeer: peer closed")
	errBadFrame = errors.New("rawpeer: capture read failed")
)

// Peer is a hand-played remote host on the kernel side of a TUN device.
type Peer struct {
	// Addr is the peer's address, Stack the stack's.
	Addr, Stack netip.Addr

	sendFD  int      // raw IPv4 or IPv6 socket, IP header included
	capture *os.File // AF_PACKET socket bound to the device, non-blocking
	ifindex int
	opened  time.Time

	mu      sync.Mutex
	log     []Packet
	cursor  int           // Expect looks at log[cursor:]
	changed chan struct{} // closed, and replaced, when log grows
	readErr error         // why the capture stopped, if it did

	done chan struct{} // closed when the capture goroutine has ended
}

// Open opens a peer with address self in the namespace named ns, in front
// of the TUN device named device behind which the stack has address stack,
// of the same family. self must be on the device's subnet and not one of
// the kernel's addresses; Open turns forwarding of that family off in ns so
// that the kernel drops the stack's packets to self instead of routing them
// back into the device. A test that forges segments of a kernel socket's own
// connection opens it with the kernel's address instead: the kernel then
// takes the stack's answers as usual, and the peer only sends and captures.
func Open(ns, device string, self, stack netip.Addr) (*Peer, error) {
	self, stack = self.Unmap(), stack.Unmap()
	if self.Is4() != stack.Is4() || !self.IsValid() || !stack.IsValid() {
		return nil, ErrFamilies
	}
	p := &Peer{Addr: self, Stack: stack, sendFD: -1, changed: make(chan struct{}), done: make(chan struct{})}
	if err := testkit.InNamespace(ns, func() error { return p.openSockets(device) }); err != nil {
		p.closeSockets()
		return nil, fmt.Errorf("rawpeer: open in namespace %s on %s: %w", ns, device, err)
	}
	p.opened = time.Now()
	go p.captureLoop()
	return p, nil
}

// openSockets runs on a thread inside the namespace: the sockets it opens
// stay in that namespace whichever thread uses them later.
func (p *Peer) openSockets(device string) error {
	forwarding, family := "/proc/sys/net/ipv4/ip_forward", unix.AF_INET
	if p.Addr.Is6() {
		forwarding, family = "/proc/sys/net/ipv6/conf/all/forwarding", unix.AF_INET6
	}
	if err := os.WriteFile(forwarding, []byte("0\n"), 0); err != nil {
		return fmt.Errorf("turn forwarding off: %w", err)
	}
	ifc, err := net.InterfaceByName(device)
	if err != nil {
		return err
	}
	p.ifindex = ifc.Index
	// SOCK_RAW, which on a TUN (no link-layer header) reads the same bare
	// IP packets as SOCK_DGRAM, because only it takes PACKET_VNET_HDR.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return fmt.Errorf("AF_PACKET socket: %w", err)
	}
	// Wrapped at once so that every later error path closes it.
	p.capture = os.NewFile(uintptr(fd), "capture "+device)
	// Room for the bursts of a bulk transfer, GSO super-packets of up to
	// 64 KiB each, while the capture goroutine catches up: a full buffer
	// drops what the device carries on.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, captureBuffer); err != nil {
		return fmt.Errorf("SO_RCVBUFFORCE on the AF_PACKET socket: %w", err)
	}
	// Each frame then starts with its virtio-net header, which gives the
	// segment size of a GSO super-packet (Packet.GSOSize).
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
		return fmt.Errorf("PACKET_VNET_HDR on the AF_PACKET socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index}); err != nil {
		return fmt.Errorf("bind AF_PACKET socket to %s: %w", device, err)
	}
	// IPPROTO_RAW: the IP header is the caller's (IP_HDRINCL, and for
	// IPv6 IPV6_HDRINCL, which Linux implies for this protocol).
	if p.sendFD, err = unix.Socket(family, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
		return fmt.Errorf("raw IP socket: %w", err)
	}
	return nil
}

// Send sends seg from the peer to the stack.
func (p *Peer) Send(seg tcp.Segment) error {
	pkt, err := p.Packet(seg)
	if err != nil {
		return err
	}
	if err := p.SendRaw(pkt); err != nil {
		return fmt.Errorf("rawpeer: send %v: %w", seg.String(), err)
	}
	return nil
}

// Packet returns the IP packet that carries seg from the peer to the
// stack, for a caller that sends it otherwise than whole (in fragments).
func (p *Peer) Packet(seg tcp.Segment) ([]byte, error) {
	buf := make([]byte, wire.IPv6HeaderLen+wire.TCPHeaderLen+40+len(seg.Payload))
	n, err := wire.BuildTCP(buf, p.Addr, p.Stack, &seg, 0)
	if err != nil {
		return nil, fmt.Errorf("rawpeer: build %v: %w", seg.String(), err)
	}
	return buf[:n], nil
}

// SendRaw sends pkt, a whole IP packet of the peer's family with its
// header, to the stack as it is. For IPv4 the kernel fills in a zero
// Identification, the total length and the header checksum; it fragments
// nothing (a packet over the MTU fails with EMSGSIZE).
func (p *Peer) SendRaw(pkt []byte) error {
	var to unix.Sockaddr
	if p.Stack.Is4() {
		to = &unix.SockaddrInet4{Addr: p.Stack.As4()}
	} else {
		to = &unix.SockaddrInet6{Addr: p.Stack.As16()}
	}
	return unix.Sendto(p.sendFD, pkt, 0, to)
}

// Close stops the capture, waits for it to end and closes the sockets.
func (p *Peer) Close() error {
	err := p.closeSockets()
	<-p.done
	return err
}

func (p *Peer) closeSockets() error {
	var errs []error
	if p.capture != nil {
		errs = append(errs, p.capture.Close())
	}
	if p.sendFD >= 0 {
		errs = append(errs, unix.Close(p.sendFD))
	}
	return errors.Join(errs...)
}

// Expect waits at most timeout for the next TCP segment from the stack
// that match accepts, and returns it. "Next" means after the segment the
// previous Expect returned: segments passed over on the way are not seen
// again.
func (p *Peer) Expect(timeout time.Duration, match func(Packet) bool) (Packet, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for ; p.cursor < len(p.log); p.cursor++ {
			pkt := p.log[p.cursor]
			if pkt.Dir == FromStack && pkt.IsTCP() && match(pkt) {
				p.cursor++
				p.mu.Unlock()
				return pkt, nil
			}
		}
		changed, readErr := p.changed, p.readErr
		p.mu.Unlock()
		if readErr != nil {
			return Packet{}, fmt.Errorf("%w: %w", ErrClosed, readErr)
		}
		select {
		case <-changed:
		case <-deadline.C:
			return Packet{}, fmt.Errorf("%w within %v", ErrNoMatch, timeout)
		}
	}
}

// Captured returns a copy of every packet captured so far, both ways.
func (p *Peer) Captured() []Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Packet(nil), p.log...)
}

// Ladder renders every captured packet, one per line, with its time since
// Open: what a failing test prints.
func (p *Peer) Ladder() string {
	var b strings.Builder
	for _, pkt := range p.Captured() {
		fmt.Fprintf(&b, "%9.3fs %v\n", pkt.At.Sub(p.opened).Seconds(), pkt)
	}
	if b.Len() == 0 {
		return "(nothing captured)\n"
	}
	return b.String()
}

// captureLoop reads the AF_PACKET socket into the log until Close.
func (p *Peer) captureLoop() {
	defer close(p.done)
	raw, err := p.capture.SyscallConn()
	if err != nil {
		p.stop(err)
		return
	}
	buf := make([]byte, 1<<16)
	for {
		var (
			n       int
			from    unix.Sockaddr
			recvErr error
		)
		err := raw.Read(func(fd uintptr) bool {
			n, from, recvErr = unix.Recvfrom(int(fd), buf, 0)
			return recvErr != unix.EAGAIN
		})
		if err == nil {
			err = recvErr
		}
		if err != nil {
			p.stop(err)
			return
		}
		ll, ok := from.(*unix.SockaddrLinklayer)
		if !ok {
			p.stop(fmt.Errorf("%w: source %T is not a link-layer address", errBadFrame, from))
			return
		}
		if ll.Ifindex != p.ifindex {
			continue // queued before the socket was bound to the device
		}
		dir := FromStack
		if ll.Pkttype == unix.PACKET_OUTGOING {
			dir = ToStack
		}
		if n < vnetHeaderLen {
			p.stop(fmt.Errorf("%w: %d bytes, shorter than a virtio-net header", errBadFrame, n))
			return
		}
		vnet := buf[:vnetHeaderLen]
		pkt := parsePacket(buf[vnetHeaderLen:n], time.Now(), dir, vnet[0]&unix.VIRTIO_NET_HDR_F_NEEDS_CSUM != 0)
		pkt.GSOSize = gsoSize(vnet)
		p.record(pkt)
	}
}

func (p *Peer) record(pkt Packet) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, pkt)
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Peer) stop(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.readErr = err
	close(p.changed)
	p.changed = make(chan struct{})
}

// captureBuffer is the capture socket's receive buffer, in bytes.
const captureBuffer = 8 << 20

// htons converts a 16-bit number to network byte order, as the AF_PACKET
// protocol fields want it.
func htons(v uint16) uint16 { return v<<8 | v>>8 }
