package main

import (
	"github.com/tunstack/tunstack/stack"
)

// tcpStatus is the TCP part of the counters in a status reply, embedded in
// counterStatus:
//
//	"challenge_acks": 0,
//	"syn_cookies": {"sent":0,"validated":0,"rejected":0},
//	"syn_queue_overflows": 0, "accept_queue_overflows": 0,
//	"retransmits": {"syn":0,"syn-ack":0,"data":0,"fin":0,"fast":0,"probe":0},
//	"rsts_sent_by_reason": {"closed-rst":1},
//	"rate_limited": {"invalid-ratelimit":999,"challenge-ack-limit":0,"rst-ratelimit":0,"icmp-ratelimit":0},
//	"mib": {"active_opens":0,"passive_opens":3,...,"out_rsts":1},
//	"states": {"LISTEN":6,"TIME-WAIT":2},
//	"memory": {"budget":536870912,"in_use":1052672,...} (metrics_memory.go)
type tcpStatus struct {
	ChallengeACKs uint64 `json:"challenge_acks"`
	// SYN cookies and the listen queues (stack/listen_queue.go).
	SynCookies           synCookieStatus   `json:"syn_cookies"`
	SYNQueueOverflows    uint64            `json:"syn_queue_overflows"`
	AcceptQueueOverflows uint64            `json:"accept_queue_overflows"`
	Retransmits          map[string]uint64 `json:"retransmits"`
	RSTsByReason         map[string]uint64 `json:"rsts_sent_by_reason,omitempty"`
	RateLimited          map[string]uint64 `json:"rate_limited,omitempty"` // answers held back, by limit
	MIB                  mibStatus         `json:"mib"`
	States               map[string]int    `json:"states,omitempty"` // only states with connections
	Memory               memoryStatus      `json:"memory"`           // metrics_memory.go
}

// synCookieStatus counts SYN cookies: SYN-ACKs sent with one, ACKs whose
// cookie validated, and ACKs whose cookie did not.
type synCookieStatus struct {
	Sent      uint64 `json:"sent"`
	Validated uint64 `json:"validated"`
	Rejected  uint64 `json:"rejected"`
}

// mibStatus is stack.TCPMIB with RFC 4022's names in snake case.
type mibStatus struct {
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

func newTCPStatus(c stack.Counters) tcpStatus {
	m := c.MIB
	s := tcpStatus{
		ChallengeACKs: c.ChallengeACKs,
		SynCookies: synCookieStatus{
			Sent: c.SynCookiesSent, Validated: c.SynCookiesValidated, Rejected: c.SynCookiesRejected,
		},
		SYNQueueOverflows:    c.SYNQueueOverflows,
		AcceptQueueOverflows: c.AcceptQueueOverflows,
		Retransmits:          c.Retransmits,
		RSTsByReason:         c.RSTsByReason,
		RateLimited:          c.RateLimited,
		MIB: mibStatus{
			ActiveOpens: m.ActiveOpens, PassiveOpens: m.PassiveOpens, AttemptFails: m.AttemptFails,
			EstabResets: m.EstabResets, CurrEstab: m.CurrEstab, InSegs: m.InSegs, OutSegs: m.OutSegs,
			RetransSegs: m.RetransSegs, InErrs: m.InErrs, OutRsts: m.OutRsts,
		},
	}
	s.Memory = newMemoryStatus(c.Memory)
	if len(c.States) > 0 {
		s.States = make(map[string]int, len(c.States))
		for st, n := range c.States {
			s.States[st.String()] = n
		}
	}
	return s
}
