package stack

import (
	"net/netip"
	"syscall"

	"github.com/tunstack/tunstack/stack/wire"
)

// PortUnreachable tells a gateway flow's client that its destination
// refused the flow's datagrams: the stack sends it an ICMP port
// unreachable from the destination's address, quoting the headers of a
// datagram of the flow, as the destination's own ICMP error would have
// (RFC 1122 §4.1.3.1, RFC 4443 §3.1), within the stack's ICMP rate limit.
// A gateway calls it when its host socket to the destination reports
// ECONNREFUSED, so that the client's connected socket sees ECONNREFUSED as
// it would without the gateway. Only a socket a gateway accepted
// (UDPForwardRequest.Accept) may: others get EOPNOTSUPP.
func (c *UDPConn) PortUnreachable() error {
	if !c.flow {
		return c.opError("write", syscall.EOPNOTSUPP, netip.AddrPort{})
	}
	c.mu.Lock()
	err := c.stateErrLocked()
	c.mu.Unlock()
	if err == nil {
		err = c.s.udpOut.putUnreachable(c.local, c.remote)
	}
	if err != nil {
		return c.opError("write", err, c.remote)
	}
	c.s.nudge()
	return nil
}

// relayPortUnreachable sends client a port unreachable from dst, quoting
// a datagram client -> dst with no data. Runs on the loop.
func (s *Stack) relayPortUnreachable(dst, client netip.AddrPort) {
	uc := &s.counters.udp
	if !s.limits.icmp.allow(s.now) {
		uc.unreachLimited.Add(1)
		return
	}
	var quoted [wire.IPv6HeaderLen + 8]byte
	n, err := wire.BuildUDP(quoted[:], client, dst, nil)
	if err != nil {
		return
	}
	p, err := wire.ParseIP(quoted[:n])
	if err != nil {
		return
	}
	m, err := wire.PortUnreachable(s.icmpErrorBuffer(n), &p)
	if err != nil {
		return
	}
	s.out.commit(m)
	uc.unreachSent.Add(1)
}
