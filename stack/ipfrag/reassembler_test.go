package ipfrag

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// step is one fragment of a test: bytes [from, to) of the packet's
// fragmentable part, sent at +at, and what Add must say.
type step struct {
	pkt      int // index into the case's packets
	id       uint32
	from, to int
	more     bool
	at       time.Duration
	want     Reason
}

func TestReassembler(t *testing.T) {
	udp4 := testkit.IPPacket(src4, dst4, wire.ProtoUDP, payload(3000))
	tcp4 := testkit.IPPacket(src4, dst4, wire.ProtoTCP, tcpPayload(3000))
	tcp6 := testkit.IPPacket(src6, dst6, wire.ProtoTCP, tcpPayload(3000))
	icmp6 := testkit.IPPacket(src6, dst6, wire.ProtoICMPv6, payload(3000))
	// Same source, destination and ID as udp4, another protocol: another
	// datagram for IPv4 (RFC 791's key has the protocol).
	tcp4Same := testkit.IPPacket(src4, dst4, wire.ProtoTCP, tcpPayload(2980))
	// A hop-by-hop header stays in front of the fragment header; a
	// destination options header travels in the fragments (RFC 8200 §4.5).
	hbh6 := testkit.IPPacket(src6, dst6, wire.ProtoTCP, tcpPayload(3000), testkit.PadExt(testkit.ExtHopByHop))
	tcp6Options := testkit.IPPacket(src6, dst6, wire.ProtoTCP, tcpPayload(3000), testkit.PadExt(testkit.ExtDestOptions))
	big6 := testkit.IPPacket(src6, dst6, wire.ProtoUDP, payload(65535))

	tests := []struct {
		name    string
		packets [][]byte
		steps   []step
		// whole is the index of the packet the last step must rebuild,
		// -1 when no step does.
		whole int
	}{
		{"IPv4 in order", [][]byte{udp4}, []step{
			{from: 0, to: 1480, more: true, want: Held},
			{from: 1480, to: 2960, more: true, want: Held},
			{from: 2960, to: 3000, want: Reassembled},
		}, 0},
		{"IPv4 last first", [][]byte{tcp4}, []step{
			{from: 2960, to: 3020, want: Held},
			{from: 1480, to: 2960, more: true, want: Held},
			{from: 0, to: 1480, more: true, want: Reassembled},
		}, 0},
		{"IPv6 out of order", [][]byte{tcp6}, []step{
			{from: 1232, to: 2464, more: true, want: Held},
			{from: 2464, to: 3020, want: Held},
			{from: 0, to: 1232, more: true, want: Reassembled},
		}, 0},
		{"IPv6 hop-by-hop before the fragment header", [][]byte{hbh6}, []step{
			{from: 0, to: 1232, more: true, want: Held},
			{from: 1232, to: 3020, want: Reassembled},
		}, 0},
		{"IPv6 destination options inside the fragments", [][]byte{tcp6Options}, []step{
			{from: 1000, to: 3028, want: Held},
			{from: 0, to: 1000, more: true, want: Reassembled},
		}, 0},
		{"exact duplicate tolerated", [][]byte{udp4}, []step{
			{from: 1480, to: 3000, want: Held},
			{from: 1480, to: 3000, want: Duplicate},
			{from: 0, to: 1480, more: true, at: time.Second, want: Reassembled},
		}, 0},

		// RFC 5722: an overlap discards the whole datagram, the fragments
		// still to come included.
		{"IPv4 overlap discards the datagram", [][]byte{udp4}, []step{
			{from: 0, to: 1480, more: true, want: Held},
			{from: 1472, to: 2000, more: true, want: Overlap},
			{from: 1480, to: 3000, want: AfterDiscard},
		}, -1},
		{"overlap inside a fragment held", [][]byte{udp4}, []step{
			{from: 0, to: 1480, more: true, want: Held},
			{from: 8, to: 16, more: true, want: Overlap},
		}, -1},
		{"overlap of the next fragment", [][]byte{udp4}, []step{
			{from: 1480, to: 3000, want: Held},
			{from: 0, to: 1488, more: true, want: Overlap},
			{from: 0, to: 1480, more: true, want: AfterDiscard},
		}, -1},
		{"IPv6 overlap", [][]byte{tcp6}, []step{
			{from: 0, to: 1232, more: true, want: Held},
			{from: 1224, to: 3020, want: Overlap},
		}, -1},

		{"same ID, another protocol: two IPv4 datagrams", [][]byte{udp4, tcp4Same}, []step{
			{pkt: 0, from: 0, to: 1480, more: true, want: Held},
			{pkt: 1, from: 0, to: 1480, more: true, want: Held},
			{pkt: 0, from: 1480, to: 3000, want: Reassembled},
		}, 0},
		{"same ID, another next header: one IPv6 packet", [][]byte{tcp6, icmp6}, []step{
			{pkt: 0, from: 0, to: 1232, more: true, want: Held},
			{pkt: 1, from: 0, to: 1232, more: true, want: Duplicate},
			{pkt: 0, from: 1232, to: 3020, want: Reassembled},
		}, 0},
		{"another ID: another datagram", [][]byte{udp4}, []step{
			{id: 1, from: 0, to: 1480, more: true, want: Held},
			{id: 2, from: 1480, to: 3000, want: Held},
		}, -1},

		// RFC 1858 §3.2, RFC 3128: tiny fragments of IPv4 TCP.
		{"IPv4 TCP at offset 8", [][]byte{tcp4}, []step{
			{from: 0, to: 24, more: true, want: Held},
			{from: 8, to: 3020, want: Tiny},
		}, -1},
		{"IPv4 TCP first fragment of 8 bytes", [][]byte{tcp4}, []step{
			{from: 0, to: 8, more: true, want: Tiny},
		}, -1},
		{"IPv4 TCP first fragment of 16 bytes", [][]byte{tcp4}, []step{
			{from: 0, to: 16, more: true, want: Held},
			{from: 16, to: 3020, want: Reassembled},
		}, 0},
		{"IPv4 UDP at offset 8 is no TCP", [][]byte{udp4}, []step{
			{from: 0, to: 8, more: true, want: Held},
			{from: 8, to: 3000, want: Reassembled},
		}, 0},
		// RFC 7112: the first fragment holds the whole header chain.
		{"IPv6 first fragment cuts the TCP header", [][]byte{tcp6}, []step{
			{from: 0, to: 16, more: true, want: IncompleteChain},
		}, -1},
		{"IPv6 first fragment cuts an extension header", [][]byte{tcp6Options}, []step{
			{from: 0, to: 8, more: true, want: IncompleteChain},
		}, -1},
		{"IPv6 first fragment with the TCP header", [][]byte{tcp6}, []step{
			{from: 0, to: 24, more: true, want: Held},
			{from: 24, to: 3020, want: Reassembled},
		}, 0},
		{"IPv6 ICMPv6 needs 8 bytes", [][]byte{icmp6}, []step{
			{from: 0, to: 8, more: true, want: Held},
			{from: 8, to: 3000, want: Reassembled},
		}, 0},

		{"not a multiple of 8", [][]byte{udp4}, []step{
			{from: 0, to: 1481, more: true, want: BadLength},
		}, -1},
		{"empty", [][]byte{udp4}, []step{
			{from: 1480, to: 1480, want: BadLength},
		}, -1},
		{"two ends", [][]byte{udp4}, []step{
			{from: 1480, to: 3000, want: Held},
			{from: 1480, to: 2992, want: Inconsistent},
			{from: 0, to: 1480, more: true, want: AfterDiscard},
		}, -1},
		{"data past the end", [][]byte{udp4}, []step{
			{from: 1480, to: 2000, want: Held},
			{from: 2000, to: 2400, more: true, want: Inconsistent},
		}, -1},
		{"end before data held", [][]byte{udp4}, []step{
			{from: 1480, to: 2000, more: true, want: Held},
			{from: 8, to: 1000, want: Inconsistent},
		}, -1},
		{"the largest IPv6 packet", [][]byte{big6}, []step{
			{from: 0, to: 32768, more: true, want: Held},
			{from: 32768, to: 65535, want: Reassembled},
		}, 0},

		// RFC 6946: an atomic fragment is a packet of its own.
		{"IPv6 atomic fragment", [][]byte{tcp6}, []step{
			{id: 9, from: 0, to: 1232, more: true, want: Held},
			{id: 9, from: 0, to: 3020, want: Atomic},
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(Config{})
			var got Result
			for i, s := range tt.steps {
				f := fragment(t, tt.packets[s.pkt], s.id, s.from, s.to, s.more)
				got = r.Add(t0.Add(s.at), f)
				if got.Reason != s.want {
					t.Fatalf("step %d [%d, %d) more=%v: %v, want %v", i, s.from, s.to, s.more, got.Reason, s.want)
				}
				if err := checkInvariants(r); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			if tt.whole < 0 {
				if got.Datagram != nil {
					t.Errorf("a datagram came back: %d bytes", len(got.Datagram))
				}
				return
			}
			if want := tt.packets[tt.whole]; !bytes.Equal(got.Datagram, want) {
				t.Errorf("reassembled %d bytes, want the original %d:\ngot  %x\nwant %x", len(got.Datagram), len(want), head(got.Datagram), head(want))
			}
			if _, err := wire.ParseIP(got.Datagram); err != nil {
				t.Errorf("the datagram does not parse: %v", err)
			}
		})
	}
}

func head(b []byte) []byte { return b[:min(len(b), 64)] }

// TestTooBig: a fragment that would make its datagram longer than 65,535
// bytes discards the datagram (RFC 791 §3.1, RFC 8200 §4.5).
func TestTooBig(t *testing.T) {
	for _, tt := range []struct {
		name string
		pkt  []byte
	}{
		{"IPv4", testkit.IPPacket(src4, dst4, wire.ProtoUDP, payload(3000))},
		{"IPv6", testkit.IPPacket(src6, dst6, wire.ProtoUDP, payload(3000))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := New(Config{})
			if got := r.Add(t0, fragment(t, tt.pkt, 1, 0, 1024, true)); got.Reason != Held {
				t.Fatalf("first fragment: %v", got.Reason)
			}
			// The last fragment moved to offset 65,528: its 16 bytes end
			// at 65,544, past what any length field can say.
			last := moved(t, fragment(t, tt.pkt, 1, 1024, 1040, false), 65528)
			if got := r.Add(t0, last); got.Reason != TooBig {
				t.Fatalf("fragment at 65,528: %v, want %v", got.Reason, TooBig)
			}
			if got := r.Add(t0, fragment(t, tt.pkt, 1, 1024, 3000, false)); got.Reason != AfterDiscard {
				t.Errorf("the right last fragment after: %v, want %v", got.Reason, AfterDiscard)
			}
			// Alone, it leaves the record of a discarded datagram.
			r = New(Config{})
			if got := r.Add(t0, last); got.Reason != TooBig || r.Memory() != datagramCost || r.Pending() != 0 {
				t.Errorf("alone: %v, memory %d, pending %d", got.Reason, r.Memory(), r.Pending())
			}
		})
	}
}

