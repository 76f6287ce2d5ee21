package stack

import (
	"net/netip"

	"github.com/tunstack/tunstack/stack/wire"
)

// Martian packets carry addresses no honest host sends from, or that TCP
// must not take: the stack drops them at IP input, before TCP or ICMP
// sees them, so that they make no state (no half-open connection, no
// TIME-WAIT answer) and draw no answer (no SYN-ACK, RST or echo reply to
// an address that cannot want one, or that is the stack's own).

// Drop reasons of the stack's IP input.
const (
	// RFC 1122 §3.2.1.3: "A host MUST silently discard an incoming
	// datagram containing an IP source address that is invalid by the
	// rules of this section."
	dropMartianSourceBroadcast   = "martian-source-broadcast"   // 255.255.255.255 (§3.2.1.3 (c))
	dropMartianSourceMulticast   = "martian-source-multicast"   // 224/4 (RFC 1112 §4), ff00::/8 (RFC 4291 §2.7)
	dropMartianSourceLoopback    = "martian-source-loopback"    // 127/8 (§3.2.1.3 (g)), ::1 (RFC 4291 §2.5.3)
	dropMartianSourceUnspecified = "martian-source-unspecified" // 0/8 (§3.2.1.3 (a), (b)), :: (RFC 4291 §2.5.2)
	dropMartianSourceClassE      = "martian-source-class-e"     // 240/4, reserved (RFC 1812 §4.2.2.11, §5.3.7)
	dropMartianSourceOwnAddress  = "martian-source-own-address" // the stack's own (a LAND attack)
	dropMartianSourceIPv4Mapped  = "martian-source-ipv4-mapped" // ::ffff:0:0/96 (RFC 4291 §2.5.5.2)
	// RFC 1122 §4.2.3.10: "A TCP implementation MUST silently discard an
	// incoming SYN segment that is addressed to a broadcast or multicast
	// address." The stack discards every TCP segment so addressed.
	dropMartianDestBroadcast = "martian-destination-broadcast"
	dropMartianDestMulticast = "martian-destination-multicast"
	// dropICMPRateLimit: an echo request whose reply Options.ICMPRateLimit
	// held back.
	dropICMPRateLimit = "icmp-ratelimit"
)

// ownDrops are the drop reasons of this file and ratelimit.go, counted
// in a fixed slot each (counters.go).
var ownDrops = []string{
	dropMartianSourceBroadcast, dropMartianSourceMulticast, dropMartianSourceLoopback,
	dropMartianSourceUnspecified, dropMartianSourceClassE, dropMartianSourceOwnAddress,
	dropMartianSourceIPv4Mapped, dropMartianDestBroadcast, dropMartianDestMulticast,
	dropICMPRateLimit,
}

var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// refuse returns why the stack must not take packet p, or "" if it may:
// the destination first (a packet for someone else is not ours to judge),
// then the source.
func (s *Stack) refuse(p *wire.Packet) string {
	if p.Protocol == wire.ProtoTCP {
		switch {
		case p.Dst.IsMulticast():
			return dropMartianDestMulticast
		case p.Dst == limitedBroadcast:
			return dropMartianDestBroadcast
		}
	}
	if !s.isLocal(p.Dst) && !s.takesDestination(p.Dst, p.Protocol) {
		return dropNotOurAddress
	}
	return s.martianSource(p.Src)
}

// martianSource returns why src cannot be the source of a packet for the
// stack, or "".
func (s *Stack) martianSource(src netip.Addr) string {
	switch {
	case src.Is4In6():
		return dropMartianSourceIPv4Mapped
	case src.IsUnspecified() || src.Is4() && src.As4()[0] == 0:
		return dropMartianSourceUnspecified
	case src.IsLoopback():
		return dropMartianSourceLoopback
	case src.IsMulticast():
		return dropMartianSourceMulticast
	case src == limitedBroadcast:
		return dropMartianSourceBroadcast
	case src.Is4() && src.As4()[0] >= 240:
		return dropMartianSourceClassE
	case s.isLocal(src):
		return dropMartianSourceOwnAddress
	}
	return ""
}

// dropPacketOf counts a packet dropped before TCP and publishes the drop
// with the packet's addresses.
func (s *Stack) dropPacketOf(p *wire.Packet, reason string) {
	s.counters.drop(reason)
	s.capture.noteDrop(reason)
	if s.events.active() {
		s.events.publish(Event{Time: s.now, Kind: EventDrop, Detail: reason, Src: p.Src, Dst: p.Dst})
	}
}

// dropTexts say in a line, with the rule, why the stack dropped a packet
// for each of its own reasons.
var dropTexts = map[string]string{
	dropNotOurAddress:            "not addressed to the stack",
	dropUnknownProtocol:          "neither TCP, UDP nor ICMP",
	dropUDPNoPort:                "RFC 1122 §4.1.3.1: UDP to a port no socket is bound to: answer with port unreachable",
	dropUDPQueueFull:             "the UDP socket's receive queue is full",
	dropUDPBudget:                "the buffer budget has no room for the UDP datagram",
	dropUDPNotForwarded:          "UDP to an address not the stack's that the gateway did not take",
	dropNoListener:               "RFC 9293 §3.10.7.1: no connection or listener: answer with RST",
	dropSynQueueFull:             "the listener's half-open queue is full and SYN cookies are off: SYN dropped",
	dropAcceptQueueFull:          "the listener's accept queue is full: SYN or cookie ACK dropped until the application accepts",
	dropLinkWrite:                "the link refused a batch",
	dropLinkRead:                 "a read from the link failed",
	dropICMPNoConnection:         "RFC 5927: ICMP error for no connection of the stack",
	dropMartianSourceBroadcast:   "RFC 1122 §3.2.1.3: martian source: the limited broadcast address",
	dropMartianSourceMulticast:   "RFC 1122 §3.2.1.3: martian source: a multicast address",
	dropMartianSourceLoopback:    "RFC 1122 §3.2.1.3: martian source: a loopback address",
	dropMartianSourceUnspecified: "RFC 1122 §3.2.1.3: martian source: unspecified, 0.0.0.0/8 or ::",
	dropMartianSourceClassE:      "RFC 1812 §5.3.7: martian source: reserved, 240.0.0.0/4",
	dropMartianSourceOwnAddress:  "martian source: the stack's own address",
	dropMartianSourceIPv4Mapped:  "RFC 4291 §2.5.5.2: martian source: an IPv4-mapped IPv6 address",
	dropMartianDestBroadcast:     "RFC 1122 §4.2.3.10: TCP to a broadcast address",
	dropMartianDestMulticast:     "RFC 1122 §4.2.3.10: TCP to a multicast address",
	dropICMPRateLimit:            "echo request: no reply, the stack's ICMP rate limit is reached",
}

// DropText says in a line why the stack dropped a packet for reason, one
// of its own codes in Counters.Drops and Event.Detail
// ("martian-source-loopback"); "" for the others (the wire's codes, like
// "ip-bad-checksum", say it themselves).
func DropText(reason string) string { return dropTexts[reason] }
