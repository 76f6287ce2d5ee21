package stack

import (
	"net/netip"

	"github.com/tunstack/tunstack/stack/tcp"
)

// connLimits bounds the connections a stack holds (Options.MaxConns) and
// those of one peer (Options.MaxConnsPerPeer), both off by default. A
// peer is an IPv4 address or an IPv6 /64: a host that owns a /64 could
// otherwise use a new address for every connection. Connections count in
// every state the loop holds them in, from SYN-RECEIVED to LAST-ACK,
// those the application dialled included; TIME-WAIT records, 64 bytes
// each, do not.
//
// A SYN over a limit is dropped, not refused with a RST: a RST would be
// sent to whatever address a spoofed SYN names, one for each SYN, and
// would end an honest client's connect at once, where a drop lets its
// SYN retransmissions (1 s, 2 s, 4 s, ...) find the slot that a closing
// connection frees. Linux drops a SYN for a full accept queue in the same
// way (unless tcp_abort_on_overflow is set).
type connLimits struct {
	max, perPeer int
	peers        map[netip.Prefix]int // connections per peer, only with perPeer
}

// peerOf is the peer a remote address counts for.
func peerOf(a netip.Addr) netip.Prefix {
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

func (l *connLimits) add(id tcp.ID) {
	if l.perPeer > 0 {
		if l.peers == nil {
			l.peers = make(map[netip.Prefix]int)
		}
		l.peers[peerOf(id.Remote.Addr())]++
	}
}

func (l *connLimits) remove(id tcp.ID) {
	if l.perPeer > 0 {
		p := peerOf(id.Remote.Addr())
		if l.peers[p]--; l.peers[p] <= 0 {
			delete(l.peers, p)
		}
	}
}

// admit reports whether a SYN for id may make a connection, and counts
// it as dropped if not.
func (s *Stack) admit(id tcp.ID, seg *tcp.Segment) bool {
	l := &s.connLimits
	switch {
	case l.max > 0 && len(s.conns) >= l.max:
		s.dropSegment(id, seg, dropConnLimit)
		return false
	case l.perPeer > 0 && l.peers[peerOf(id.Remote.Addr())] >= l.perPeer:
		s.dropSegment(id, seg, dropPeerConnLimit)
		return false
	}
	return true
}
