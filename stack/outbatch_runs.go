package stack

import (
	"net/netip"

	"github.com/tunstack/tunstack/stack/tcp"
)

// runTracker decides which data segments of a batch get a large buffer.
// The link's GRO (wireguard-go's, on a TUN with offloads) coalesces
// consecutive segments of one flow into the buffer of the first, up to
// its capacity; the engine sends a connection's segments one after
// another, so a run of one flow's segments is what it coalesces. Only the
// run's first segment needs the room of a large buffer, and only while
// the batch has fewer than maxRunHeads of them: a bulk transfer needs
// three per batch of 128, and many connections sending one segment each
// need none.
type runTracker struct {
	src, dst     netip.Addr
	sport, dport uint16
	room         int  // payload the run's first buffer can still take
	heads        int  // large buffers given in this batch
	medium       bool // the segment being added gets a medium buffer
	pushed       bool // the run's last segment had PSH: GRO ends the run there
}

// maxRunHeads bounds the large buffers of a batch: 1 MiB of them.
const maxRunHeads = 16

// mediumPacket is the largest packet, headers included, that gets a
// medium buffer: a full segment on an Ethernet-sized link. Larger
// segments take large buffers.
const mediumPacket = 2048

// add notes a data segment of need bytes about to be built and decides
// its buffer: medium if it joins the run of the segment before it, large
// if it starts a run and the batch may have one more.
func (r *runTracker) add(src, dst netip.Addr, seg *tcp.Segment, need, large int) {
	payload := len(seg.Payload)
	switch {
	case src == r.src && dst == r.dst && seg.SrcPort == r.sport && seg.DstPort == r.dport && payload <= r.room && !r.pushed:
		r.room -= payload
		r.medium = true
	case r.heads < maxRunHeads:
		r.heads++
		r.src, r.dst, r.sport, r.dport = src, dst, seg.SrcPort, seg.DstPort
		r.room = large - Headroom - need
		r.medium = false
	default:
		*r = runTracker{heads: r.heads, medium: true}
	}
	r.pushed = seg.Flags.Has(tcp.FlagPSH)
}
