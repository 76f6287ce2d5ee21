package control

import (
	"github.com/tunstack/tunstack/stack"
)

// CounterStatus is stack.Counters in a status reply.
type CounterStatus struct {
	PacketsIn   uint64 `json:"packets_in"`
	PacketsOut  uint64 `json:"packets_out"`
	SegmentsIn  uint64 `json:"segments_in"`
	SegmentsOut uint64 `json:"segments_out"`
	RSTsSent    uint64 `json:"rsts_sent"`
	EchoReplies uint64 `json:"echo_replies"`
	// Unreachables: ICMP destination unreachables for SYNs the gateway
	// could not deliver.
	Unreachables uint64            `json:"unreachables"`
	EventsLost   uint64            `json:"events_lost"`
	Drops        map[string]uint64 `json:"drops,omitempty"`
	Faults       map[string]uint64 `json:"faults,omitempty"` // segments each fault acted on, by reason
	TCPStatus                      // TCP-MIB, per-reason counters, states, memory
	Fragments    FragStatus        `json:"fragments"` // IP reassembly
	UDP          UDPStatus         `json:"udp"`       // udp.go
}

// NewCounterStatus is the counters of a status reply.
func NewCounterStatus(c stack.Counters) *CounterStatus {
	return &CounterStatus{
		PacketsIn:    c.PacketsIn,
		PacketsOut:   c.PacketsOut,
		SegmentsIn:   c.SegmentsIn,
		SegmentsOut:  c.SegmentsOut,
		RSTsSent:     c.RSTsSent,
		EchoReplies:  c.EchoReplies,
		Unreachables: c.Unreachables,
		EventsLost:   c.EventsLost,
		Drops:        c.Drops,
		Faults:       c.Faults,
		TCPStatus:    newTCPStatus(c),
		Fragments:    newFragStatus(c.Fragments),
		UDP:          newUDPStatus(c.UDP),
	}
}

// TCPStatus is the TCP part of the counters in a status reply, embedded in
// CounterStatus:
//
//	"challenge_acks": 0,
//	"syn_cookies": {"sent":0,"validated":0,"rejected":0},
//	"syn_queue_overflows": 0, "accept_queue_overflows": 0,
//	"retransmits": {"syn":0,"syn-ack":0,"data":0,"fin":0,"fast":0,"probe":0},
//	"rsts_sent_by_reason": {"closed-rst":1},
//	"rate_limited": {"invalid-ratelimit":999,"challenge-ack-limit":0,"rst-ratelimit":0,"icmp-ratelimit":0},
//	"mib": {"active_opens":0,"passive_opens":3,...,"out_rsts":1},
//	"states": {"LISTEN":6,"TIME-WAIT":2},
//	"memory": {"budget":536870912,"in_use":1052672,...}
type TCPStatus struct {
	ChallengeACKs uint64 `json:"challenge_acks"`
	// SYN cookies and the listen queues (stack/listen_queue.go).
	SynCookies           SynCookieStatus   `json:"syn_cookies"`
	SYNQueueOverflows    uint64            `json:"syn_queue_overflows"`
	AcceptQueueOverflows uint64            `json:"accept_queue_overflows"`
	Retransmits          map[string]uint64 `json:"retransmits"`
	RSTsByReason         map[string]uint64 `json:"rsts_sent_by_reason,omitempty"`
	RateLimited          map[string]uint64 `json:"rate_limited,omitempty"` // answers held back, by limit
	MIB                  MIBStatus         `json:"mib"`
	States               map[string]int    `json:"states,omitempty"` // only states with connections
	Memory               MemoryStatus      `json:"memory"`
}

// SynCookieStatus counts SYN cookies: SYN-ACKs sent with one, ACKs whose
// cookie validated, and ACKs whose cookie did not.
type SynCookieStatus struct {
	Sent      uint64 `json:"sent"`
	Validated uint64 `json:"validated"`
	Rejected  uint64 `json:"rejected"`
}

// MIBStatus is stack.TCPMIB with RFC 4022's names in snake case.
type MIBStatus struct {
	ActiveOpens  uint64 `json:"active_opens"`
	PassiveOpens uint64 `json:"passive_opens"`
	AttemptFails uint64 `json:"attempt_fails"`
	EstabResets  uint64 `json:"estab_resets"`
	CurrEstab    uint64 `json:"curr_estab"`
	InSegs       uint64 `json:"in_segs"`
	OutSegs      uint64 `json:"out_segs"`
	RetransSegs  uint64 `json:"retrans_segs"`
	InErrs       uint64 `json:"in_errs"`
	OutRsts      uint64 `json:"out_rsts"`
}

