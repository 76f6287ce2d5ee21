package stack

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/tunstack/tunstack/stack/ipfrag"
	"github.com/tunstack/tunstack/stack/wire"
)

// IP fragments are reassembled by stack/ipfrag; a datagram made whole goes
// through input like any packet read from the link. The stack sends no
// fragments of its own but two kinds: an echo reply to an echo request
// that came in fragments and so is larger than the link's MTU, and a UDP
// datagram larger than the MTU (udp_send.go). TCP needs
// none, since its MSS is derived from the MTU and PMTU discovery lowers it
// (IPv4 segments go out with DF set).

// fragments is the loop's side of reassembly.
type fragments struct {
	r   *ipfrag.Reassembler // nil: reassembly is off and fragments are dropped
	mtu int                 // the link's, for echo replies that need fragmenting
	// scratch holds an echo reply before it is cut into fragments;
	// allocated on first use.
	scratch []byte
}

func newFragments(opts Options, mtu int) fragments {
	f := fragments{mtu: mtu}
	if opts.FragMemory >= 0 {
		f.r = ipfrag.New(ipfrag.Config{
			MemoryLimit: opts.FragMemory,
			Timeout4:    opts.FragTimeout,
			Timeout6:    opts.FragTimeout,
		})
	}
	return f
}

// inputFragment takes a fragment read from the link; nested means it was
// found inside a datagram just reassembled, which is refused: RFC 8200
// §4.5 allows one fragment header, and one inside another could make
// reassembly recurse.
func (s *Stack) inputFragment(b []byte, nested bool) {
	fc := &s.counters.frag
	fc.fragments.Add(1)
	switch {
	case nested:
		s.dropPacket(ipfrag.Nested.Code())
		return
	case s.frags.r == nil:
		s.dropPacket(wire.ErrFragment.Code())
		return
	}
	f, err := wire.ParseFragment(b)
	if err != nil {
		s.dropPacket(wire.DropReason(err))
		return
	}
	if !s.isLocal(f.Dst) && !s.takesDestination(f.Dst, f.Protocol) {
		s.dropPacket(dropNotOurAddress)
		return
	}
	// A martian source makes no state, not even a datagram to reassemble.
	if why := s.martianSource(f.Src); why != "" {
		s.dropPacket(why)
		return
	}
	res := s.frags.r.Add(s.now, &f)
	fc.discarded[ipfrag.Evicted].Add(uint64(res.Evicted))
	fc.held(s.frags.r)
	switch why := res.Reason; {
	case why == ipfrag.Reassembled || why == ipfrag.Atomic:
		if why == ipfrag.Reassembled {
			fc.reassembled.Add(1)
		} else {
			fc.atomic.Add(1)
		}
		// The link vouched for the checksums of what it read, not for a
		// datagram made here.
		checksummed := s.checksummed
		s.checksummed = false
		s.inputIP(res.Datagram, true)
		s.checksummed = checksummed
	case why.Dropped():
		if why.DiscardsDatagram() {
			fc.discarded[why].Add(1)
		}
		s.dropPacket(why.Code())
	}
}

// expireFragments gives up the datagrams whose time is up and tells the
// source of each whose first fragment had arrived (RFC 792; RFC 8200 §4.5,
// RFC 4443 §3.3).
func (s *Stack) expireFragments() {
	if s.frags.r == nil {
		return
	}
	fc := &s.counters.frag
	s.frags.r.Expire(s.now, func(e ipfrag.Expired) {
		fc.discarded[ipfrag.Timeout].Add(1)
		if e.First == nil || quotesICMPError(e.First) || !(e.Src.IsGlobalUnicast() || e.Src.IsLinkLocalUnicast()) {
			return
		}
		// Time exceeded messages share the ICMP limit with echo replies
		// (Options.ICMPRateLimit), as Linux's icmp_ratelimit covers
		// every ICMP error: a flood of first fragments cannot make the
		// stack send more.
		if !s.limits.icmp.allow(s.now) {
			fc.timeExceededLimited.Add(1)
			return
		}
		n, err := wire.ReassemblyTimeExceeded(s.icmpErrorBuffer(len(e.First)), e.Dst, e.Src, e.First)
		if err != nil {
			return
		}
		s.out.commit(n)
		fc.timeExceeded.Add(1)
	})
	fc.held(s.frags.r)
}

// fragmentsDeadline is when expireFragments must run next; zero if never.
func (s *Stack) fragmentsDeadline() time.Time {
	if s.frags.r == nil {
		return time.Time{}
	}
	return s.frags.r.Next()
}

// quotesICMPError reports whether first, a first fragment, carries an ICMP
// message other than an echo: no ICMP error answers an ICMP error (RFC
// 1122 §3.2.2), and the stack sends none for the rarer informational ones
// either.
func quotesICMPError(first []byte) bool {
	f, err := wire.ParseFragment(first)
	if err != nil || len(f.Data) == 0 {
		return true
	}
	switch {
	case f.Version == 4 && f.Protocol == wire.ProtoICMPv4:
		return f.Data[0] != wire.ICMPv4EchoRequest && f.Data[0] != wire.ICMPv4EchoReply
	case f.Version == 6 && f.Protocol == wire.ProtoICMPv6:
		return f.Data[0] < 128 // RFC 4443 §2.1: types 0-127 are errors
	}
	return false
}