// moved returns a copy of fragment f at another offset.
func moved(t *testing.T, f *wire.Fragment, offset int) *wire.Fragment {
	t.Helper()
	raw := append([]byte(nil), f.Raw...)
	if f.Version == 4 {
		raw[6], raw[7] = byte(offset/8>>8), byte(offset/8)
		testkit.FixIPv4HeaderChecksum(raw)
	} else {
		at := len(f.Header)
		raw[at+2], raw[at+3] = byte(offset>>8), byte(offset)&^7 // the M flag cleared
	}
	g, err := wire.ParseFragment(raw)
	if err != nil || g.Offset != offset {
		t.Fatalf("moved fragment: offset %d, %v", g.Offset, err)
	}
	return &g
}

// TestReassembledIPv4KeepsTheFirstHeader: the datagram gets the first
// fragment's header with its options, whatever the others carried (RFC
// 791 §3.2), and DF as the first fragment had it.
func TestReassembledIPv4KeepsTheFirstHeader(t *testing.T) {
	pkt := testkit.IPPacket(src4, dst4, wire.ProtoUDP, payload(2000))
	// Options: a NOP and an end of list padded to 4 bytes.
	withOptions := append(append(append([]byte(nil), pkt[:20]...), 1, 0, 0, 0), pkt[20:]...)
	withOptions[0] = 0x46
	testkit.SetIPLength(withOptions)
	testkit.SetIPv4ID(withOptions, 5) // the ID of the fragments

	r := New(Config{})
	last := fragment(t, pkt, 5, 1480, 2000, false) // no options
	if got := r.Add(t0, last).Reason; got != Held {
		t.Fatalf("last fragment: %v", got)
	}
	got := r.Add(t0, fragment(t, withOptions, 5, 0, 1480, true))
	if got.Reason != Reassembled || !bytes.Equal(got.Datagram, withOptions) {
		t.Fatalf("%v, %d bytes; want the original with its options, %d bytes", got.Reason, len(got.Datagram), len(withOptions))
	}
}

