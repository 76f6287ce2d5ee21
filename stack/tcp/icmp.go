package tcp

import "time"

// ICMP errors about this connection's segments (RFC 9293 §3.9.1 "ICMP
// messages", RFC 1122 §4.2.3.9, RFC 5461): packet-too-big lowers the MSS
// (RFC 1191, RFC 8201); a hard error aborts a connection still in
// SYN-SENT; every other error is soft: remembered, and reported if the
// connection later times out.

// ICMPErrorKind says what an ICMP error reports.
type ICMPErrorKind uint8

// ICMP error kinds the engine acts on.
const (
	ICMPNetUnreachable   ICMPErrorKind = iota + 1 // net unreachable, no route
	ICMPHostUnreachable                           // host unreachable, address unreachable
	ICMPPortUnreachable                           // port or protocol unreachable: a hard error
	ICMPAdminProhibited                           // communication administratively prohibited
	ICMPPacketTooBig                              // fragmentation needed / packet too big
	ICMPTimeExceeded                              // TTL or hop limit exceeded
	ICMPParameterProblem                          // parameter problem
)

// ICMPError is one ICMP error quoting a segment of this connection.
type ICMPError struct {
	Kind ICMPErrorKind
	Seq  Seq // SEG.SEQ of the quoted segment
	MTU  int // ICMPPacketTooBig: the next-hop MTU
}

// minMSS is the floor for a PMTU-lowered MSS: RFC 8201's 1280-byte IPv6
// minimum MTU, and for IPv4 the 576 bytes every host accepts (RFC 1122),
// so that a forged message cannot shrink segments to nothing.
func (c *Conn) minMSS() uint16 {
	if c.id.Remote.Addr().Is6() && !c.id.Remote.Addr().Is4In6() {
		return 1280 - 40 - 20
	}
	return 576 - 20 - 20
}

// ICMP handles an ICMP error the stack matched to this connection.
func (c *Conn) ICMP(now time.Time, e ICMPError) {
	// RFC 5927 §4.1: act only on errors quoting a sequence number in flight.
	if c.state == Closed || c.state == Listen || !e.Seq.InRange(c.snd.una, c.snd.max.Add(1)) {
		c.dropICMP(ReasonICMPIgnored)
		return
	}
	switch e.Kind {
	case ICMPPacketTooBig:
		c.lowerMSS(now, e.MTU)
	case ICMPPortUnreachable:
		if c.state == SynSent || c.state == SynReceived {
			c.err = ErrConnectionRefused
			c.enterClosed(nil, ReasonICMPHardError)
			return
		}
		c.softErr = ErrConnectionRefused
	case ICMPNetUnreachable:
		c.softErr = ErrNetworkUnreachable
	case ICMPHostUnreachable, ICMPAdminProhibited, ICMPTimeExceeded, ICMPParameterProblem:
		c.softErr = ErrHostUnreachable
	}
}

// lowerMSS applies a smaller path MTU: segments that no longer fit were
// dropped on the way and go out again, split (RFC 1191 §6.3).
func (c *Conn) lowerMSS(now time.Time, mtu int) {
	hdr := 40
	if c.id.Remote.Addr().Is6() && !c.id.Remote.Addr().Is4In6() {
		hdr = 60
	}
	mss := max(mtu-hdr, int(c.minMSS()))
	if mss >= int(c.snd.mss) {
		c.dropICMP(ReasonICMPIgnored)
		return
	}
	c.snd.mss = uint16(mss)
	c.rec.resegment(uint32(c.dataMSS()))
	c.cc.cwnd = max(c.cc.cwnd, uint32(c.snd.mss))
	if c.env.obs != nil {
		c.env.obs.Drop(c, nil, ReasonPMTU)
	}
	c.output(now)
}

func (c *Conn) dropICMP(why Reason) {
	if c.env.obs != nil {
		c.env.obs.Drop(c, nil, why)
	}
}
