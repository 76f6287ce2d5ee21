package tundev

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.zx2c4.com/wireguard/tun"
)

// MinOffset is the least offset Write accepts: room in front of each packet
// for the 10-byte virtio-net header that the TUN's offloads use.
const MinOffset = 10

// Device is a TUN device and the kernel-side setup Open gave it.
//
// Reads and writes are batched. Pass Read BatchSize() buffers of at least
// 65535+offset bytes each: with the offloads on, the kernel may hand over
// one TCP or UDP super-packet of up to 64 KiB, which Read splits into MTU
// sized packets, one buffer each. Write may coalesce packets of one flow
// into one super-packet and so modifies the caller's buffers; it needs
// offset >= MinOffset.
//
// Read and Write may be called concurrently with each other and with
// Close, which makes a pending Read return an error matching os.ErrClosed.
type Device struct {
	tun   tun.Device
	name  string
	index int
	ns    *namespace

	mu      sync.Mutex      // guards netlink against Close
	netlink *netlink.Handle // in the device's namespace; nil once closed

	closed    atomic.Bool // set as Close starts
	closeOnce sync.Once
	closeErr  error

	// ringMu guards ring, which writes batches of small packets to the
	// TUN's descriptor tunFD with one system call (uring.go); nil if the
	// kernel has no io_uring, once it failed, and after Close.
	ringMu sync.Mutex
	ring   *writeRing
	tunFD  int
}

// Open creates the TUN device cfg describes, in cfg.NetNS (created if
// absent), with the kernel side's addresses and MTU set and the link up. It
// needs CAP_NET_ADMIN, and CAP_SYS_ADMIN for a namespace; without them it
// fails with ErrPermission. It fails with ErrDeviceBusy if the name is
// taken, with ErrRouteConflict if an address's prefix overlaps a route the
// namespace has, and with ErrNoTUN if the kernel has no TUN driver. When it fails it
// leaves nothing behind: no descriptor, device or namespace.
func Open(cfg Config) (dev *Device, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("opening TUN device: %w", err)
	}

	// undo holds the cleanups of what Open has made so far, run newest
	// first if Open fails.
	var undo []func() error
	defer func() {
		if err == nil {
			return
		}
		for i := len(undo) - 1; i >= 0; i-- {
			err = errors.Join(err, undo[i]())
		}
	}()

	ns, err := openNamespace(cfg.NetNS)
	if err != nil {
		return nil, err
	}
	undo = append(undo, ns.close)

	h, err := ns.netlinkHandle()
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() error { h.Close(); return nil })

	if err := checkNameFree(h, cfg.Name); err != nil {
		return nil, err
	}
	if err := checkRoutesFree(h, cfg.Addrs); err != nil {
		return nil, err
	}

	var td tun.Device
	err = ns.run(func() error {
		var err error
		td, err = createTUN(cfg.Name, cfg.MTU)
		return err
	})
	if err != nil {
		return nil, err
	}
	undo = append(undo, td.Close)

	link, err := h.LinkByName(cfg.Name)
	if err != nil {
		return nil, netlinkError("looking up the new device "+cfg.Name, err)
	}
	undo = append(undo, func() error { return removeLink(h, link.Attrs().Index) })

	if err := configureLink(h, link, cfg.Addrs, cfg.TxQueueLen); err != nil {
		return nil, err
	}
	if err := waitLocalRoutes(h, cfg.Name, cfg.Addrs); err != nil {
		return nil, err
	}
	if ns.created {
		if err := bringUpLoopback(h); err != nil {
			return nil, err
		}
	}
	d := &Device{
		tun:     td,
		name:    cfg.Name,
		index:   link.Attrs().Index,
		ns:      ns,
		netlink: h,
	}
	d.openRing()
	return d, nil
}

// openRing sets up the io_uring that writes batches of small packets. A
// kernel without io_uring (or with it turned off, kernel.io_uring_disabled)
// leaves the device writing packet by packet, as it does without.
func (d *Device) openRing() {
	raw, err := d.tun.File().SyscallConn()
	if err != nil {
		return
	}
	// Not File().Fd(), which would make the descriptor blocking.
	raw.Control(func(fd uintptr) { d.tunFD = int(fd) })
	if r, err := newWriteRing(ringBatch); err == nil {
		d.ring = r
	}
}

// Batches that Write hands to the io_uring: at least ringMinBatch packets,
// at most ringBatch at a time, none longer than ringMaxPacket. So short a
// packet carries headers and at most a few bytes of data, which
// wireguard-go's write path would not coalesce with its neighbours (its
// GRO merges segments of one flow into one super-packet, which a batch of
// data segments gains more from than from saving calls). A lone packet,
// an answer to a request, is written as before: one call either way.
const (
	ringMinBatch  = 4
	ringBatch     = 128
	ringMaxPacket = 128
)

// Read reads up to len(bufs) packets into bufs[i][offset:], sets sizes[i]
// to their lengths and returns how many it read. It blocks until at least
// one packet arrives or the device is closed.
func (d *Device) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	n, err := d.tun.Read(bufs, sizes, offset)
	if err != nil {
		return n, d.readError(err) // removed.go
	}
	return n, nil
}

