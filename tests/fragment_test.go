package tests

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/rawpeer"
	"github.com/tunstack/tunstack/tests/testkit"
)

// These tests send the stack IP fragments from the namespace's kernel side
// with raw sockets (package rawpeer: the test builds every fragment, the
// fragment fields of the IPv4 header and the IPv6 fragment header; the
// kernel sends them as they are) and check what the running daemon makes
// of them (issue 9, done-when 4).

// fragReply is the part of the status reply's counters these tests read.
type fragReply struct {
	Drops     map[string]uint64 `json:"drops"`
	Fragments struct {
		Fragments    uint64            `json:"fragments"`
		Reassembled  uint64            `json:"reassembled"`
		Discarded    map[string]uint64 `json:"discarded"`
		FragmentsOut uint64            `json:"fragments_out"`
		Pending      uint64            `json:"pending"`
	} `json:"fragments"`
}

func (d *daemon) fragCounters(t *testing.T) fragReply {
	t.Helper()
	return statusCounters[fragReply](t, d)
}

// TestFragmentedSYNAndData: a SYN and data that reach the stack in
// fragments, out of order, over IPv4 and IPv6, are reassembled: the peer
// sees the SYN-ACK and the echo of the data. Fragments that overlap are
// dropped with their whole datagram and counted (RFC 5722): the data they
// carried never reaches TCP, as the echo of clean data sent after them at
// the same sequence number shows.
func TestFragmentedSYNAndData(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	for i, tc := range []struct {
		name        string
		peer, stack string
		// In IPv4 the first fragment of TCP needs 16 bytes (RFC 1858), in
		// IPv6 the whole TCP header (RFC 7112): the IPv6 SYN carries data
		// so that there is something to cut (the stack does not queue
		// data on a SYN; the SYN-ACK acknowledges the SYN only).
		synData  string
		synCuts  []int
		dataCuts []int // of 3,000 bytes of data and a 20-byte TCP header, within the 1,500-byte MTU
	}{
		{"IPv4", peerIPv4, stackIPv4, "", []int{16}, []int{1480, 2960}},
		{"IPv6", peerIPv6, stackIPv6, "data riding on the SYN", []int{24}, []int{1448, 2896}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startRawPeerAt(t, d, tc.peer, tc.stack)
			f := rawFlow{t: t, peer: p, peerPort: uint16(45000 + i), stackPort: 7} // echo
			before := d.fragCounters(t)
			id := uint32(0x5a00 + 16*i)
			sent := 0
			sendFragments := func(seg tcp.Segment, order []int, pieces ...[2]int) {
				t.Helper()
				pkt, err := p.Packet(seg)
				if err != nil {
					t.Fatal(err)
				}
				id++
				for _, k := range order {
					from, to := pieces[k][0], pieces[k][1]
					if err := p.SendRaw(testkit.Fragment(pkt, id, from, to, to < tcpLen(seg))); err != nil {
						t.Fatalf("send fragment [%d, %d): %v", from, to, err)
					}
					sent++
				}
			}

			// The SYN in two fragments, the last first.
			const iss tcp.Seq = 70000
			syn := tcp.Segment{SrcPort: f.peerPort, DstPort: f.stackPort, Seq: iss, Flags: tcp.FlagSYN, Window: 65535,
				Options: tcp.Options{MSS: peerMSS}, Payload: []byte(tc.synData)}
			sendFragments(syn, []int{1, 0}, cut(tcpLen(syn), tc.synCuts)...)
			synAck := f.expect(segmentTimeout, "the SYN-ACK to the fragmented SYN", testkit.TCPFlags(testkit.SYN|testkit.ACK), ackIs(iss+1))
			rcvNxt, sndNxt := iss+1, synAck.Seg.Seq+1
			f.send(tcp.FlagACK, rcvNxt, sndNxt, "")
			waitStackState(t, d, f.remote(), "ESTABLISHED")

			// 3,000 bytes in three fragments: middle, last, first.
			data := bytes.Repeat([]byte("fragmented data "), 3000/16+1)[:3000]
			seg := tcp.Segment{SrcPort: f.peerPort, DstPort: f.stackPort, Seq: rcvNxt, Ack: sndNxt, Flags: tcp.FlagACK | tcp.FlagPSH, Window: 65535, Payload: data}
			sendFragments(seg, []int{1, 2, 0}, cut(tcpLen(seg), tc.dataCuts)...)
			rcvNxt += tcp.Seq(len(data))
			sndNxt = f.expectEcho(data, sndNxt, rcvNxt)

			// RFC 5722: three fragments of other data at the same sequence
			// number, the second overlapping the first by 8 bytes.
			forged := bytes.Repeat([]byte("FORGED "), 300)[:2000]
			seg = tcp.Segment{SrcPort: f.peerPort, DstPort: f.stackPort, Seq: rcvNxt, Ack: sndNxt, Flags: tcp.FlagACK | tcp.FlagPSH, Window: 65535, Payload: forged}
			sendFragments(seg, []int{0, 1, 2}, [2]int{0, 1000}, [2]int{992, 1600}, [2]int{1000, tcpLen(seg)})
			testkit.WaitFor(t, segmentTimeout, "the overlap counted", func() (bool, string) {
				c := d.fragCounters(t)
				return c.Fragments.Discarded["frag-overlap"] == before.Fragments.Discarded["frag-overlap"]+1 &&
					c.Drops["frag-after-discard"] == before.Drops["frag-after-discard"]+1, fmt.Sprintf("%+v", c)
			})
			// Clean data at that sequence number: its echo is the first
			// data the stack sends after the first 3,000 bytes.
			clean := []byte("clean data after the overlap")
			f.send(tcp.FlagACK|tcp.FlagPSH, rcvNxt, sndNxt, string(clean))
			rcvNxt += tcp.Seq(len(clean))
			f.expectEcho(clean, sndNxt, rcvNxt)

			after := d.fragCounters(t)
			if got := after.Fragments.Reassembled - before.Fragments.Reassembled; got != 2 {
				t.Errorf("%d datagrams reassembled, want 2: the SYN and the data", got)
			}
			if got := after.Fragments.Fragments - before.Fragments.Fragments; got != uint64(sent) {
				t.Errorf("the stack counted %d fragments, the peer sent %d", got, sent)
			}
			if got := after.Drops["frag-overlap"] - before.Drops["frag-overlap"]; got != 1 {
				t.Errorf("drops frag-overlap went up by %d, want 1", got)
			}
			if after.Fragments.Pending != 0 {
				t.Errorf("%d datagrams still pending", after.Fragments.Pending)
			}
			// The kernel sent the fragments as they were built: the
			// device saw each of them, none reassembled on the way.
			seen := 0
			for _, pkt := range p.Captured() {
				if pkt.Dir == rawpeer.ToStack && pkt.Src == p.Addr && pkt.Frag != nil {
					seen++
				}
			}
			if seen != sent {
				t.Errorf("the device carried %d fragments from the peer, the peer sent %d", seen, sent)
			}
		})
	}
}

