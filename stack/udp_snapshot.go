package stack

import (
	"cmp"
	"net/netip"
	"slices"
)

// UDPSocketInfo is a snapshot of one UDP socket, for `tunstack ss -u` and
// tests.
type UDPSocketInfo struct {
	// Local is the address and port the socket is bound to, with an
	// unspecified address for every address of a family (a socket of
	// "udp" on every address of both shows as [::]:port); Remote is
	// valid for a connected socket.
	Local, Remote netip.AddrPort
	// RecvQueue is the bytes of data waiting to be read, in Datagrams
	// datagrams.
	RecvQueue, Datagrams int
	// Drops counts the datagrams dropped because the receive queue was
	// full or the buffer budget had no room.
	Drops uint64
}

// UDPSockets returns a snapshot of every open UDP socket, sorted by local
// then remote address. It does not need the loop.
func (s *Stack) UDPSockets() []UDPSocketInfo {
	socks := s.udp.sockets()
	infos := make([]UDPSocketInfo, 0, len(socks))
	for _, c := range socks {
		infos = append(infos, c.info())
	}
	slices.SortFunc(infos, func(a, b UDPSocketInfo) int {
		return cmp.Or(a.Local.Compare(b.Local), a.Remote.Compare(b.Remote))
	})
	return infos
}

func (c *UDPConn) info() UDPSocketInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	info := UDPSocketInfo{Local: c.local, Remote: c.remote, Datagrams: len(c.queue), Drops: c.drops}
	for _, d := range c.queue {
		info.RecvQueue += d.n
	}
	return info
}
