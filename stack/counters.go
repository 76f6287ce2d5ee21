package stack

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tunstack/tunstack/stack/ipfrag"
	"github.com/tunstack/tunstack/stack/tcp"
	"github.com/tunstack/tunstack/stack/wire"
)

// Counters is a snapshot of what the stack has seen and done.
type Counters struct {
	PacketsIn   uint64 // IP packets read from the link
	PacketsOut  uint64 // IP packets written to the link
	BytesIn     uint64 // bytes of the IP packets read from the link
	BytesOut    uint64 // bytes of the IP packets written to the link
	SegmentsIn  uint64 // TCP segments handed to a connection or a listener
	SegmentsOut uint64 // TCP segments sent, RSTs for closed ports included
	RSTsSent    uint64 // RST segments sent, by the engine or for closed ports
	EchoReplies uint64 // ICMP and ICMPv6 echo replies sent
	// Unreachables counts the ICMP destination unreachables sent for
	// SYNs a gateway could not deliver (SYNRequest.Unreachable).
	Unreachables uint64
	EventsLost   uint64 // events a slow subscriber did not take
	// PayloadIn and PayloadOut count the TCP payload bytes of the
	// segments in SegmentsIn and SegmentsOut: retransmitted and
	// duplicate data included, as the segment counters do.
	PayloadIn, PayloadOut uint64
	// Drops counts discarded packets and segments by reason: the wire
	// error codes ("ip-bad-checksum", "tcp-bad-data-offset", ...),
	// "not-our-address", "martian-source-loopback" and the other
	// "martian-*" (martian.go), "icmp-ratelimit", "unknown-protocol",
	// "udp-no-port" (answered with port unreachable), "udp-receive-queue-full",
	// "udp-budget", "udp-not-forwarded" and the wire's "udp-*" (udp_input.go),
	// "no-listener" (answered with RST), "syn-queue-full" and
	// "accept-queue-full" (a listener's queue was full, listen_queue.go),
	// "link-write" (the link refused a batch), "link-read" (a Read failed but the
	// link lives on),
	// "build:<wire code>" (a segment could not be serialized),
	// "engine:<reason code>" for segments the engine discarded,
	// "syn-held" (a SYN retransmitted while its first waits for a
	// listener's Admit hook), "admission-stale", an Admit hook's own
	// reasons ("forward:backend-unreachable") and "fault:<type>" for
	// segments a fault dropped (stack/fault).
	Drops map[string]uint64

	// ChallengeACKs counts the ACKs sent in answer to a RST in the
	// window but not exact (RFC 5961 §3.2), to a SYN in a synchronized
	// state (§4.2) and to an ACK older than the peer could have seen
	// (§5.2; Linux counts that one as a challenge ACK too).
	ChallengeACKs uint64
	// Retransmits counts segments sent again, by kind: every one of
	// RetransmitKinds is present, zero or not.
	Retransmits map[string]uint64
	// RSTsByReason counts RST segments sent by the reason code of the
	// decision: "closed-rst" for a segment to a port nobody listens on,
	// "abort", "listen-ack-reset", "close-unread-data", ...
	RSTsByReason map[string]uint64
	// RateLimited counts the answers the stack held back, by the limit
	// that held them (RateLimits, each present): "invalid-ratelimit" and
	// "challenge-ack-limit" ACKs to unacceptable segments, per connection
	// and stack-wide; "rst-ratelimit" RSTs for segments no connection
	// takes; "icmp-ratelimit" echo replies. Drops counts the same
	// segments as "engine:invalid-ratelimit", ... and "icmp-ratelimit".
	RateLimited map[string]uint64
	// SYN cookies (RFC 4987 §3.6, listen_queue.go), as Linux's
	// SyncookiesSent, SyncookiesRecv and SyncookiesFailed: SYN-ACKs sent
	// with a cookie, ACKs whose cookie validated and made a connection,
	// and ACKs to a listener that had sent cookies whose cookie did not
	// validate (answered with RST).
	SynCookiesSent, SynCookiesValidated, SynCookiesRejected uint64
	// SYNQueueOverflows counts SYNs that found their listener's half-open
	// queue full: answered with a cookie, or dropped ("syn-queue-full")
	// when cookies are off. AcceptQueueOverflows counts SYNs and cookie
	// ACKs dropped because the accept queue was full ("accept-queue-full";
	// Linux's ListenOverflows).
	SYNQueueOverflows, AcceptQueueOverflows uint64
	// Faults counts the segments each fault acted on (dropped, delayed,
	// changed, duplicated or made up), by its reason: "fault:loss", ...
	// (stack/fault). Its drops are in Drops too, its RSTs in RSTsByReason.
	Faults map[string]uint64
	// MIB holds the RFC 4022 TCP-MIB scalars.
	MIB TCPMIB
	// States counts the connections in each state when the snapshot was
	// taken; each listener counts once in LISTEN. A state with no
	// connection is absent. Empty when the loop does not run.
	States map[tcp.State]int
	// Fragments counts IP fragment reassembly (fragments.go).
	Fragments FragCounters
	// Memory is what the buffer budget and the connection limits did
	// (memory.go).
	Memory MemoryCounters
	// UDP counts datagrams (udp_counters.go).
	UDP UDPCounters
}

