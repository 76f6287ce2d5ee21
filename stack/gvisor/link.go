package gvisor

import (
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"

	"github.com/tunstack/tunstack/stack"
)

// maxPacket is the largest IP packet a length field allows; read buffers
// hold one each, and write buffers have that much room so that the TUN
// device may coalesce packets of one flow into one (its GRO).
const maxPacket = 65535

// maxReadFailures is how many Read errors in a row end the reader, as in
// the native stack's loop.
const maxReadFailures = 100

// linkEndpoint is gVisor's view of a stack.Link: a NIC without link-layer
// headers (a TUN carries bare IP packets) and without neighbor resolution.
//
// Inbound, one reader goroutine reads batches from the link and delivers
// each packet to gVisor on that goroutine. Outbound, gVisor calls
// WritePackets from its TCP processors and endpoints, concurrently; the
// first caller to find no write in progress becomes the writer and keeps
// writing until nothing waits, so packets queued meanwhile by others leave
// in the same batch (one link Write per batch) without a writer goroutine
// and without delaying a lone packet.
type linkEndpoint struct {
	link stack.Link
	mtu  atomic.Uint32
	log  *slog.Logger

	dispatcherMu sync.RWMutex
	dispatcher   gstack.NetworkDispatcher

	writeMu sync.Mutex
	pending [][]byte // serialized packets waiting for the writer
	spare   [][]byte // the writer's previous batch, reused as pending
	free    [][]byte // buffers to serialize into
	writing bool     // a caller is writing: others only queue

	packetsIn, packetsOut atomic.Uint64
	bytesIn, bytesOut     atomic.Uint64
	readErrors            atomic.Uint64
	writeErrors           atomic.Uint64 // packets the link refused
	unknownProtocol       atomic.Uint64
	notOurAddress         atomic.Uint64 // to others, neither TCP nor UDP: foreign.go

	// The gateway's NIC (foreign.go): set before the reader starts, used
	// once foreign is true.
	own        []netip.Addr // the stack's addresses
	foreignNIC *foreignNIC
	foreign    atomic.Bool
}

var _ gstack.LinkEndpoint = (*linkEndpoint)(nil)

func newLinkEndpoint(link stack.Link, mtu int, log *slog.Logger) *linkEndpoint {
	e := &linkEndpoint{link: link, log: log}
	e.mtu.Store(uint32(mtu))
	return e
}

// readLoop reads batches from the link and delivers them until the link
// fails: a closed link, or maxReadFailures errors in a row. It returns the
// error that ended it.
func (e *linkEndpoint) readLoop() error {
	batch := max(e.link.BatchSize(), 1)
	bufs := make([][]byte, batch)
	sizes := make([]int, batch)
	for i := range bufs {
		bufs[i] = make([]byte, stack.Headroom+maxPacket)
	}
	failures := 0
	for {
		n, err := e.link.Read(bufs, sizes, stack.Headroom)
		for i := range n {
			e.deliver(bufs[i][stack.Headroom : stack.Headroom+sizes[i]])
		}
		switch {
		case err == nil:
			failures = 0
		case linkClosed(err) || failures >= maxReadFailures:
			return err
		default:
			failures++
			e.readErrors.Add(1)
			e.log.Warn("link read", "err", err)
		}
	}
}

// deliver hands one IP packet to gVisor, which copies it.
func (e *linkEndpoint) deliver(packet []byte) {
	e.packetsIn.Add(1)
	e.bytesIn.Add(uint64(len(packet)))
	var proto tcpip.NetworkProtocolNumber
	switch header.IPVersion(packet) {
	case header.IPv4Version:
		proto = header.IPv4ProtocolNumber
	case header.IPv6Version:
		proto = header.IPv6ProtocolNumber
	default:
		e.unknownProtocol.Add(1)
		return
	}
	var d gstack.NetworkDispatcher
	if e.foreign.Load() && e.toOthers(packet) {
		if !relayable(packet) {
			e.notOurAddress.Add(1)
			return
		}
		d = e.foreignNIC.getDispatcher()
	} else {
		e.dispatcherMu.RLock()
		d = e.dispatcher
		e.dispatcherMu.RUnlock()
	}
	if d == nil {
		return
	}
	pkt := gstack.NewPacketBuffer(gstack.PacketBufferOptions{Payload: buffer.MakeWithData(packet)})
	d.DeliverNetworkPacket(proto, pkt)
	pkt.DecRef()
}