func TestTimeout(t *testing.T) {
	pkt4 := testkit.IPPacket(src4, dst4, wire.ProtoUDP, payload(3000))
	pkt6 := testkit.IPPacket(src6, dst6, wire.ProtoUDP, payload(3000))
	r := New(Config{})
	r.Add(t0, fragment(t, pkt4, 1, 0, 1480, true))                      // first fragment in: ICMP is due
	r.Add(t0.Add(time.Second), fragment(t, pkt4, 2, 1480, 3000, false)) // first fragment never came
	r.Add(t0.Add(2*time.Second), fragment(t, pkt6, 3, 0, 1232, true))
	r.Add(t0.Add(3*time.Second), fragment(t, pkt4, 4, 0, 1480, true))
	r.Add(t0.Add(3*time.Second), fragment(t, pkt4, 4, 8, 1488, true)) // overlap: a record of the discarded datagram stays
	if got, want := r.Next(), t0.Add(DefaultTimeout4); !got.Equal(want) {
		t.Fatalf("Next = %v, want %v", got, want)
	}
	var expired []Expired
	collect := func(e Expired) {
		e.First = append([]byte(nil), e.First...)
		expired = append(expired, e)
	}
	r.Expire(t0.Add(DefaultTimeout4-time.Nanosecond), collect)
	if len(expired) != 0 {
		t.Fatalf("expired before 30 s: %+v", expired)
	}
	r.Expire(t0.Add(DefaultTimeout4+3*time.Second), collect)
	if len(expired) != 2 {
		t.Fatalf("after 33 s, expired %d datagrams, want 2 (the discarded one goes silently): %+v", len(expired), expired)
	}
	if e := expired[0]; e.Version != 4 || e.Src != src4 || e.Dst != dst4 || !bytes.Equal(e.First, fragment(t, pkt4, 1, 0, 1480, true).Raw) {
		t.Errorf("first expired = %+v, want the first fragment of datagram 1 quoted whole", e)
	}
	if expired[1].First != nil {
		t.Errorf("datagram 2 had no first fragment, but Expire quotes %d bytes", len(expired[1].First))
	}
	if r.Pending() != 1 {
		t.Errorf("Pending = %d, want the IPv6 datagram only", r.Pending())
	}
	// IPv6 waits 60 s (RFC 8200 §4.5).
	if got, want := r.Next(), t0.Add(2*time.Second+DefaultTimeout6); !got.Equal(want) {
		t.Errorf("Next = %v, want %v", got, want)
	}
	expired = nil
	r.Expire(t0.Add(2*time.Second+DefaultTimeout6), collect)
	if len(expired) != 1 || expired[0].Version != 6 || expired[0].Src != src6 {
		t.Errorf("expired %+v, want the IPv6 datagram", expired)
	}
	if r.Memory() != 0 || r.Pending() != 0 || !r.Next().IsZero() {
		t.Errorf("after every time-out: memory %d, pending %d, next %v; want nothing left", r.Memory(), r.Pending(), r.Next())
	}
	if err := checkInvariants(r); err != nil {
		t.Error(err)
	}
}

