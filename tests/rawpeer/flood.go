package rawpeer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tunstack/tunstack/tests/testkit"
	"golang.org/x/sys/unix"
)

// FloodSocket is how a Flooder puts its packets on the device.
type FloodSocket uint8

const (
	// FloodIP sends through a raw IPv4 socket (IPPROTO_RAW), as an
	// attacker on the path would: the kernel routes every packet to the
	// stack's address (never to the address in the packet's own header),
	// fills in the IPv4 total length and header checksum, and refuses a
	// packet whose header it cannot read.
	FloodIP FloodSocket = iota
	// FloodDevice writes each packet to the TUN device itself through an
	// AF_PACKET socket bound to it: the bytes reach the stack exactly as
	// built, however malformed, and cannot go anywhere but the device.
	FloodDevice
)

// floodBatch is how many packets one sendmmsg call carries.
const floodBatch = 64

// Flooder sends hand-built packets to the stack from the kernel side of its
// TUN device, as fast as the machine can or at a fixed rate, for load
// tests: a SYN flood from spoofed sources, random garbage. Like a Peer it
// lives in the namespace it was opened in, and nothing it sends can leave
// that namespace: FloodIP packets are routed to the stack's address only,
// FloodDevice packets are written to the device only.
type Flooder struct {
	fd    int
	kind  FloodSocket
	stack netip.Addr
	// name is the destination of every message: the stack's address for
	// FloodIP, the device for FloodDevice.
	name    []byte
	ifindex int
	// Batch is how many packets one system call sends: 1 sends them one
	// by one, as a tight loop of sendto would; at most (and by default)
	// 64, with sendmmsg.
	Batch int
	// sent counts the packets sent so far, for Sent while Run runs.
	sent atomic.Uint64
}

// errFloodIPv4: the flooder forges IPv4 packets only.
var errFloodIPv4 = errors.New("rawpeer: the flooder sends IPv4 only")

// OpenFlooder opens a flooder in namespace ns in front of the TUN device
// named device, behind which the stack has the IPv4 address stack.
func OpenFlooder(ns, device string, stack netip.Addr, kind FloodSocket) (*Flooder, error) {
	if !stack.Is4() {
		return nil, errFloodIPv4
	}
	f := &Flooder{fd: -1, kind: kind, stack: stack}
	if err := testkit.InNamespace(ns, func() error { return f.open(device) }); err != nil {
		if f.fd >= 0 {
			unix.Close(f.fd)
		}
		return nil, fmt.Errorf("rawpeer: open flooder in namespace %s on %s: %w", ns, device, err)
	}
	return f, nil
}

// open runs on a thread inside the namespace: the socket stays there.
func (f *Flooder) open(device string) error {
	ifc, err := net.InterfaceByName(device)
	if err != nil {
		return err
	}
	f.ifindex = ifc.Index
	switch f.kind {
	case FloodIP:
		if f.fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
			return fmt.Errorf("raw IPv4 socket: %w", err)
		}
		sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: f.stack.As4()}
		f.name = unsafe.Slice((*byte)(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet4)
	case FloodDevice:
		if f.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return fmt.Errorf("AF_PACKET socket: %w", err)
		}
		sa := unix.RawSockaddrLinklayer{Family: unix.AF_PACKET, Protocol: htons(unix.ETH_P_IP), Ifindex: int32(ifc.Index)}
		f.name = unsafe.Slice((*byte)(unsafe.Pointer(&sa)), unix.SizeofSockaddrLinklayer)
	default:
		return fmt.Errorf("unknown flood socket %d", f.kind)
	}
	// A large send buffer keeps the sender from waiting on its own
	// packets while the device takes them.
	unix.SetsockoptInt(f.fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 8<<20)
	return nil
}

// Sent is how many packets the kernel has taken so far.
func (f *Flooder) Sent() uint64 { return f.sent.Load() }

// Close closes the socket.
func (f *Flooder) Close() error { return unix.Close(f.fd) }

// FloodStats say what a Run sent.
type FloodStats struct {
	Sent    uint64 // packets the kernel took
	Refused uint64 // packets the kernel refused (a header it could not read)
	Elapsed time.Duration
}

// Rate is the packets sent per second.
func (s FloodStats) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Sent) / s.Elapsed.Seconds()
}

// Run sends the packets that next builds for duration d, or until ctx
// ends, at rate() packets a second, asked again before every batch: as
// fast as it can while rate returns 0 (nil: always). next writes one IP
// packet into b and returns its length.
func (f *Flooder) Run(ctx context.Context, d time.Duration, rate func() int, next func(b []byte) int) (FloodStats, error) {
	var (
		bufs [floodBatch][2048]byte
		iovs [floodBatch]unix.Iovec
		msgs [floodBatch]mmsghdr
	)
	for i := range msgs {
		iovs[i].Base = &bufs[i][0]
		msgs[i].hdr.Name = &f.name[0]
		msgs[i].hdr.Namelen = uint32(len(f.name))
		msgs[i].hdr.Iov = &iovs[i]
		msgs[i].hdr.Iovlen = 1
	}
	batch := f.Batch
	if batch <= 0 || batch > floodBatch {
		batch = floodBatch
	}
	var st FloodStats
	start := time.Now()
	end := start.Add(d)
	// A token bucket paces a limited rate: it fills at the rate and
	// holds at most 50 ms of it, so that a sender woken late on a busy
	// machine makes up for it, and a long pause is not made up in one
	// burst.
	tokens, last := 0.0, start
	for {
		now := time.Now()
		if now.After(end) || ctx.Err() != nil {
			break
		}
		n := batch
		if rate != nil {
			if r := rate(); r > 0 {
				tokens = min(tokens+float64(r)*now.Sub(last).Seconds(), float64(r)/20)
				last = now
				if tokens < 1 {
					time.Sleep(time.Duration((1 - tokens) / float64(r) * float64(time.Second)))
					continue
				}
				n = min(n, int(tokens))
				tokens -= float64(n)
			}
		}
		for i := range n {
			iovs[i].SetLen(next(bufs[i][:]))
		}
		sent, refused, err := f.send(msgs[:n])
		f.sent.Add(sent)
		st.Sent += sent
		st.Refused += refused
		if err != nil {
			st.Elapsed = time.Since(start)
			return st, err
		}
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

// send sends msgs with as few sendmmsg calls as it can; a packet the
// kernel refuses is counted and skipped. Only a failure of the socket
// itself is an error.
func (f *Flooder) send(msgs []mmsghdr) (sent, refused uint64, err error) {
	for len(msgs) > 0 {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(f.fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), 0, 0, 0)
		switch {
		case errno == 0:
			sent += uint64(r)
			msgs = msgs[r:]
		case errno == unix.EINTR || errno == unix.ENOBUFS || errno == unix.EAGAIN:
			// Nothing went; try again.
		case errors.Is(errno, unix.EBADF), errors.Is(errno, unix.ENOTSOCK):
			return sent, refused, fmt.Errorf("rawpeer: sendmmsg: %w", errno)
		default:
			// The first message was refused (EINVAL for an unreadable
			// header, EMSGSIZE, ...): skip it.
			refused++
			msgs = msgs[1:]
		}
	}
	return sent, refused, nil
}

// mmsghdr is struct mmsghdr of sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}
