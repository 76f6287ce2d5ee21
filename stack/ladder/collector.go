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
// connection once its last segment has been seen: when it reaches CLOSED,
// goes back to LISTEN (where the stack discards it), or enters TIME-WAIT.
// A connection in TIME-WAIT has sent and received its last segment of
// note, and is drawn then, not 2*MSL later when it closes: what follows
// in TIME-WAIT (a retransmitted FIN and its ACK, the end of 2*MSL) is left
// out of its diagram. A new SYN that ends TIME-WAIT (RFC 6191) starts the
// next connection of the 4-tuple.
// It is not safe for concurrent use.
type Collector struct {
	// Limit bounds the events kept of one connection (DefaultLimit when
	// zero). Beyond it, ordinary segments are only counted
	// (Connection.Omitted); state changes, drops and segments with SYN,
	// FIN or RST are always kept.
	Limit int

	open map[tcp.ID]*pending
	// timeWait holds the connections handed back as they entered
	// TIME-WAIT, until TIME-WAIT ends, with the last SYN that arrived
	// there: the first event of the next connection if that SYN ends
	// TIME-WAIT.
	timeWait map[tcp.ID]*stack.Event
	seen     uint64 // connections seen so far, to order Flush
}

// maxTimeWait bounds Collector.timeWait: a stream that lost the events
// ending TIME-WAIT (a subscriber too slow) must not grow it for ever.
const maxTimeWait = 1 << 16

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
	if syn, ok := c.timeWait[ev.Conn]; ok {
		if !c.afterTimeWait(ev, syn) {
			return Connection{}, false
		}
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
	switch {
	case Ends(ev):
	case ev.Kind == stack.EventStateChange && ev.To == tcp.TimeWait:
		c.enterTimeWait(ev.Conn)
	default:
		return Connection{}, false
	}
	delete(c.open, ev.Conn)
	return conn.Connection, true
}

func (c *Collector) enterTimeWait(id tcp.ID) {
	if c.timeWait == nil {
		c.timeWait = make(map[tcp.ID]*stack.Event)
	}
	if len(c.timeWait) >= maxTimeWait {
		for old := range c.timeWait {
			delete(c.timeWait, old)
			break
		}
	}
	c.timeWait[id] = nil
}

// afterTimeWait takes an event of a connection drawn as it entered
// TIME-WAIT, and reports whether the event begins a new connection (Add
// goes on with it): the state change that ends TIME-WAIT for a new SYN
// (RFC 6191) hands the SYN that caused it to a new connection. Other
// events of TIME-WAIT are left out.
func (c *Collector) afterTimeWait(ev stack.Event, syn *stack.Event) bool {
	switch {
	case ev.Kind == stack.EventSegmentIn && ev.Seg.Flags&(tcp.FlagSYN|tcp.FlagACK) == tcp.FlagSYN:
		c.timeWait[ev.Conn] = &ev
		return false
	case ev.Kind != stack.EventStateChange || ev.From != tcp.TimeWait:
		return false
	}
	delete(c.timeWait, ev.Conn)
	if ev.Reason != tcp.ReasonTimeWaitReopen || syn == nil {
		return false
	}
	c.seen++
	if c.open == nil {
		c.open = make(map[tcp.ID]*pending)
	}
	c.open[ev.Conn] = &pending{first: c.seen, Connection: Connection{Events: []stack.Event{*syn}}}
	return false
}

// Flush returns the connections that have not finished, in the order
// they were first seen, and forgets them and those in TIME-WAIT.
func (c *Collector) Flush() []Connection {
	c.timeWait = nil
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
