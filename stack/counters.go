package stack

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/tunstack/tunstack/stack/tcp"
)

// Counters is a snapshot of what the stack has seen and done.
type Counters struct {
	PacketsIn   uint64 // IP packets read from the link
	PacketsOut  uint64 // IP packets written to the link
	SegmentsIn  uint64 // TCP segments handed to a connection or a listener
	SegmentsOut uint64 // TCP segments sent, RSTs for closed ports included
	RSTsSent    uint64 // RST segments sent, by the engine or for closed ports
	EchoReplies uint64 // ICMP and ICMPv6 echo replies sent
	EventsLost  uint64 // events a slow subscriber did not take
	// Drops counts discarded packets and segments by reason: the wire
	// error codes ("ip-bad-checksum", "tcp-bad-data-offset", ...),
	// "not-our-address", "unknown-protocol", "no-listener" (answered with
	// RST), "backlog-full", "link-write" (the link refused a batch),
	// "link-read" (a Read failed but the link lives on),
	// "build:<wire code>" (a segment could not be serialized) and
	// "engine:<reason code>" for segments the engine discarded.
	Drops map[string]uint64
}

// Drop reasons the stack itself decides.
const (
	dropNotOurAddress   = "not-our-address"
	dropUnknownProtocol = "unknown-protocol"
	dropNoListener      = "no-listener"
	dropBacklogFull     = "backlog-full"
	dropLinkWrite       = "link-write"
	dropLinkRead        = "link-read"
)

// counters is the live form of Counters: the loop adds, anyone reads.
type counters struct {
	packetsIn, packetsOut   atomic.Uint64
	segmentsIn, segmentsOut atomic.Uint64
	rstsSent, echoReplies   atomic.Uint64

	mu          sync.Mutex
	drops       map[string]uint64
	engineDrops map[tcp.Reason]uint64 // named only in snapshots: no allocation per drop
}

func (c *counters) engineDrop(why tcp.Reason) {
	c.mu.Lock()
	if c.engineDrops == nil {
		c.engineDrops = make(map[tcp.Reason]uint64)
	}
	c.engineDrops[why]++
	c.mu.Unlock()
}

func (c *counters) drop(reason string) { c.dropN(reason, 1) }

func (c *counters) dropN(reason string, n uint64) {
	c.mu.Lock()
	if c.drops == nil {
		c.drops = make(map[string]uint64)
	}
	c.drops[reason] += n
	c.mu.Unlock()
}

func (c *counters) snapshot() Counters {
	c.mu.Lock()
	drops := maps.Clone(c.drops)
	if drops == nil {
		drops = make(map[string]uint64, len(c.engineDrops))
	}
	for why, n := range c.engineDrops {
		drops["engine:"+why.Code()] += n
	}
	c.mu.Unlock()
	return Counters{
		PacketsIn:   c.packetsIn.Load(),
		PacketsOut:  c.packetsOut.Load(),
		SegmentsIn:  c.segmentsIn.Load(),
		SegmentsOut: c.segmentsOut.Load(),
		RSTsSent:    c.rstsSent.Load(),
		EchoReplies: c.echoReplies.Load(),
		Drops:       drops,
	}
}
