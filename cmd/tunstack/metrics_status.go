package main

import (
	"github.com/tunstack/tunstack/stack"
)

// tcpStatus is the TCP part of the counters in a status reply, embedded in
// counterStatus:
//
//	"challenge_acks": 0,
//	"retransmits": {"syn":0,"syn-ack":0,"data":0,"fin":0,"fast":0,"probe":0},
//	"rsts_sent_by_reason": {"closed-rst":1},
//	"mib": {"active_opens":0,"passive_opens":3,...,"out_rsts":1},
//	"states": {"LISTEN":6,"TIME-WAIT":2},
//	"memory": {"budget":536870912,"in_use":1052672,...} (metrics_memory.go)
type tcpStatus struct {
	ChallengeACKs uint64            `json:"challenge_acks"`
	Retransmits   map[string]uint64 `json:"retransmits"`
	RSTsByReason  map[string]uint64 `json:"rsts_sent_by_reason,omitempty"`
	MIB           mibStatus         `json:"mib"`
	States        map[string]int    `json:"states,omitempty"` // only states with connections
	Memory        memoryStatus      `json:"memory"`           // metrics_memory.go
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
		Retransmits:   c.Retransmits,
		RSTsByReason:  c.RSTsByReason,
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
