package kernelstates

import (
	"net/netip"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// maxConnections bounds the kernel connections a records keeps: beyond
// it, the one first seen longest ago is forgotten.
const maxConnections = 4096

// ends is a kernel socket's two ends: its own, then its peer's.
type ends struct{ local, remote netip.AddrPort }

// record is one life of a kernel connection: the changes from its first
// state (CLOSED for a connect, LISTEN for a listener's child) on.
type record struct {
	changes []Change
	// miniFinWait2 says the socket reported CLOSE from FIN-WAIT-2 while
	// sock_diag showed a FIN-WAIT-2 mini-socket: its move to TIME-WAIT,
	// if any, fires no tracepoint.
	miniFinWait2 bool
}

func (r *record) last() tcp.State { return r.changes[len(r.changes)-1].To }

// records groups changes into the connections they belong to.
type records struct {
	conns map[ends][]*record
	order []ends // first seen first, to bound the map
	// connecting are connects whose socket has no port yet (CLOSED →
	// SYN-SENT), by their local address and remote end: the next change
	// from SYN-SENT between them, which has the port, is theirs.
	connecting map[ends]Change
}

func newRecords() *records {
	return &records{conns: map[ends][]*record{}, connecting: map[ends]Change{}}
}

// add files a change under its connection and returns that connection's
// record, or nil for a change that belongs to none (a listener's own).
func (rs *records) add(c Change) *record {
	if c.Remote.Port() == 0 {
		return nil // a listening socket
	}
	if c.From == c.To {
		return nil // TCP_NEW_SYN_RECV → TCP_SYN_RECV: both SYN-RECEIVED
	}
	if c.Local.Port() == 0 {
		rs.connecting[ends{netip.AddrPortFrom(c.Local.Addr(), 0), c.Remote}] = c
		return nil
	}
	key := ends{c.Local, c.Remote}
	list := rs.conns[key]
	pending := ends{netip.AddrPortFrom(c.Local.Addr(), 0), c.Remote}
	first, connected := rs.connecting[pending]
	connected = connected && c.From == tcp.SynSent
	if connected || c.From == tcp.Closed || c.From == tcp.Listen || len(list) == 0 {
		r := &record{}
		if connected {
			first.Local = c.Local
			r.changes = append(r.changes, first)
			delete(rs.connecting, pending)
		}
		if len(list) == 0 {
			rs.remember(key)
		}
		list = append(list, r)
		rs.conns[key] = list
	}
	r := list[len(list)-1]
	r.changes = append(r.changes, c)
	return r
}

func (rs *records) remember(key ends) {
	rs.order = append(rs.order, key)
	if len(rs.order) > maxConnections {
		delete(rs.conns, rs.order[0])
		rs.order = rs.order[1:]
	}
}

// find returns the latest record of the kernel connection key that began
// before until (the end of what the caller saw of the connection), or
// nil.
func (rs *records) find(key ends, until time.Duration) *record {
	list := rs.conns[key]
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].changes[0].At <= until {
			return list[i]
		}
	}
	return nil
}