// Retransmission kinds, the keys of Counters.Retransmits.
const (
	RetransmitSYN    = "syn"     // SYN resent by the retransmission timer
	RetransmitSYNACK = "syn-ack" // SYN-ACK resent by the timer or for a repeated SYN
	RetransmitData   = "data"    // data resent by the retransmission timer
	RetransmitFIN    = "fin"     // FIN resent by the retransmission timer
	RetransmitFast   = "fast"    // fast retransmit after three duplicate ACKs (RFC 5681 §3.2)
	RetransmitProbe  = "probe"   // zero-window probe (RFC 9293 §3.8.6.1)
	RetransmitTLP    = "tlp"     // a tail loss probe (RFC 8985 §7)
)

// RetransmitKinds lists the retransmission kinds in a fixed order.
var RetransmitKinds = []string{RetransmitSYN, RetransmitSYNACK, RetransmitData, RetransmitFIN, RetransmitFast, RetransmitProbe, RetransmitTLP}

// retransmitKinds maps each reason the engine gives for sending a segment
// again to its kind.
var retransmitKinds = map[tcp.Reason]string{
	tcp.ReasonRetransmitSYN:    RetransmitSYN,
	tcp.ReasonRetransmitSYNACK: RetransmitSYNACK,
	tcp.ReasonTailLossProbe:    RetransmitTLP,
	tcp.ReasonRetransmitData:   RetransmitData,
	tcp.ReasonRetransmitFIN:    RetransmitFIN,
	tcp.ReasonFastRetransmit:   RetransmitFast,
	tcp.ReasonZeroWindowProbe:  RetransmitProbe,
}

// challengeReasons are the reasons the engine sends a challenge ACK for.
var challengeReasons = []tcp.Reason{tcp.ReasonRSTInWindowChallenge, tcp.ReasonSYNChallenge, tcp.ReasonACKOld, tcp.ReasonRSTAtWindowEdge}

// Drop reasons the stack itself decides.
const (
	dropNotOurAddress   = "not-our-address"
	dropUnknownProtocol = "unknown-protocol"
	dropNoListener      = "no-listener"
	dropLinkWrite       = "link-write"
	dropLinkRead        = "link-read"
	dropConnLimit       = "conn-limit"      // Options.MaxConns (connlimits.go)
	dropPeerConnLimit   = "peer-conn-limit" // Options.MaxConnsPerPeer
)

// knownDrops are the drop reasons counted in a fixed slot each, so that
// counting one costs a lookup in a read-only map and an atomic add. Any
// other reason ("build:...") goes to a map under a lock.
var knownDrops = func() []string {
	codes := []string{dropNotOurAddress, dropUnknownProtocol, dropNoListener, dropLinkWrite, dropLinkRead,
		dropICMPNoConnection, dropSynQueueFull, dropAcceptQueueFull, dropConnLimit, dropPeerConnLimit}
	for _, e := range []*wire.Error{
		wire.ErrTruncated, wire.ErrBadVersion, wire.ErrBadHeaderLength, wire.ErrBadIPChecksum,
		wire.ErrBadLength, wire.ErrFragment, wire.ErrRoutingHeader, wire.ErrWrongProtocol,
		wire.ErrTCPTruncated, wire.ErrBadTCPChecksum, wire.ErrBadDataOffset, wire.ErrBadOptions,
		wire.ErrUDPTruncated, wire.ErrBadUDPLength, wire.ErrBadUDPChecksum, wire.ErrUDPZeroChecksum,
		wire.ErrICMPTruncated, wire.ErrBadICMPChecksum, wire.ErrBadICMPOriginal, wire.ErrNotEchoRequest,
		wire.ErrBadAddress, wire.ErrBufferTooSmall, wire.ErrPacketTooLong,
	} {
		codes = append(codes, e.Code())
	}
	codes = append(codes, ownDrops...) // martian.go
	codes = append(codes, udpDrops...) // udp_input.go
	for _, why := range ipfrag.DropReasons() {
		codes = append(codes, why.Code())
	}
	return append(codes, "other")
}()

