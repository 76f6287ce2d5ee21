package stack

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
)

// FuzzStackSession plays peers over the host's flows: the input is a
// list of steps (fuzzStep), each of which sends a packet, lets time pass
// or has an application act. Segments carry the sequence numbers the peer
// model has learnt, more or less what the input says, so they are
// accepted as often as a fuzzer needs.
func FuzzStackSession(f *testing.F) {
	f.Add([]byte{1, 0, 0x18, 0, 0xff, 8, 5, 'h', 'e', 'l', 'l', 'o', 4, 0x45})
	f.Add([]byte{1, 4, 0x02, 0, 0xff, 0x1f, 0, 1, 4, 0x10, 0, 0xff, 8, 0, 4, 0x80})
	f.Add([]byte{1, 6, 0x02, 0, 0xff, 0x1f, 0, 1, 6, 0x10, 0, 0xff, 8, 0, 1, 6, 0x18, 0x10, 0xff, 8, 10, 4, 0xa0})
	f.Add([]byte{6, 0, 4, 0x01, 1, 20, 0x12, 0, 0xff, 0x1f, 0, 4, 0x30})
	f.Add([]byte{5, 0, 0, 4, 0x60, 1, 0, 0x11, 0, 0xff, 8, 0, 4, 0xe0})
	f.Add([]byte{3, 0, 1, 4, 0, 0x02, 0x40, 3, 1, 9, 1, 4, 0x40})
	f.Add([]byte{7, 1, 0, 0x18, 1, 0xff, 8, 3, 'a', 'b', 'c', 1, 0, 0x18, 0, 0xff, 8, 3, 'd', 'e', 'f', 7, 4, 0x44})
	f.Add([]byte{2, 0, 0x18, 0, 0xff, 8, 2, 'h', 'i', 2, 9, 0x45, 1, 0, 4, 0x30})
	f.Add([]byte{0, 8, 0x45, 0, 0, 8, 0, 0, 0, 0})
	// Five SYNs to port 80: the fifth gets a SYN cookie (its listen queue
	// holds four), whose ACK and data follow.
	f.Add([]byte{1, 6, 2, 0, 0xff, 8, 0, 1, 7, 2, 0, 0xff, 8, 0, 1, 12, 2, 0, 0xff, 8, 0, 1, 13, 2, 0, 0xff, 8, 0,
		1, 16, 2, 0, 0xff, 8, 0, 1, 16, 0x10, 0, 0xff, 8, 0, 1, 16, 0x18, 0, 0xff, 8, 2, 'h', 'i', 4, 0x45})
	f.Fuzz(func(t *testing.T, in []byte) {
		defer testkit.HangWatchdog(fuzzHangLimit)()
		h := newFuzzHost(t)
		r := fuzzReader{b: in}
		for !r.done() {
			h.fuzzStep(&r)
		}
		h.drain()
	})
}

// fuzzReader hands out the input's bytes; past the end, zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) done() bool { return len(r.b) == 0 }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	b := r.b[0]
	r.b = r.b[1:]
	return b
}

func (r *fuzzReader) uint16() uint16 { return uint16(r.byte())<<8 | uint16(r.byte()) }

func (r *fuzzReader) uint32() uint32 { return uint32(r.uint16())<<16 | uint32(r.uint16()) }

func (r *fuzzReader) take(n int) []byte {
	n = min(n, len(r.b))
	p := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return p
}

// fuzzStep runs one step of a session: an opcode, then its operands.
//
//	0 raw packet: length, bytes
//	1 segment: flow, flags, how (fuzzSegment), window, options, payload
//	2 a segment as 1, then bytes changed: count, (offset, value)..., and
//	  its checksums fixed if the last byte's bit 0 says so
//	3 ICMP: flow, kind, how far back the quoted sequence number is, MTU
//	4 time passes: fuzzDuration of a byte
//	5 an application acts on a flow's connection: flow, action
//	6 the stack dials a peer: which
//	7 batching on or off: packets until the next 7 go in as one read
func (h *fuzzHost) fuzzStep(r *fuzzReader) {
	switch op := r.byte(); op % 8 {
	case 0:
		h.packet(r.take(int(r.byte())))
	case 1:
		h.packet(h.fuzzSegment(r))
	case 2:
		p := h.fuzzSegment(r)
		edits := int(r.byte()%4) + 1
		for range edits {
			off := int(r.byte()) % len(p)
			p[off] = r.byte()
		}
		if r.byte()&1 != 0 {
			testkit.FixChecksums(p)
		}
		h.packet(p)
	case 3:
		h.packet(h.fuzzICMP(r))
	case 4:
		h.advance(fuzzDuration(r.byte()))
	case 5:
		h.appAction(h.flow(r.byte()), r.byte())
	case 6:
		which := r.byte()
		addr := peerAddr4
		if which&1 != 0 {
			addr = peerAddr6
		}
		h.dial(netip.AddrPortFrom(addr, fuzzDialPort+uint16(which>>1&1)))
	case 7:
		h.flushBatch()
		h.batched = !h.batched
	}
}

