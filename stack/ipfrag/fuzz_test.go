package ipfrag

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
)

// fuzzTemplates are the packets the fuzzer cuts fragments from: each under
// IDs of its own, so that every datagram rebuilt must be one of them.
var fuzzTemplates = [][]byte{
	testkit.IPPacket(src4, dst4, wire.ProtoUDP, payload(4000)),
	testkit.IPPacket(src4, dst4, wire.ProtoTCP, tcpPayload(3000)),
	testkit.IPPacket(src6, dst6, wire.ProtoTCP, tcpPayload(3000)),
	testkit.IPPacket(src6, dst6, wire.ProtoUDP, payload(2000), testkit.PadExt(testkit.ExtHopByHop)),
}

// fuzzOpLen is the bytes of fuzz input one fragment takes:
//
//	0: template (low 2 bits); bit 7: move the fragment past 60,000 bytes
//	1: ID (low 2 bits)
//	2-3: offset, rounded down to 8 bytes, modulo the template's length
//	4: length in 8-byte units
//	5: bits 0-2: extra bytes; bit 3: M flag; bits 4-7: seconds that pass first
const fuzzOpLen = 6

// FuzzReassembler feeds sequences of fragments, overlapping, duplicated,
// out of order, truncated, too big, late, and checks after each one that
// the bookkeeping holds (checkInvariants), that the memory bound holds,
// and that every datagram that comes back is exactly the packet its
// fragments were cut from; at the end, that expiring everything frees
// everything.
func FuzzReassembler(f *testing.F) {
	// In order, for every template; an overlap; a time-out between two
	// fragments.
	for tpl := range byte(len(fuzzTemplates)) {
		f.Add([]byte{tpl, 1, 0, 0, 100, 8, tpl, 1, 3, 32, 255, 0x08, tpl, 1, 6, 64, 255, 7})
	}
	f.Add([]byte{0, 0, 0, 0, 100, 8, 0, 0, 0, 8, 100, 8})
	f.Add([]byte{2, 3, 0, 0, 200, 8, 2, 3, 6, 64, 255, 0xf0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		r := New(Config{MemoryLimit: 16 << 10, MaxFragments: 16, Timeout4: 30 * time.Second, Timeout6: 60 * time.Second})
		now := t0
		for len(ops) >= fuzzOpLen {
			op := ops[:fuzzOpLen]
			ops = ops[fuzzOpLen:]
			tplIndex := int(op[0] & 3)
			tpl := fuzzTemplates[tplIndex]
			id := uint32(tplIndex)*4 + uint32(op[1]&3)
			pkt := append([]byte(nil), tpl...)
			testkit.SetIPv4ID(pkt, uint16(id))
			headerLen := wire.IPv4HeaderLen
			if pkt[0]>>4 == 6 {
				headerLen = wire.IPv6HeaderLen
				if tplIndex == 3 {
					headerLen += 8 // the hop-by-hop header stays in front
				}
			}
			length := len(pkt) - headerLen
			from := min(int(binary.BigEndian.Uint16(op[2:4]))%(length+8), length) &^ 7
			to := min(from+int(op[4])*8+int(op[5]&7), length)
			if to < from {
				to = from
			}
			more := op[5]&8 != 0
			now = now.Add(time.Duration(op[5]>>4) * time.Second)
			r.Expire(now, nil)
			raw := testkit.Fragment(pkt, id, from, to, more)
			if op[0]&0x80 != 0 {
				raw = moveFragment(raw, headerLen, 60000+from)
			}
			frag, err := wire.ParseFragment(raw)
			if err != nil {
				continue // a whole packet: offset 0 and no M flag
			}
			res := r.Add(now, &frag)
			if err := checkInvariants(r); err != nil {
				t.Fatalf("after [%d, %d) more=%v of template %d id %d (%v): %v", from, to, more, tplIndex, id, res.Reason, err)
			}
			switch res.Reason {
			case Reassembled, Atomic:
				// The last fragment may end the datagram early: then it is
				// the template cut short.
				end := len(res.Datagram) - headerLen
				if end < 0 || end > length || !bytes.Equal(res.Datagram, truncated(pkt, headerLen, end)) {
					t.Fatalf("%v: %d bytes, not template %d (%d bytes) or the start of it", res.Reason, len(res.Datagram), tplIndex, len(pkt))
				}
			default:
				if res.Datagram != nil {
					t.Fatalf("%v with a datagram", res.Reason)
				}
			}
		}
		r.Expire(now.Add(time.Hour), nil)
		if r.Memory() != 0 || r.Pending() != 0 || len(r.datagrams) != 0 || !r.Next().IsZero() {
			t.Fatalf("after every time-out: memory %d, pending %d, %d datagrams", r.Memory(), r.Pending(), len(r.datagrams))
		}
	})
}

// moveFragment sets the offset of fragment raw, whose headers before the
// fragment fields are headerLen long, to offset (rounded down to 8 bytes).
func moveFragment(raw []byte, headerLen, offset int) []byte {
	offset &^= 7
	if raw[0]>>4 == 4 {
		field := binary.BigEndian.Uint16(raw[6:8])&0xe000 | uint16(offset/8)
		binary.BigEndian.PutUint16(raw[6:8], field)
		testkit.FixIPv4HeaderChecksum(raw)
		return raw
	}
	field := binary.BigEndian.Uint16(raw[headerLen+2:])&7 | uint16(offset)
	binary.BigEndian.PutUint16(raw[headerLen+2:], field)
	return raw
}

// truncated is packet pkt, whose headers are headerLen long, cut to end
// bytes after them, with its length field saying so.
func truncated(pkt []byte, headerLen, end int) []byte {
	b := append([]byte(nil), pkt[:headerLen+end]...)
	testkit.SetIPLength(b)
	return b
}
