package ladder

import (
	"cmp"
	"maps"
	"slices"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// DefaultLimit is how many events a Collector keeps of one connection
// unless told otherwise.
const DefaultLimit = 10000

// Collector groups a stream of events by connection and hands back each
// connection when it has finished: reached CLOSED (after TIME-WAIT, if it
// went through it), or gone back to LISTEN, where the stack discards it.
// It is not safe for concurrent use.
type Collector struct {
	// Limit bounds the events kept of one connection (DefaultLimit when
	// zero). Beyond it, ordinary segments are only counted
	// (Connection.Omitted); state changes, drops and segments with SYN,
	// FIN or RST are always kept.
	Limit int

	open map[tcp.ID]*pending
	seen uint64 // connections seen so far, to order Flush
}

type pending struct {
	Connection
	first uint64
}

// Add records ev. When ev finishes its connection, Add returns the
// connection and true, and forgets it: the 4-tuple may be used again.
// Events without a connection are ignored.
func (c *Collector) Add(ev stack.Event) (Connection, bool) {
	if ev.Conn == (tcp.ID{}) {
		return Connection{}, false
	}
	if c.open == nil {
		c.open = make(map[tcp.ID]*pending)
	}
	conn := c.open[ev.Conn]
	if conn == nil {
		c.seen++
		conn = &pending{first: c.seen}
		c.open[ev.Conn] = conn
	}
	limit := c.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	if len(conn.Events) >= limit && ordinary(ev) {
		conn.Omitted++
	} else {
		conn.Events = append(conn.Events, ev)
	}
	if !Ends(ev) {
		return Connection{}, false
	}
	delete(c.open, ev.Conn)
	return conn.Connection, true
}

// Flush returns the connections that have not finished, in the order
// they were first seen, and forgets them.
func (c *Collector) Flush() []Connection {
	open := slices.SortedFunc(maps.Values(c.open), func(a, b *pending) int { return cmp.Compare(a.first, b.first) })
	conns := make([]Connection, len(open))
	for i, p := range open {
		conns[i] = p.Connection
	}
	c.open = nil
	return conns
}

// ordinary reports whether ev is a segment without SYN, FIN or RST.
func ordinary(ev stack.Event) bool {
	return (ev.Kind == stack.EventSegmentIn || ev.Kind == stack.EventSegmentOut) &&
		ev.Seg.Flags&(tcp.FlagSYN|tcp.FlagFIN|tcp.FlagRST) == 0
}

// Ends reports whether ev ends its connection: a state change to CLOSED,
// or back to LISTEN, after which the stack discards the connection.
func Ends(ev stack.Event) bool {
	return ev.Kind == stack.EventStateChange &&
		(ev.To == tcp.Closed || ev.To == tcp.Listen && ev.From != tcp.Closed)
}
