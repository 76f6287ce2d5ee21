package stack

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
	"github.com/tunstack/tunstack/tests/testkit"
)

// drain sends an echo request as a barrier and returns the TCP segments
// the stack sent before its reply: everything sent before has been handled
// and answered by then, since the loop handles packets in order.
func drain(t *testing.T, link *memLink, id uint16) []tcp.Segment {
	t.Helper()
	link.send(testkit.EchoRequest(peerAddr4, stackAddr4, id, 1, []byte("barrier")))
	var segs []tcp.Segment
	for {
		pkt := link.recv(t, testTimeout)
		p, err := wire.ParseIP(pkt)
		if err != nil {
			t.Fatalf("stack sent a bad packet: %v", err)
		}
		if p.Protocol != wire.ProtoTCP {
			var m wire.ICMP
			if wire.ParseICMP(&p, &m) == nil && m.Kind == wire.ICMPEchoReply && m.ID == id {
				return segs
			}
			continue
		}
		_, seg := parseTCP(t, pkt)
		segs = append(segs, seg)
	}
}

// TestSpoofedSegmentsDrawFewACKs is done-when 2 of issue 9 over the
// in-memory device: at an established connection, 1,000 spoofed SYNs with
// random sequence numbers, 1,000 data segments with a bad ACK and 1,000
// RSTs in the window draw at most 10 ACKs of each kind, and the
// connection survives them (RFC 5961 §7; the stack's defaults).
func TestSpoofedSegmentsDrawFewACKs(t *testing.T) {
	s, peer, synAck, c := acceptedScripted(t)
	rng := rand.New(rand.NewPCG(9, 5961))
	rcvNxt, sndNxt := peer.seq, synAck.Seq.Add(1) // the stack's RCV.NXT and SND.NXT
	spoof := func(seg tcp.Segment) {
		peer.link.send(tcpPacket(peer.addr, peer.stack, seg))
	}
	const n = 1000
	kinds := []struct {
		name string
		seg  func() tcp.Segment
	}{
		{"SYN with a random sequence number", func() tcp.Segment {
			return tcp.Segment{Flags: tcp.FlagSYN, Seq: tcp.Seq(rng.Uint32()), Window: 65535, Options: tcp.Options{MSS: 1460}}
		}},
		{"data with a bad ACK", func() tcp.Segment {
			ack := sndNxt.Add(1<<16 + rng.Uint32N(1<<30)) // not yet sent
			if rng.IntN(2) == 0 {
				ack = sndNxt.Add(-(1<<17 + rng.Uint32N(1<<30))) // older than any window
			}
			return tcp.Segment{Flags: tcp.FlagACK | tcp.FlagPSH, Seq: rcvNxt, Ack: ack, Window: 65535, Payload: []byte("forged")}
		}},
		{"RST in the window", func() tcp.Segment {
			return tcp.Segment{Flags: tcp.FlagRST, Seq: rcvNxt.Add(1 + rng.Uint32N(1000))}
		}},
	}
	for i, k := range kinds {
		for range n { // the link's queue holds them all
			spoof(k.seg())
		}
		acks := 0
		for _, seg := range drain(t, peer.link, uint16(100+i)) {
			if seg.Flags.Has(tcp.FlagRST) {
				t.Fatalf("%s: the stack sent %v", k.name, &seg)
			}
			if seg.Flags == tcp.FlagACK && seg.Seq == sndNxt && seg.Ack == rcvNxt && len(seg.Payload) == 0 {
				acks++
			}
		}
		t.Logf("%d × %s: %d ACKs", n, k.name, acks)
		if acks > 10 {
			t.Errorf("%d × %s drew %d ACKs, want at most 10", n, k.name, acks)
		}
	}
	counters := s.Counters()
	if limited := counters.RateLimited["invalid-ratelimit"]; limited < 3*n-30 {
		t.Errorf("RateLimited = %v, want about %d invalid-ratelimit", counters.RateLimited, 3*n)
	}

	// The connection survived and took nothing forged: data both ways.
	peer.send(tcp.FlagACK|tcp.FlagPSH, "hello")
	buf := make([]byte, 100)
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if m, err := c.Read(buf); err != nil || string(buf[:m]) != "hello" {
		t.Fatalf("Read = %q, %v; want hello", buf[:m], err)
	}
	if _, err := c.Write([]byte("world")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if data := peer.expect(true); string(data.Payload) != "world" || data.Ack != rcvNxt.Add(5) {
		t.Fatalf("got %v %q, want world acknowledging hello", &data, data.Payload)
	}
}

// openScripted has a scripted peer from port open a connection to the
// stack's port 80, where s listens with ln.
func openScripted(t *testing.T, link *memLink, port uint16) (*scriptedPeer, tcp.Seq) {
	t.Helper()
	p := &scriptedPeer{t: t, link: link, seq: 1000, addr: netip.AddrPortFrom(peerAddr4, port), stack: netip.AddrPortFrom(stackAddr4, 80)}
	synAck := p.handshake()
	return p, synAck.Seq.Add(1)
}

// TestChallengeACKBudget: the stack-wide budget holds back challenge ACKs
// that each connection's own limit let through; what it held back is
// counted.
func TestChallengeACKBudget(t *testing.T) {
	s, link := startScripted(t, Options{ChallengeACKLimit: 1}) // exactly one a second
	ln, err := s.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			if _, err := ln.Accept(); err != nil {
				return
			}
		}
	}()
	const conns = 3
	var peers []*scriptedPeer
	for i := range conns {
		p, _ := openScripted(t, link, uint16(41000+i))
		peers = append(peers, p)
	}
	drain(t, link, 1)
	for _, p := range peers {
		p.link.send(tcpPacket(p.addr, p.stack, tcp.Segment{Flags: tcp.FlagRST, Seq: p.seq.Add(10)}))
	}
	acks := len(drain(t, link, 2))
	limited := s.Counters().RateLimited["challenge-ack-limit"]
	// Within one second one answer goes; two if the RSTs straddle the
	// turn of a second.
	if acks < 1 || acks > 2 || uint64(acks)+limited != conns {
		t.Errorf("%d RSTs on %d connections drew %d challenge ACKs with %d held back; want 1 or 2, the rest held back", conns, conns, acks, limited)
	}
}