// fuzzSegment builds a segment from a flow's peer. The "how" byte picks
// the sequence number (bits 0-1: the peer's next, near it, far from it,
// any) and the acknowledgment number (bits 2-3: what the stack sent last,
// near it, behind it, any); bit 4 makes the payload a pattern of 8 octets
// per unit of its length byte (up to a full segment) instead of bytes of
// the input.
func (h *fuzzHost) fuzzSegment(r *fuzzReader) []byte {
	f := h.flow(r.byte())
	flags := tcp.Flags(r.byte() & 0x3f)
	how := r.byte()
	seq := f.peerSeq
	switch how & 3 {
	case 1:
		seq = seq.Add(uint32(int32(int8(r.byte()))))
	case 2:
		seq = seq.Add(uint32(int32(int16(r.uint16())) * 1000))
	case 3:
		seq = tcp.Seq(r.uint32())
	}
	ack := f.stackNxt
	switch how >> 2 & 3 {
	case 1:
		ack = ack.Add(uint32(int32(int8(r.byte()))))
	case 2:
		ack = ack.Add(-uint32(r.uint16()))
	case 3:
		ack = tcp.Seq(r.uint32())
	}
	w := r.byte()
	window := uint16(w)<<8 | uint16(w)
	opts := h.fuzzSegmentOptions(f, r.byte(), r)
	n := int(r.byte())
	var payload []byte
	if how&16 != 0 {
		payload = make([]byte, min(8*n, 1400))
		for i := range payload {
			payload[i] = byte(i)
		}
	} else {
		payload = r.take(n % 64)
	}
	return h.buildSegment(f, flags, seq, ack, window, opts, payload)
}

// fuzzSegmentOptions turns a byte into options: bit 0 MSS, 1 window
// scale, 2 SACK-permitted, 3 timestamps (which the flow's segments carry
// anyway once its SYN did, unless bit 5), 4 a SACK block, 6 an old TSval.
func (h *fuzzHost) fuzzSegmentOptions(f *fuzzFlow, bits byte, r *fuzzReader) tcp.Options {
	var o tcp.Options
	if bits&1 != 0 {
		o.MSS = r.uint16()
	}
	if bits&2 != 0 {
		o.HasWindowScale, o.WindowScale = true, r.byte()%16
	}
	o.SACKPermitted = bits&4 != 0
	if bits&8 != 0 || f.tsOn && bits&32 == 0 {
		f.tsVal++
		o.HasTimestamps, o.TSVal, o.TSEcr = true, f.tsVal, f.tsEcr
		if bits&64 != 0 {
			o.TSVal -= 1 << 31 // PAWS: older than TS.Recent
		}
	}
	if bits&16 != 0 {
		left := f.stackNxt.Add(-uint32(r.uint16()))
		o.SACK[0] = tcp.SACKBlock{Left: left, Right: left.Add(uint32(r.uint16()))}
		o.NumSACK = 1
	}
	return o
}

// fuzzICMP builds an ICMP message to the stack: an echo request, or an
// error quoting a segment the stack sent on a flow (with its sequence
// number some way behind what the stack sent last), from the peer or
// from a router on the way.
func (h *fuzzHost) fuzzICMP(r *fuzzReader) []byte {
	f := h.flow(r.byte())
	kind := r.byte()
	seq := f.stackNxt.Add(-uint32(r.uint16()))
	mtu := r.uint16()
	v4 := f.id.Local.Addr().Is4()
	full := kind&0x80 != 0
	switch kind & 7 {
	case 0:
		return testkit.EchoRequest(f.id.Remote.Addr(), f.id.Local.Addr(), 1, uint16(kind), []byte("fuzz"))
	case 1:
		if v4 {
			return quotingError(f, wire.ICMPv4Unreachable, wire.ICMPv4FragmentationNeeded, mtu, seq, full)
		}
		return quotingError(f, wire.ICMPv6PacketTooBig, 0, mtu, seq, full)
	case 2:
		if v4 {
			return quotingError(f, wire.ICMPv4TimeExceeded, 0, 0, seq, full)
		}
		return quotingError(f, wire.ICMPv6TimeExceeded, 0, 0, seq, full)
	default:
		if v4 {
			return quotingError(f, wire.ICMPv4Unreachable, kind>>3&15, 0, seq, full)
		}
		return quotingError(f, wire.ICMPv6Unreachable, kind>>3&7, 0, seq, full)
	}
}

// quotingError builds an ICMP error from f's peer quoting a segment
// the stack sent on f with sequence number seq: its IP header and the
// first 8 octets of TCP, or the whole header if full.
func quotingError(f *fuzzFlow, typ, code uint8, mtu uint16, seq tcp.Seq, full bool) []byte {
	quoted := make([]byte, 120)
	seg := tcp.Segment{SrcPort: f.id.Local.Port(), DstPort: f.id.Remote.Port(), Seq: seq, Flags: tcp.FlagACK, Window: 1000}
	n, _ := wire.BuildTCP(quoted, f.id.Local.Addr(), f.id.Remote.Addr(), &seg, 64)
	if !full {
		n -= 12
	}
	return testkit.ICMPPacket(f.id.Remote.Addr(), f.id.Local.Addr(), typ, code, uint32(mtu), quoted[:n])
}

// appAction has the application of a flow's connection act: close,
// half-close, stop reading, write a burst, pause or resume reading.
func (h *fuzzHost) appAction(f *fuzzFlow, action byte) {
	h.flushBatch()
	a := h.appFor(f)
	if a == nil {
		return
	}
	switch action % 5 {
	case 0:
		a.close()
	case 1:
		a.c.CloseWrite()
	case 2:
		a.c.CloseRead()
	case 3:
		n, _ := a.c.writable()
		a.c.Write(make([]byte, min(n, int(action)*512)))
	case 4:
		a.paused = !a.paused
	}
	h.turn(h.s.serviceDirty)
	h.afterStep("an application's call")
}

// fuzzDuration turns a byte into a time step: its low 5 bits count units
// of its high 3 bits' scale, from a millisecond to an hour, so that a
// byte reaches a delayed ACK, an RTO, 2MSL or the keep-alive.
func fuzzDuration(b byte) time.Duration {
	units := [8]time.Duration{time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, time.Second,
		10 * time.Second, time.Minute, 10 * time.Minute, time.Hour}
	n := time.Duration(b & 31)
	return n * units[b>>5&7]
}