// dropSlots bounds the reasons counted in a fixed slot; a test checks that
// knownDrops fit.
const dropSlots = 64

var knownDropSlot = func() map[string]int {
	m := make(map[string]int, len(knownDrops))
	for i, code := range knownDrops[:min(len(knownDrops), dropSlots)] {
		m[code] = i
	}
	return m
}()

// isTCPError reports whether a drop reason means a segment reached TCP and
// was in error (RFC 4022 tcpInErrs: bad checksum, bad header).
func isTCPError(code string) bool { return strings.HasPrefix(code, "tcp-") }

// reasonSlots is one counter slot per tcp.Reason.
const reasonSlots = tcp.NumReasons

// reasonCounts counts events per tcp.Reason.
type reasonCounts [reasonSlots]atomic.Uint64

func (r *reasonCounts) add(why tcp.Reason) { r[min(int(why), reasonSlots-1)].Add(1) }

func (r *reasonCounts) load(why tcp.Reason) uint64 {
	if int(why) >= reasonSlots {
		return 0
	}
	return r[why].Load()
}

// counters is the live form of Counters. The loop adds and anyone reads
// (the reader goroutine counts link-read drops too), so every counter is
// atomic; on the hot path a segment costs one or two atomic adds.
type counters struct {
	packetsIn, packetsOut atomic.Uint64
	bytesIn, bytesOut     atomic.Uint64
	segmentsIn            atomic.Uint64
	payloadIn, payloadOut atomic.Uint64
	echoReplies           atomic.Uint64
	unreachables          atomic.Uint64 // sent (tcp_unreachable.go)
	unreachablesLimited   atomic.Uint64 // held back by the ICMP limit

	sent        reasonCounts             // segments sent, by why they were sent
	rstsSent    reasonCounts             // RST segments sent, by why
	engineDrops reasonCounts             // segments the engine discarded, by why
	drops       [dropSlots]atomic.Uint64 // by knownDropSlot

	// RFC 4022 transitions.
	activeOpens, passiveOpens, attemptFails, estabResets atomic.Uint64

	frag fragCounters
	udp  udpCounters
	// Listen queues (listen_queue.go); cookies sent and rejected are
	// counted by reason in sent and engineDrops.
	synCookiesValidated, synQueueOverflows, acceptQueueOverflows atomic.Uint64

	// Segments the stack made on its own (made.go).
	madeSegs atomic.Uint64

	mu         sync.Mutex
	otherDrops map[string]uint64
	madeRSTs   map[string]uint64 // RSTs the stack made, by reason
	faults     map[string]uint64 // Counters.Faults
}

// madeSent counts a segment the stack made on its own (made.go).
func (c *counters) madeSent(flags tcp.Flags, detail string) {
	c.madeSegs.Add(1)
	if flags.Has(tcp.FlagRST) {
		c.mu.Lock()
		if c.madeRSTs == nil {
			c.madeRSTs = make(map[string]uint64)
		}
		c.madeRSTs[detail]++
		c.mu.Unlock()
	}
}

// fault counts a segment a fault acted on.
func (c *counters) fault(reason string) {
	c.mu.Lock()
	if c.faults == nil {
		c.faults = make(map[string]uint64)
	}
	c.faults[reason]++
	c.mu.Unlock()
}

func (c *counters) engineDrop(why tcp.Reason) { c.engineDrops.add(why) }

func (c *counters) drop(reason string) { c.dropN(reason, 1) }

func (c *counters) dropN(reason string, n uint64) {
	if i, ok := knownDropSlot[reason]; ok {
		c.drops[i].Add(n)
		return
	}
	c.mu.Lock()
	if c.otherDrops == nil {
		c.otherDrops = make(map[string]uint64)
	}
	c.otherDrops[reason] += n
	c.mu.Unlock()
}

// segmentSent counts a TCP segment the stack put into the output batch.
func (c *counters) segmentSent(flags tcp.Flags, payload int, why tcp.Reason) {
	c.sent.add(why)
	c.payloadOut.Add(uint64(payload))
	if flags.Has(tcp.FlagRST) {
		c.rstsSent.add(why)
	}
}

// stateChange counts the transitions RFC 4022 defines counters for.
func (c *counters) stateChange(from, to tcp.State) {
	switch {
	case from == tcp.Closed && to == tcp.SynSent:
		c.activeOpens.Add(1)
	case from == tcp.Listen && to == tcp.SynReceived:
		c.passiveOpens.Add(1)
	case to == tcp.Closed && (from == tcp.SynSent || from == tcp.SynReceived),
		from == tcp.SynReceived && to == tcp.Listen:
		c.attemptFails.Add(1)
	case to == tcp.Closed && (from == tcp.Established || from == tcp.CloseWait):
		c.estabResets.Add(1)
	}
}