func TestChallengeBudgetIsRandomisedAroundTheLimit(t *testing.T) {
	const limit = 1000
	b := challengeBudget{limit: limit}
	start := time.Unix(1_000_000, 0)
	seen := map[int]bool{}
	total := 0
	for sec := range 50 {
		now := start.Add(time.Duration(sec) * time.Second)
		n := 0
		for range 2 * limit {
			if b.allow(now.Add(time.Duration(n) * time.Microsecond)) {
				n++
			}
		}
		if n < limit/2 || n > limit+limit/2-1 {
			t.Fatalf("second %d let %d through, want %d to %d", sec, n, limit/2, limit+limit/2-1)
		}
		seen[n] = true
		total += n
	}
	if len(seen) < 40 {
		t.Errorf("50 seconds let through only %d different counts: not random enough to hide the budget", len(seen))
	}
	if mean := total / 50; mean < limit*8/10 || mean > limit*12/10 {
		t.Errorf("mean %d a second, want about %d", mean, limit)
	}
	off := challengeBudget{limit: -1}
	for range 5000 {
		if !off.allow(start) {
			t.Fatal("a negative limit held an answer back")
		}
	}
}

func TestTokenBucket(t *testing.T) {
	b := newTokenBucket(100) // bursts of 50
	now := time.Unix(1_000_000, 0)
	n := 0
	for range 200 {
		if b.allow(now) {
			n++
		}
	}
	if n != RateLimitBurst {
		t.Fatalf("a burst let %d through, want %d", n, RateLimitBurst)
	}
	n = 0
	for i := range 1000 { // one a millisecond for a second: 100 of them
		if b.allow(now.Add(time.Duration(i+1) * time.Millisecond)) {
			n++
		}
	}
	if n < 99 || n > 101 {
		t.Fatalf("a second at 1000/s let %d through, want 100", n)
	}
}