// tcpLen is the length of seg's TCP header, options included, and data.
func tcpLen(seg tcp.Segment) int {
	var buf [wire.IPv6HeaderLen + 60 + 4096]byte
	n, err := wire.BuildTCP(buf[:], netip.MustParseAddr(peerIPv6), netip.MustParseAddr(stackIPv6), &seg, 0)
	if err != nil {
		panic(err)
	}
	return n - wire.IPv6HeaderLen
}

// cut turns offsets into the pieces [0, c1), [c1, c2), ... [cn, total).
func cut(total int, cuts []int) [][2]int {
	bounds := append(append([]int{0}, cuts...), total)
	var pieces [][2]int
	for i := 1; i < len(bounds); i++ {
		pieces = append(pieces, [2]int{bounds[i-1], bounds[i]})
	}
	return pieces
}

// carriesData checks that a segment has a payload.
func carriesData(t testing.TB, h testkit.Transport) {
	t.Helper()
	if s, ok := h.(*testkit.Segment); !ok || len(s.Payload) == 0 {
		t.Errorf("%v carries no data", h)
	}
}

// expectEcho collects the stack's echo of data, which starts at sndNxt,
// acknowledging each segment (ack rcvNxt) so that nothing is sent twice;
// it returns SND.NXT after the echo.
func (f *rawFlow) expectEcho(data []byte, sndNxt, rcvNxt tcp.Seq) tcp.Seq {
	f.t.Helper()
	var echoed []byte
	for len(echoed) < len(data) {
		next := sndNxt + tcp.Seq(len(echoed))
		pkt := f.expect(segmentTimeout, fmt.Sprintf("the echo from byte %d of %d", len(echoed), len(data)),
			seqIs(next), carriesData)
		echoed = append(echoed, pkt.Seg.Payload...)
		f.send(tcp.FlagACK, rcvNxt, pkt.Seg.End(), "")
	}
	if !bytes.Equal(echoed, data) {
		f.t.Fatalf("the stack echoed %q, want %q", firstBytes(echoed), firstBytes(data))
	}
	return sndNxt + tcp.Seq(len(data))
}

func firstBytes(b []byte) []byte { return b[:min(len(b), 40)] }

// TestLargePing: the kernel fragments a 3,000-byte ping (the device's MTU
// is 1,500); the stack reassembles it and answers in fragments, which the
// kernel reassembles for ping.
func TestLargePing(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	for _, args := range [][]string{
		{"ping", "-c", "1", "-W", "5", "-s", "3000", stackIPv4},
		{"ping", "-6", "-c", "1", "-W", "5", "-s", "3000", stackIPv6},
	} {
		if r := runIn(t, d.ns, nil, args...); r.err != nil {
			t.Errorf("%v: %v", args, r)
		}
	}
	c := d.fragCounters(t)
	// 3,008 bytes of ICMP: 3 fragments each way and family.
	if c.Fragments.Reassembled != 2 || c.Fragments.Fragments != 6 || c.Fragments.FragmentsOut != 6 {
		t.Errorf("fragment counters %+v, want 6 fragments in, 2 datagrams reassembled, 6 fragments out", c.Fragments)
	}
}