func (c *counters) snapshot() Counters {
	out := Counters{
		PacketsIn:    c.packetsIn.Load(),
		PacketsOut:   c.packetsOut.Load(),
		BytesIn:      c.bytesIn.Load(),
		BytesOut:     c.bytesOut.Load(),
		PayloadIn:    c.payloadIn.Load(),
		PayloadOut:   c.payloadOut.Load(),
		SegmentsIn:   c.segmentsIn.Load(),
		EchoReplies:  c.echoReplies.Load(),
		Unreachables: c.unreachables.Load(),
		Drops:        make(map[string]uint64),
		Retransmits:  make(map[string]uint64, len(RetransmitKinds)),
		RSTsByReason: make(map[string]uint64),
		Fragments:    c.frag.snapshot(),
		UDP:          c.udp.snapshot(),
	}
	for code, i := range knownDropSlot {
		if n := c.drops[i].Load(); n > 0 {
			out.Drops[code] = n
			if isTCPError(code) {
				out.MIB.InErrs += n
			}
		}
	}
	out.SegmentsOut = c.madeSegs.Load()
	c.mu.Lock()
	for code, n := range c.otherDrops {
		out.Drops[code] += n
	}
	for code, n := range c.madeRSTs {
		out.RSTsSent += n
		out.RSTsByReason[code] += n
	}
	if len(c.faults) > 0 {
		out.Faults = make(map[string]uint64, len(c.faults))
		for code, n := range c.faults {
			out.Faults[code] = n
		}
	}
	c.mu.Unlock()
	for _, kind := range RetransmitKinds {
		out.Retransmits[kind] = 0
	}
	for why := range tcp.Reason(reasonCount) {
		if n := c.engineDrops.load(why); n > 0 {
			out.Drops["engine:"+why.Code()] += n
		}
		sent := c.sent.load(why)
		out.SegmentsOut += sent
		if kind, ok := retransmitKinds[why]; ok {
			out.Retransmits[kind] += sent
			if kind != RetransmitProbe {
				out.MIB.RetransSegs += sent
			}
		}
		if n := c.rstsSent.load(why); n > 0 {
			out.RSTsSent += n
			out.RSTsByReason[why.Code()] += n
		}
	}
	for _, why := range challengeReasons {
		out.ChallengeACKs += c.sent.load(why)
	}
	out.RateLimited = c.rateLimited()
	out.SynCookiesSent = c.sent.load(tcp.ReasonSynCookieSent)
	out.SynCookiesValidated = c.synCookiesValidated.Load()
	out.SynCookiesRejected = c.engineDrops.load(tcp.ReasonSynCookieRejected)
	out.SYNQueueOverflows = c.synQueueOverflows.Load()
	out.AcceptQueueOverflows = c.acceptQueueOverflows.Load()
	out.MIB.ActiveOpens = c.activeOpens.Load()
	out.MIB.PassiveOpens = c.passiveOpens.Load()
	out.MIB.AttemptFails = c.attemptFails.Load()
	out.MIB.EstabResets = c.estabResets.Load()
	out.MIB.InSegs = out.SegmentsIn + out.MIB.InErrs
	out.MIB.OutSegs = out.SegmentsOut - out.MIB.RetransSegs
	out.MIB.OutRsts = out.RSTsSent
	return out
}

// reasonCount is the number of tcp.Reason values the engine defines:
// those with a code of their own.
var reasonCount = func() int {
	n := 0
	for tcp.Reason(n).Code() != "unknown" {
		n++
	}
	return n
}()

// addCensus counts the connections per state, on the loop, into c; it
// leaves c as it is when the loop does not run.
func (s *Stack) addCensus(c *Counters) {
	if !s.started.Load() {
		return
	}
	states := make(map[tcp.State]int)
	err := s.call(context.Background(), func() {
		s.listenMu.Lock()
		if n := len(s.listeners); n > 0 {
			states[tcp.Listen] = n
		}
		s.listenMu.Unlock()
		for _, conn := range s.conns {
			states[conn.engine.State()]++
		}
		if n := s.timeWait.len(); n > 0 {
			states[tcp.TimeWait] += n
		}
	})
	if err != nil {
		return
	}
	c.States = states
	c.MIB.CurrEstab = uint64(states[tcp.Established] + states[tcp.CloseWait])
}