// TestResetsForClosedPortsRateLimited: RSTs for segments no connection
// takes come from a token bucket, for closed ports and for ACKs to a
// listener alike; a RST is never answered and takes no token.
func TestResetsForClosedPortsRateLimited(t *testing.T) {
	const limit = 10
	s, link := startScripted(t, Options{RSTRateLimit: limit})
	if _, err := s.Listen("tcp", ":80"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range 100 {
		p := netip.AddrPortFrom(peerAddr4, uint16(30000+i))
		link.send(tcpPacket(p, netip.AddrPortFrom(stackAddr4, 9), tcp.Segment{Flags: tcp.FlagSYN, Seq: 1, Window: 65535}))
		link.send(tcpPacket(p, netip.AddrPortFrom(stackAddr4, 9), tcp.Segment{Flags: tcp.FlagRST, Seq: 1}))
		link.send(tcpPacket(p, netip.AddrPortFrom(stackAddr4, 80), tcp.Segment{Flags: tcp.FlagACK, Seq: 1, Ack: 7, Window: 65535}))
	}
	rsts := 0
	for _, seg := range drain(t, link, 1) {
		if seg.Flags.Has(tcp.FlagRST) {
			rsts++
		}
	}
	refill := int(time.Since(start).Seconds()*limit) + 1
	c := s.Counters()
	if rsts < limit || rsts > limit+refill || uint64(rsts)+c.RateLimited["rst-ratelimit"] != 200 {
		t.Errorf("200 segments for no connection drew %d RSTs, %d held back; want %d to %d sent, the rest held back",
			rsts, c.RateLimited["rst-ratelimit"], limit, limit+refill)
	}
	if c.Drops["engine:rst-ratelimit"] != c.RateLimited["rst-ratelimit"] {
		t.Errorf("Drops = %v: the held-back RSTs' segments are not counted", c.Drops)
	}
}

// TestEchoRepliesRateLimited: echo replies come from a token bucket too.
func TestEchoRepliesRateLimited(t *testing.T) {
	const limit = 5
	s, link := startScripted(t, Options{ICMPRateLimit: limit})
	start := time.Now()
	for i := range 50 {
		link.send(testkit.EchoRequest(peerAddr4, stackAddr4, 9, uint16(i), []byte("flood")))
	}
	// A SYN to a closed port is the barrier: its RST comes after the replies.
	link.send(tcpPacket(netip.AddrPortFrom(peerAddr4, 40000), netip.AddrPortFrom(stackAddr4, 9), tcp.Segment{Flags: tcp.FlagSYN, Seq: 1}))
	replies := 0
	for {
		p, err := wire.ParseIP(link.recv(t, testTimeout))
		if err != nil {
			t.Fatal(err)
		}
		if p.Protocol == wire.ProtoTCP {
			break
		}
		replies++
	}
	refill := int(time.Since(start).Seconds()*limit) + 1
	c := s.Counters()
	if replies < limit || replies > limit+refill || c.EchoReplies != uint64(replies) || c.Drops[dropICMPRateLimit] != uint64(50-replies) ||
		c.RateLimited["icmp-ratelimit"] != uint64(50-replies) {
		t.Errorf("50 echo requests drew %d replies (counted %d), held back %v; want %d to %d", replies, c.EchoReplies, c.RateLimited, limit, limit+refill)
	}
}

// TestTimeWaitRecordAnswersRateLimited: a connection shrunk to its
// TIME-WAIT record answers old SYNs at most once per 500 ms, and a
// retransmitted FIN every time.
func TestTimeWaitRecordAnswersRateLimited(t *testing.T) {
	s, peer, synAck, c := acceptedScripted(t)
	sndNxt := synAck.Seq.Add(1)
	c.Close() // the stack closes first: it will hold TIME-WAIT
	fin := peer.expect(true)
	if !fin.Flags.Has(tcp.FlagFIN) {
		t.Fatalf("got %v, want the stack's FIN", &fin)
	}
	peer.send(tcp.FlagACK|tcp.FlagFIN, "")
	if ack := peer.expect(false); ack.Flags != tcp.FlagACK {
		t.Fatalf("got %v, want the ACK of the peer's FIN", &ack)
	}
	testkit.Eventually(t, "the TIME-WAIT record", func() bool { return s.timeWaitLen() == 1 })
	for i := range 200 {
		peer.link.send(tcpPacket(peer.addr, peer.stack, tcp.Segment{Flags: tcp.FlagSYN, Seq: tcp.Seq(900 - i), Window: 65535}))
	}
	old := drain(t, peer.link, 1)
	if len(old) > 1 {
		t.Errorf("200 old SYNs in TIME-WAIT drew %d ACKs, want at most 1", len(old))
	}
	for range 3 { // the peer's FIN again, as if the stack's ACK was lost
		peer.link.send(tcpPacket(peer.addr, peer.stack, tcp.Segment{Flags: tcp.FlagFIN | tcp.FlagACK, Seq: peer.seq - 1, Ack: sndNxt + 1, Window: 65535}))
	}
	if fins := drain(t, peer.link, 2); len(fins) != 3 {
		t.Errorf("3 retransmitted FINs drew %d ACKs, want 3", len(fins))
	}
	if n := s.Counters().RateLimited["invalid-ratelimit"]; n < 199 {
		t.Errorf("invalid-ratelimit held back %d, want at least 199", n)
	}
}

// timeWaitLen is how many TIME-WAIT records the loop holds.
func (s *running) timeWaitLen() int {
	n := 0
	s.call(context.Background(), func() { n = s.timeWait.len() })
	return n
}
