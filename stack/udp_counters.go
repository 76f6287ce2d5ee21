package stack

import "sync/atomic"

// UDPCounters counts UDP, with the names of Linux's /proc/net/snmp Udp:
// and Udp6: lines (RFC 4113's UDP-MIB for the first four), both families
// together.
type UDPCounters struct {
	InDatagrams  uint64 // datagrams queued on a socket
	NoPorts      uint64 // datagrams to a port no socket is bound to ("udp-no-port")
	InErrors     uint64 // datagrams dropped for anything else: malformed, bad checksum, a full receive queue
	OutDatagrams uint64 // datagrams sent (a datagram sent in fragments counts once)
	// RcvbufErrors counts datagrams dropped because their socket's
	// receive queue was full ("udp-receive-queue-full") or the buffer
	// budget had no room ("udp-budget").
	RcvbufErrors uint64
	// InCsumErrors counts datagrams with a bad checksum, and IPv6 ones
	// without one (RFC 8200 §8.1): "udp-bad-checksum",
	// "udp-zero-checksum".
	InCsumErrors uint64
	// PortUnreachables counts the ICMP port unreachable messages sent
	// for NoPorts; PortUnreachablesLimited those the ICMP rate limit
	// held back (Options.ICMPRateLimit).
	PortUnreachables, PortUnreachablesLimited uint64
	// ICMPErrors counts ICMP errors received that quote a datagram of a
	// socket of the stack (ECONNREFUSED and the like for a connected one).
	ICMPErrors uint64
	// Sockets is how many UDP sockets are open.
	Sockets uint64
}

// udpCounters is the live form of UDPCounters.
type udpCounters struct {
	inDatagrams, noPorts, inErrors, outDatagrams atomic.Uint64
	rcvbufErrors, inCsumErrors                   atomic.Uint64
	unreachSent, unreachLimited, icmpErrors      atomic.Uint64
}

func (c *udpCounters) snapshot() UDPCounters {
	return UDPCounters{
		InDatagrams:             c.inDatagrams.Load(),
		NoPorts:                 c.noPorts.Load(),
		InErrors:                c.inErrors.Load(),
		OutDatagrams:            c.outDatagrams.Load(),
		RcvbufErrors:            c.rcvbufErrors.Load(),
		InCsumErrors:            c.inCsumErrors.Load(),
		PortUnreachables:        c.unreachSent.Load(),
		PortUnreachablesLimited: c.unreachLimited.Load(),
		ICMPErrors:              c.icmpErrors.Load(),
	}
}