// ReadChecksummed is Read that also reports whether the TCP and UDP
// checksums of the packets it returned were computed here, over the bytes
// returned, so that verifying them again is wasted work (the stack's
// ChecksummedReader).
//
// It says so when one read returned more than one packet. wireguard-go's
// Read makes one read(2) per call and returns more than one packet only
// when that read was a GSO super-packet, which it split into segments,
// writing each segment's transport checksum from the bytes it had just
// copied (tun.gsoSplit). The kernel hands a TUN a GSO packet only from
// its own stack (a local socket, whose bytes never crossed a wire) or
// forwarded after GRO, which merges only segments whose checksums were
// verified on the way in. A single packet may carry any checksum the
// sender wrote, so for it the answer is false.
func (d *Device) ReadChecksummed(bufs [][]byte, sizes []int, offset int) (n int, checksummed bool, err error) {
	n, err = d.Read(bufs, sizes, offset)
	return n, n > 1, err
}

// Write writes the packets bufs[i][offset:] and returns len(bufs). If it
// fails, some of the packets may have been written all the same.
func (d *Device) Write(bufs [][]byte, offset int) (int, error) {
	if offset < MinOffset {
		return 0, fmt.Errorf("writing to %s: offset %d < %d: %w", d.name, offset, MinOffset, ErrOffsetTooSmall)
	}
	if len(bufs) >= ringMinBatch && smallPackets(bufs, offset) {
		if n, err, ok := d.writeRing(bufs, offset); ok {
			return n, err
		}
	}
	if _, err := d.tun.Write(bufs, offset); err != nil {
		return 0, err
	}
	return len(bufs), nil
}

// smallPackets reports whether no packet of bufs is longer than
// ringMaxPacket.
func smallPackets(bufs [][]byte, offset int) bool {
	for _, b := range bufs {
		if len(b)-offset > ringMaxPacket {
			return false
		}
	}
	return true
}

// writeRing writes bufs through the io_uring, each after a virtio-net
// header that asks nothing of the kernel (no checksum to complete, no
// segmentation), in chunks of ringBatch. ok is false if the device has no
// ring; then nothing was written.
func (d *Device) writeRing(bufs [][]byte, offset int) (n int, err error, ok bool) {
	d.ringMu.Lock()
	defer d.ringMu.Unlock()
	if d.ring == nil {
		return 0, nil, false
	}
	var pkts [ringBatch][]byte
	for len(bufs) > 0 {
		chunk := bufs[:min(len(bufs), ringBatch)]
		bufs = bufs[len(chunk):]
		for i, b := range chunk {
			hdr := b[offset-MinOffset:]
			clear(hdr[:MinOffset])
			pkts[i] = hdr
		}
		written, werr := d.ring.write(d.tunFD, pkts[:len(chunk)])
		clear(pkts[:len(chunk)])
		n += written
		if errors.Is(werr, errRingBroken) {
			d.ring.close()
			d.ring = nil
		}
		if werr != nil {
			if errors.Is(werr, syscall.EBADFD) {
				werr = os.ErrClosed
			}
			return n, fmt.Errorf("writing to %s: %w", d.name, werr), true
		}
	}
	return n, nil, true
}

// BatchSize is the most packets one Read returns and one Write should
// carry.
func (d *Device) BatchSize() int { return d.tun.BatchSize() }

// MTU returns the link's current MTU, as the kernel sees it.
func (d *Device) MTU() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.netlink == nil {
		return 0, os.ErrClosed
	}
	// Not d.tun.MTU: it looks the name up in the caller's namespace.
	link, err := d.netlink.LinkByIndex(d.index)
	if err != nil {
		return 0, netlinkError("reading the MTU of "+d.name, err)
	}
	return link.Attrs().MTU, nil
}

// Name is the interface name.
func (d *Device) Name() string { return d.name }

// NetNS is the name of the network namespace the device lives in, "" for
// the namespace Open was called in.
func (d *Device) NetNS() string { return d.ns.name }

// Close removes the device, and the namespace if Open created it. A pending
// Read returns an error matching os.ErrClosed. Calling Close again returns
// what the first call returned.
func (d *Device) Close() error {
	d.closeOnce.Do(func() {
		d.closed.Store(true)
		d.mu.Lock()
		h := d.netlink
		d.netlink = nil
		d.mu.Unlock()

		d.ringMu.Lock()
		var err error
		if d.ring != nil {
			err = d.ring.close()
			d.ring = nil
		}
		d.ringMu.Unlock()

		err = errors.Join(err, closeTUN(d.tun))
		err = errors.Join(err, removeLink(h, d.index))
		h.Close()
		d.closeErr = errors.Join(err, d.ns.close())
	})
	return d.closeErr
}

// closeTUN closes wireguard-go's device. Its Close races with its own
// netlink listener: when a link message arrives after Close began, the
// listener exits and closes the cancel pipe that Close then writes to,
// and Close reports that write's os.ErrClosed (and not the TUN file's
// result, although it closed the file). The device is closed either way,
// so an ErrClosed here is not a failure of ours.
func closeTUN(t tun.Device) error {
	if err := t.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}