func TestMemoryLimitEvictsTheOldest(t *testing.T) {
	// The last fragment's 1,480 bytes cost less than the first's with its
	// header.
	pkt := testkit.IPPacket(src4, dst4, wire.ProtoUDP, payload(2960))
	first := fragment(t, pkt, 0, 0, 1480, true)
	perDatagram := datagramCost + fragmentCost(first)
	r := New(Config{MemoryLimit: 3 * perDatagram})
	for id := range uint32(3) {
		if got := r.Add(t0.Add(time.Duration(id)*time.Second), fragment(t, pkt, id, 0, 1480, true)); got.Reason != Held || got.Evicted != 0 {
			t.Fatalf("datagram %d: %+v", id, got)
		}
	}
	got := r.Add(t0.Add(3*time.Second), fragment(t, pkt, 3, 0, 1480, true))
	if got.Reason != Held || got.Evicted != 1 {
		t.Fatalf("the fourth datagram: %+v, want held with one evicted", got)
	}
	if err := checkInvariants(r); err != nil {
		t.Fatal(err)
	}
	// Datagram 0 was the oldest: its last fragment starts a new one.
	if got := r.Add(t0.Add(4*time.Second), fragment(t, pkt, 0, 1480, 2960, false)); got.Reason != Held || got.Evicted != 1 {
		t.Errorf("datagram 0's last fragment: %+v, want held afresh, evicting datagram 1", got)
	}
	// Datagram 2 is still there: its last fragment completes it, and
	// needs no room for that.
	if got := r.Add(t0.Add(5*time.Second), fragment(t, pkt, 2, 1480, 2960, false)); got.Reason != Reassembled || got.Evicted != 0 {
		t.Errorf("datagram 2's last fragment: %+v, want it reassembled, evicting nothing", got)
	}
	if got := r.Add(t0.Add(6*time.Second), fragment(t, pkt, 1, 1480, 2960, false)); got.Reason != Held {
		t.Errorf("datagram 1's last fragment: %v, want it held afresh (datagram 1 was evicted)", got.Reason)
	}
	// A fragment bigger than the whole bound finds no room.
	small := New(Config{MemoryLimit: 1000})
	if got := small.Add(t0, first); got.Reason != NoMemory {
		t.Errorf("a 1,480-byte fragment under a 1,000-byte bound: %v, want %v", got.Reason, NoMemory)
	}
	if err := checkInvariants(r); err != nil {
		t.Fatal(err)
	}
}