// WritePackets serializes the packets into the pending batch and, unless
// another caller is writing already, writes batches until none is pending.
func (e *linkEndpoint) WritePackets(pkts gstack.PacketBufferList) (int, tcpip.Error) {
	e.writeMu.Lock()
	for _, pkt := range pkts.AsSlice() {
		buf := e.takeBuffer()
		n := copyPacket(buf[stack.Headroom:], pkt)
		e.pending = append(e.pending, buf[:stack.Headroom+n])
	}
	count := pkts.Len()
	if e.writing {
		e.writeMu.Unlock()
		return count, nil
	}
	e.writing = true
	for len(e.pending) > 0 {
		batch := e.pending
		e.pending = e.spare[:0]
		e.writeMu.Unlock()
		if _, err := e.link.Write(batch, stack.Headroom); err != nil {
			e.writeErrors.Add(uint64(len(batch)))
			e.log.Debug("link write", "packets", len(batch), "err", err)
		} else {
			e.packetsOut.Add(uint64(len(batch)))
			for _, b := range batch {
				e.bytesOut.Add(uint64(len(b) - stack.Headroom))
			}
		}
		e.writeMu.Lock()
		for i, b := range batch {
			e.free = append(e.free, b[:cap(b)])
			batch[i] = nil
		}
		e.spare = batch[:0]
	}
	e.writing = false
	e.writeMu.Unlock()
	return count, nil
}

// takeBuffer returns a buffer of Headroom+maxPacket bytes; writeMu held.
func (e *linkEndpoint) takeBuffer() []byte {
	if n := len(e.free); n > 0 {
		b := e.free[n-1]
		e.free = e.free[:n-1]
		return b
	}
	return make([]byte, stack.Headroom+maxPacket)
}

// copyPacket copies pkt's bytes, headers first, into dst and returns how
// many it copied, without the allocations of pkt.AsSlices.
func copyPacket(dst []byte, pkt *gstack.PacketBuffer) int {
	views, offset := pkt.AsViewList()
	n := 0
	for v := views.Front(); v != nil; v = v.Next() {
		b := v.AsSlice()
		if offset >= len(b) {
			offset -= len(b)
			continue
		}
		n += copy(dst[n:], b[offset:])
		offset = 0
	}
	return n
}

// MTU implements gstack.LinkEndpoint.
func (e *linkEndpoint) MTU() uint32 { return e.mtu.Load() }

// SetMTU implements gstack.LinkEndpoint.
func (e *linkEndpoint) SetMTU(mtu uint32) { e.mtu.Store(mtu) }

// MaxHeaderLength implements gstack.LinkEndpoint: a TUN has no link header.
func (*linkEndpoint) MaxHeaderLength() uint16 { return 0 }

// LinkAddress implements gstack.LinkEndpoint: a TUN has no link address.
func (*linkEndpoint) LinkAddress() tcpip.LinkAddress { return "" }

// SetLinkAddress implements gstack.LinkEndpoint.
func (*linkEndpoint) SetLinkAddress(tcpip.LinkAddress) {}

// Capabilities implements gstack.LinkEndpoint. None: gVisor verifies and
// computes checksums itself, as the native stack does.
func (*linkEndpoint) Capabilities() gstack.LinkEndpointCapabilities { return 0 }

// Attach implements gstack.LinkEndpoint.
func (e *linkEndpoint) Attach(d gstack.NetworkDispatcher) {
	e.dispatcherMu.Lock()
	e.dispatcher = d
	e.dispatcherMu.Unlock()
}

// IsAttached implements gstack.LinkEndpoint.
func (e *linkEndpoint) IsAttached() bool {
	e.dispatcherMu.RLock()
	defer e.dispatcherMu.RUnlock()
	return e.dispatcher != nil
}

// Wait implements gstack.LinkEndpoint. The reader belongs to Run, which
// ends it by its own means; nothing to wait for here.
func (*linkEndpoint) Wait() {}

// ARPHardwareType implements gstack.LinkEndpoint.
func (*linkEndpoint) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareNone }

// AddHeader implements gstack.LinkEndpoint: no link header to add.
func (*linkEndpoint) AddHeader(*gstack.PacketBuffer) {}

// ParseHeader implements gstack.LinkEndpoint: no link header to parse.
func (*linkEndpoint) ParseHeader(*gstack.PacketBuffer) bool { return true }

// Close implements gstack.LinkEndpoint. The link is the caller's to close.
func (*linkEndpoint) Close() {}

// SetOnCloseAction implements gstack.LinkEndpoint.
func (*linkEndpoint) SetOnCloseAction(func()) {}

// errLinkFailed is what Run returns, wrapped, when the reader stops.
var errLinkFailed = errors.New("link read")