func newTCPStatus(c stack.Counters) TCPStatus {
	m := c.MIB
	s := TCPStatus{
		ChallengeACKs: c.ChallengeACKs,
		SynCookies: SynCookieStatus{
			Sent: c.SynCookiesSent, Validated: c.SynCookiesValidated, Rejected: c.SynCookiesRejected,
		},
		SYNQueueOverflows:    c.SYNQueueOverflows,
		AcceptQueueOverflows: c.AcceptQueueOverflows,
		Retransmits:          c.Retransmits,
		RSTsByReason:         c.RSTsByReason,
		RateLimited:          c.RateLimited,
		MIB: MIBStatus{
			ActiveOpens: m.ActiveOpens, PassiveOpens: m.PassiveOpens, AttemptFails: m.AttemptFails,
			EstabResets: m.EstabResets, CurrEstab: m.CurrEstab, InSegs: m.InSegs, OutSegs: m.OutSegs,
			RetransSegs: m.RetransSegs, InErrs: m.InErrs, OutRsts: m.OutRsts,
		},
		Memory: newMemoryStatus(c.Memory),
	}
	if len(c.States) > 0 {
		s.States = StateCounts(c.States)
	}
	return s
}

// MemoryStatus is stack.MemoryCounters, the buffer budget and the
// connection limits, in a status reply:
//
//	"memory": {"budget":536870912,"in_use":0,"peak":1052672,"window_clamps":0,...}
type MemoryStatus struct {
	Budget             int64  `json:"budget"`
	InUse              int64  `json:"in_use"`
	Peak               int64  `json:"peak"`
	WindowClamps       uint64 `json:"window_clamps"`
	SendClamps         uint64 `json:"send_clamps"`
	AutotuneHeld       uint64 `json:"autotune_held"`
	WritersBlocked     uint64 `json:"writers_blocked"`
	RecvBudgetDrops    uint64 `json:"recv_budget_drops"`
	OOODrops           uint64 `json:"ooo_drops"`
	ConnLimitDrops     uint64 `json:"conn_limit_drops"`
	PeerConnLimitDrops uint64 `json:"peer_conn_limit_drops"`
}

func newMemoryStatus(m stack.MemoryCounters) MemoryStatus {
	return MemoryStatus{
		Budget: m.BudgetLimit, InUse: m.BudgetInUse, Peak: m.BudgetPeak,
		WindowClamps: m.WindowClamps, SendClamps: m.SendClamps, AutotuneHeld: m.AutotuneHeld,
		WritersBlocked: m.WritersBlocked, RecvBudgetDrops: m.RecvBudgetDrops, OOODrops: m.OOODrops,
		ConnLimitDrops: m.ConnLimitDrops, PeerConnLimitDrops: m.PeerConnLimitDrops,
	}
}

// FragStatus is stack.FragCounters, IP reassembly's counters, in a status
// reply:
//
//	"fragments": {"fragments":5,"reassembled":2,"atomic":0,
//	  "discarded":{"frag-overlap":1,"frag-timeout":0,...},
//	  "time_exceeded":0,"time_exceeded_limited":0,"fragments_out":0,
//	  "pending":0,"memory":0}
type FragStatus struct {
	Fragments           uint64            `json:"fragments"`
	Reassembled         uint64            `json:"reassembled"`
	Atomic              uint64            `json:"atomic"`
	Discarded           map[string]uint64 `json:"discarded"`
	TimeExceeded        uint64            `json:"time_exceeded"`
	TimeExceededLimited uint64            `json:"time_exceeded_limited"`
	FragmentsOut        uint64            `json:"fragments_out"`
	Pending             uint64            `json:"pending"`
	Memory              uint64            `json:"memory"`
}

func newFragStatus(c stack.FragCounters) FragStatus {
	return FragStatus{
		Fragments: c.Fragments, Reassembled: c.Reassembled, Atomic: c.Atomic, Discarded: c.Discarded,
		TimeExceeded: c.TimeExceeded, TimeExceededLimited: c.TimeExceededLimited, FragmentsOut: c.FragmentsOut,
		Pending: c.Pending, Memory: c.Memory,
	}
}
