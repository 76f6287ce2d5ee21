package stack

import (
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// sendUnreachable answers syn, a SYN to id.Local that the stack cannot
// deliver, with an ICMP destination unreachable from the stack's own
// address of its family (the router the client's packets reached),
// quoting the SYN's headers, within the ICMP rate limit. Runs on the loop.
func (s *Stack) sendUnreachable(id tcp.ID, syn *tcp.Segment, why wire.Unreachability) {
	router, ok := s.localAddrFor(id.Remote.Addr())
	if !ok {
		return
	}
	if !s.limits.icmp.allow(s.now) {
		s.counters.unreachablesLimited.Add(1)
		return
	}
	seg := *syn
	seg.Payload = nil
	seg.SrcPort, seg.DstPort = id.Remote.Port(), id.Local.Port()
	var quoted [wire.IPv6HeaderLen + wire.TCPHeaderLen + 40]byte
	n, err := wire.BuildTCP(quoted[:], id.Remote.Addr(), id.Local.Addr(), &seg, wire.DefaultTTL)
	if err != nil {
		return
	}
	p, err := wire.ParseIP(quoted[:n])
	if err != nil {
		return
	}
	m, err := wire.DestinationUnreachable(s.icmpErrorBuffer(n), &p, router, why)
	if err != nil {
		return
	}
	s.out.commit(m)
	s.counters.unreachables.Add(1)
}
