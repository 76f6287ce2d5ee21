package tundev

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A TUN device takes one packet per write(2), and on a machine where a
// system call costs more than the kernel's work on a small packet (a VM
// with page-table isolation: about 1.3 µs a call here), writing a batch of
// small packets costs mostly the calls. writeRing writes a batch with one
// call: each packet is a write request on an io_uring (io_uring_setup(2)),
// and one io_uring_enter(2) submits them all and waits for them. A SYN
// flood's cookie SYN-ACKs, 32 to a batch, are what it is for
// (Device.Write says which batches take it).
//
// Only what that needs is here: a submission ring of write requests and
// the completion ring, mapped once, used by one writer at a time.

// io_uring's ABI (include/uapi/linux/io_uring.h).
const (
	ioringOpWrite        = 23
	ioringEnterGetEvents = 1
	ioringFeatSingleMmap = 1 << 0
	ioringOffSQRing      = 0
	ioringOffSQEs        = 0x10000000
)

type ioSQRingOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type ioCQRingOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type ioUringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  ioSQRingOffsets
	cqOff                                                                  ioCQRingOffsets
}

// ioUringSQE is a submission queue entry, 64 bytes.
type ioUringSQE struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	rwFlags     uint32
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFDIn  int32
	addr3       uint64
	_           uint64
}

// ioUringCQE is a completion queue entry, 16 bytes.
type ioUringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// writeRing is an io_uring set up for batches of writes to one file.
type writeRing struct {
	fd      int
	rings   []byte // the SQ and CQ rings, one mapping (IORING_FEAT_SINGLE_MMAP)
	sqeMem  []byte
	sqes    []ioUringSQE
	sqTail  *uint32
	sqMask  uint32
	sqArray []uint32
	cqHead  *uint32
	cqTail  *uint32
	cqMask  uint32
	cqes    []ioUringCQE
	entries int
}

// errRingUnsupported: the kernel has no io_uring, or one without a
// feature the ring needs; the device then writes packet by packet.
var errRingUnsupported = errors.New("io_uring unsupported")

// errRingBroken: the ring failed and must be closed; the device then
// writes packet by packet.
var errRingBroken = errors.New("io_uring broken")

// newWriteRing sets up a ring for batches of up to entries writes.
func newWriteRing(entries int) (*writeRing, error) {
	var p ioUringParams
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w (%w)", errno, errRingUnsupported)
	}
	r := &writeRing{fd: int(fd), entries: int(p.sqEntries)}
	if p.features&ioringFeatSingleMmap == 0 {
		r.close()
		return nil, fmt.Errorf("io_uring without IORING_FEAT_SINGLE_MMAP: %w", errRingUnsupported)
	}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(ioUringCQE{})))
	var err error
	if r.rings, err = unix.Mmap(r.fd, ioringOffSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.close()
		return nil, fmt.Errorf("mapping the io_uring: %w", err)
	}
	sqeSize := int(p.sqEntries) * int(unsafe.Sizeof(ioUringSQE{}))
	if r.sqeMem, err = unix.Mmap(r.fd, ioringOffSQEs, sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.close()
		return nil, fmt.Errorf("mapping the io_uring's entries: %w", err)
	}
	at := func(off uint32) unsafe.Pointer { return unsafe.Pointer(&r.rings[off]) }
	r.sqes = unsafe.Slice((*ioUringSQE)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.sqTail = (*uint32)(at(p.sqOff.tail))
	r.sqMask = *(*uint32)(at(p.sqOff.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(at(p.sqOff.array)), p.sqEntries)
	r.cqHead = (*uint32)(at(p.cqOff.head))
	r.cqTail = (*uint32)(at(p.cqOff.tail))
	r.cqMask = *(*uint32)(at(p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*ioUringCQE)(at(p.cqOff.cqes)), p.cqEntries)
	return r, nil
}

// write writes each of bufs to file descriptor fd with one write request
// each, submitted together, and returns when all have completed: how many
// succeeded, and the error of the first that failed. Requests are issued
// in order; a TUN device takes each at once (it never blocks a writer),
// so they also complete in order. len(bufs) must not exceed the ring's
// entries.
func (r *writeRing) write(fd int, bufs [][]byte) (int, error) {
	tail := *r.sqTail // the kernel only reads it; we are the only writer
	for i, b := range bufs {
		idx := tail & r.sqMask
		r.sqes[idx] = ioUringSQE{
			opcode:   ioringOpWrite,
			fd:       int32(fd),
			off:      ^uint64(0), // the file's position: a TUN device has none
			addr:     uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))),
			len:      uint32(len(b)),
			userData: uint64(i),
		}
		r.sqArray[idx] = idx
		tail++
	}
	atomic.StoreUint32(r.sqTail, tail)

	var (
		firstErr  error
		written   int
		submitted int
		completed int
	)
	for completed < len(bufs) {
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd),
			uintptr(len(bufs)-submitted), uintptr(len(bufs)-completed), ioringEnterGetEvents, 0, 0)
		switch errno {
		case 0:
			submitted += int(n)
		case unix.EINTR, unix.EAGAIN, unix.EBUSY:
			// Nothing lost: try again, collecting what completed.
		default:
			// The ring itself failed. Requests it has not taken stay in
			// its queue, pointing at the caller's buffers: it must not be
			// entered again.
			return written, errors.Join(firstErr, fmt.Errorf("io_uring_enter: %w (%w)", errno, errRingBroken))
		}
		head := *r.cqHead
		for ctail := atomic.LoadUint32(r.cqTail); head != ctail; head++ {
			cqe := &r.cqes[head&r.cqMask]
			completed++
			if cqe.res < 0 {
				if firstErr == nil {
					firstErr = fmt.Errorf("writing packet %d of %d: %w", cqe.userData, len(bufs), syscall.Errno(-cqe.res))
				}
			} else {
				written++
			}
		}
		atomic.StoreUint32(r.cqHead, head)
	}
	runtime.KeepAlive(bufs)
	return written, firstErr
}

// close unmaps the rings and closes the ring's descriptor.
func (r *writeRing) close() error {
	var err error
	if r.sqeMem != nil {
		err = unix.Munmap(r.sqeMem)
	}
	if r.rings != nil {
		err = errors.Join(err, unix.Munmap(r.rings))
	}
	return errors.Join(err, unix.Close(r.fd))
}