func TestTooManyFragments(t *testing.T) {
	pkt := testkit.IPPacket(src4, dst4, wire.ProtoUDP, payload(100))
	r := New(Config{MaxFragments: 4})
	for i := range 4 {
		if got := r.Add(t0, fragment(t, pkt, 1, i*8, i*8+8, true)); got.Reason != Held {
			t.Fatalf("fragment %d: %v", i, got.Reason)
		}
	}
	if got := r.Add(t0, fragment(t, pkt, 1, 32, 100, false)); got.Reason != TooManyFragments {
		t.Fatalf("fifth fragment: %v, want %v", got.Reason, TooManyFragments)
	}
	if r.Pending() != 0 || r.Memory() != datagramCost {
		t.Errorf("pending %d memory %d, want only the record of the discarded datagram", r.Pending(), r.Memory())
	}
}

// TestRandomOrder: any tiling of a datagram into fragments, sent in any
// order, rebuilds it; one overlapping fragment among them discards it.
func TestRandomOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for i := range 300 {
		v6 := i%2 == 1
		n := 8 + rng.IntN(9000)
		pkt := testkit.IPPacket(src4, dst4, wire.ProtoUDP, payload(n))
		testkit.SetIPv4ID(pkt, uint16(i))
		if v6 {
			pkt = testkit.IPPacket(src6, dst6, wire.ProtoUDP, payload(n))
		}
		var cuts []int
		for off := 0; off < n; off += 8 * (1 + rng.IntN(200)) {
			cuts = append(cuts, off)
		}
		cuts = append(cuts, n)
		type span struct{ from, to int }
		var spans []span
		for j := 1; j < len(cuts); j++ {
			spans = append(spans, span{cuts[j-1], cuts[j]})
		}
		overlap := len(spans) > 1 && rng.IntN(3) == 0
		if overlap {
			j := rng.IntN(len(spans) - 1)
			spans = append(spans, span{spans[j].from, min(spans[j].to+8, n)}) // one that runs into the next
		}
		rng.Shuffle(len(spans), func(a, b int) { spans[a], spans[b] = spans[b], spans[a] })
		whole := false
		for _, s := range spans {
			whole = whole || s.from == 0 && s.to == n
		}
		if whole {
			continue // not a fragment in IPv4, an atomic one in IPv6
		}
		r := New(Config{})
		var got Result
		var reasons []Reason
		for _, s := range spans {
			got = r.Add(t0, fragment(t, pkt, uint32(i), s.from, s.to, s.to < n))
			reasons = append(reasons, got.Reason)
			if got.Reason == Reassembled {
				break
			}
		}
		if err := checkInvariants(r); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		switch {
		case !overlap && (got.Reason != Reassembled || !bytes.Equal(got.Datagram, pkt)):
			t.Fatalf("case %d: %d fragments %v: %v, want the datagram rebuilt", i, len(spans), spans, reasons)
		case overlap && got.Reason == Reassembled:
			// Reassembled before the overlapping fragment came: fine only
			// if it was not sent yet.
			for _, why := range reasons {
				if why == Overlap {
					t.Fatalf("case %d: reassembled after an overlap: %v", i, reasons)
				}
			}
		case overlap:
			seen := false
			for _, why := range reasons {
				seen = seen || why == Overlap
			}
			if !seen {
				t.Fatalf("case %d: overlapping fragments %v gave %v, no overlap", i, spans, reasons)
			}
		}
	}
}