// sendEchoReplyFragmented answers an echo request larger than the link's
// MTU, which can only have come in fragments, with a reply in fragments:
// RFC 1122 §3.2.2.6 has the reply carry all the request's data.
func (s *Stack) sendEchoReplyFragmented(p *wire.Packet) {
	if !s.limits.icmp.allow(s.now) {
		s.dropPacketOf(p, dropICMPRateLimit)
		return
	}
	scratch := s.fragScratch()
	n, err := wire.EchoReply(scratch, p)
	if err == nil {
		err = s.sendFragments(scratch[:n])
	}
	if err != nil {
		s.dropPacket(wire.DropReason(err))
		return
	}
	s.counters.echoReplies.Add(1)
}

// fragScratch is a buffer for a whole packet before sendFragments cuts
// it; allocated on first use.
func (s *Stack) fragScratch() []byte {
	if s.frags.scratch == nil {
		s.frags.scratch = make([]byte, wire.IPv6HeaderLen+maxPacket)
	}
	return s.frags.scratch
}

// sendFragments puts the IP packet pkt, larger than the link's MTU, into
// the output batch in fragments of at most the MTU.
func (s *Stack) sendFragments(pkt []byte) error {
	// RFC 791 §3.2: every fragment but the last carries a multiple of 8
	// bytes. IPv6 puts an 8-byte fragment header in each (RFC 8200 §4.5).
	headerLen, chunk := wire.IPv4HeaderLen, s.frags.mtu-wire.IPv4HeaderLen
	if pkt[0]>>4 == 6 {
		headerLen, chunk = wire.IPv6HeaderLen, s.frags.mtu-wire.IPv6HeaderLen-8
	}
	chunk &^= 7
	id := newFragmentID()
	payloadLen := len(pkt) - headerLen
	for from := 0; from < payloadLen; from += chunk {
		to := min(from+chunk, payloadLen)
		if s.out.n >= outBatchLimit {
			s.flush()
		}
		buf := s.out.next(s.frags.mtu)
		m, err := wire.BuildFragment(buf[Headroom:], pkt, id, from, to, to < payloadLen)
		if err != nil {
			return err
		}
		s.out.commit(m)
		s.counters.frag.fragmentsOut.Add(1)
	}
	return nil
}

// newFragmentID is an identification for a datagram sent in fragments:
// RFC 6864 §4.2 and RFC 7739 ask for one that others cannot predict,
// fresh for each datagram.
func newFragmentID() uint32 { return rand.Uint32() }

// FragCounters counts IP reassembly, with RFC 4293's IP-MIB names where
// one exists. The fragments dropped are also in Counters.Drops, under the
// codes of stack/ipfrag ("frag-overlap", "frag-tiny", ...).
type FragCounters struct {
	Fragments   uint64 // fragments received (ipSystemStatsReasmReqds)
	Reassembled uint64 // datagrams reassembled (ipSystemStatsReasmOKs)
	Atomic      uint64 // IPv6 atomic fragments taken as whole packets (RFC 6946)
	// Discarded counts datagrams given up, by the code of the reason:
	// "frag-overlap", "frag-too-big", "frag-inconsistent",
	// "frag-too-many", "frag-timeout", "frag-evicted" (ipSystemStatsReasmFails
	// is their sum). Every reason is present, zero or not.
	Discarded map[string]uint64
	// TimeExceeded counts the ICMP "fragment reassembly time exceeded"
	// messages sent, TimeExceededLimited those the rate limit held back.
	TimeExceeded, TimeExceededLimited uint64
	// FragmentsOut counts the fragments the stack sent: echo replies
	// and UDP datagrams larger than the MTU (ipSystemStatsOutFragCreates).
	FragmentsOut uint64
	// Pending is the incomplete datagrams held when the snapshot was
	// taken, Memory the bytes charged to them (bounded by
	// Options.FragMemory).
	Pending, Memory uint64
}

// fragCounters is the live form of FragCounters.
type fragCounters struct {
	fragments, reassembled, atomic    atomic.Uint64
	discarded                         [ipfrag.Evicted + 1]atomic.Uint64 // by ipfrag.Reason
	timeExceeded, timeExceededLimited atomic.Uint64
	fragmentsOut                      atomic.Uint64
	pending, memory                   atomic.Uint64
}

// held records how much the reassembler holds now.
func (c *fragCounters) held(r *ipfrag.Reassembler) {
	c.pending.Store(uint64(r.Pending()))
	c.memory.Store(uint64(r.Memory()))
}

func (c *fragCounters) snapshot() FragCounters {
	out := FragCounters{
		Fragments:           c.fragments.Load(),
		Reassembled:         c.reassembled.Load(),
		Atomic:              c.atomic.Load(),
		Discarded:           make(map[string]uint64),
		TimeExceeded:        c.timeExceeded.Load(),
		TimeExceededLimited: c.timeExceededLimited.Load(),
		FragmentsOut:        c.fragmentsOut.Load(),
		Pending:             c.pending.Load(),
		Memory:              c.memory.Load(),
	}
	for _, why := range ipfrag.DiscardReasons() {
		out.Discarded[why.Code()] = c.discarded[why].Load()
	}
	return out
}
