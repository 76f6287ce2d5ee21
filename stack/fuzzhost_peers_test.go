package stack

import (
	"errors"
	"net/netip"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// fuzzFlow is a peer's side of one 4-tuple.
type fuzzFlow struct {
	id       tcp.ID  // from the stack's side
	peerSeq  tcp.Seq // the peer's next sequence number
	stackNxt tcp.Seq // the end of the highest segment the stack sent
	known    bool    // stackNxt is known: the stack sent a SYN
	tsOn     bool    // the peer's SYN carried timestamps
	tsVal    uint32  // the peer's next TSval
	tsEcr    uint32  // the stack's last TSval
}

func (h *fuzzHost) addFlow(id tcp.ID) *fuzzFlow {
	f := &fuzzFlow{id: id, peerSeq: tcp.Seq(1_000_000 * (len(h.flows) + 1)), tsVal: 1000}
	h.flows = append(h.flows, f)
	h.flowByID[id] = f
	return f
}

// flow picks a flow by a byte of the input.
func (h *fuzzHost) flow(b byte) *fuzzFlow { return h.flows[int(b)%len(h.flows)] }

func synOptions(f *fuzzFlow) tcp.Options {
	f.tsOn = true
	f.tsVal++
	return tcp.Options{MSS: 1460, HasWindowScale: true, WindowScale: 7, SACKPermitted: true,
		HasTimestamps: true, TSVal: f.tsVal}
}

// tsOptions are the options of a segment after the handshake.
func (h *fuzzHost) tsOptions(f *fuzzFlow) tcp.Options {
	if !f.tsOn {
		return tcp.Options{}
	}
	f.tsVal++
	return tcp.Options{HasTimestamps: true, TSVal: f.tsVal, TSEcr: f.tsEcr}
}

// sendSegment sends a segment of the flow's peer as one step; the peer's
// sequence number moves on if seq was its next one.
func (h *fuzzHost) sendSegment(f *fuzzFlow, flags tcp.Flags, seq, ack tcp.Seq, window uint16, opts tcp.Options, payload []byte) {
	h.packet(h.buildSegment(f, flags, seq, ack, window, opts, payload))
	h.flushBatch()
}

// buildSegment makes the IP packet of a segment from the flow's peer; a
// segment at the peer's next sequence number moves it on.
func (h *fuzzHost) buildSegment(f *fuzzFlow, flags tcp.Flags, seq, ack tcp.Seq, window uint16, opts tcp.Options, payload []byte) []byte {
	seg := tcp.Segment{SrcPort: f.id.Remote.Port(), DstPort: f.id.Local.Port(), Seq: seq, Ack: ack,
		Flags: flags, Window: window, Options: opts, Payload: payload}
	buf := make([]byte, 60+60+len(payload))
	n, err := wire.BuildTCP(buf, f.id.Remote.Addr(), f.id.Local.Addr(), &seg, 64)
	if err != nil {
		h.t.Fatalf("BuildTCP: %v", err)
	}
	if seq == f.peerSeq {
		f.peerSeq = seg.End()
		if flags.Has(tcp.FlagSYN) {
			f.tsOn = opts.HasTimestamps
		}
	}
	return buf[:n]
}

// readOutput checks every packet the stack wrote and lets the peer model
// learn the stack's sequence numbers and timestamps from them.
func (h *fuzzHost) readOutput() {
	for _, pkt := range h.link.out {
		if mtu, _ := h.link.MTU(); len(pkt) > mtu {
			h.fail("the stack sent a packet of %d bytes, over the link's MTU of %d", len(pkt), mtu)
		}
		p, err := wire.ParseIP(pkt)
		if errors.Is(err, wire.ErrFragment) {
			// Fragments of a large echo reply (RFC 1122 §3.2.2.6).
			f, err := wire.ParseFragment(pkt)
			if err != nil || !h.s.isLocal(f.Src) || martianDestination(f.Dst) != "" {
				h.fail("the stack sent a bad fragment (%v) from %v to %v: % x", err, f.Src, f.Dst, pkt)
			}
			continue
		}
		if err != nil {
			h.fail("the stack sent a malformed packet (%v): % x", err, pkt)
		}
		if !h.s.isLocal(p.Src) {
			h.fail("the stack sent a packet from %v, not its own address", p.Src)
		}
		if why := martianDestination(p.Dst); why != "" {
			h.fail("the stack sent a packet to %v, a %s address", p.Dst, why)
		}
		switch p.Protocol {
		case wire.ProtoTCP:
			var seg tcp.Segment
			if err := wire.ParseTCP(&p, &seg); err != nil {
				h.fail("the stack sent a bad TCP segment (%v): % x", err, pkt)
			}
			h.learn(tcp.ID{Local: netip.AddrPortFrom(p.Src, seg.SrcPort), Remote: netip.AddrPortFrom(p.Dst, seg.DstPort)}, &seg)
		case wire.ProtoICMPv4, wire.ProtoICMPv6:
			var m wire.ICMP
			if err := wire.ParseICMP(&p, &m); err != nil {
				h.fail("the stack sent a bad ICMP message (%v): % x", err, pkt)
			}
		default:
			h.fail("the stack sent protocol %d", p.Protocol)
		}
	}
	clear(h.link.out)
	h.link.out = h.link.out[:0]
}

// learn updates the peer model with a segment the stack sent.
func (h *fuzzHost) learn(id tcp.ID, seg *tcp.Segment) {
	f := h.flowByID[id]
	if f == nil {
		if !seg.Flags.Has(tcp.FlagSYN) || seg.Flags.Has(tcp.FlagACK) {
			return // a RST or challenge ACK to a source the input made up
		}
		f = h.addFlow(id) // the stack dialed
	}
	switch {
	case seg.Flags.Has(tcp.FlagSYN):
		f.stackNxt, f.known = seg.End(), true
	case f.known && seg.End().GreaterThan(f.stackNxt):
		f.stackNxt = seg.End()
	}
	if seg.Options.HasTimestamps {
		f.tsEcr = seg.Options.TSVal
	}
}

// martianDestination says why no packet may go to a, or "".
func martianDestination(a netip.Addr) string {
	switch {
	case !a.IsValid(), a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsMulticast():
		return "multicast"
	case a == limitedBroadcast:
		return "broadcast"
	case a.Is4() && a.As4()[0] >= 240:
		return "class E"
	case a.Is4In6():
		return "IPv4-mapped"
	}
	return ""
}
