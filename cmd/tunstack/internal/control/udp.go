package control

import "github.com/tunstack/tunstack/stack"

// UDPStatus is stack.UDPCounters in a status reply, with the names of
// Linux's /proc/net/snmp Udp: line in snake case:
//
//	"udp": {"in_datagrams":2,"no_ports":1,"in_errors":0,"out_datagrams":2,
//	        "rcvbuf_errors":0,"in_csum_errors":0,"port_unreachables":1,
//	        "port_unreachables_limited":0,"icmp_errors":0,"sockets":1}
type UDPStatus struct {
	InDatagrams             uint64 `json:"in_datagrams"`
	NoPorts                 uint64 `json:"no_ports"`
	InErrors                uint64 `json:"in_errors"`
	OutDatagrams            uint64 `json:"out_datagrams"`
	RcvbufErrors            uint64 `json:"rcvbuf_errors"`
	InCsumErrors            uint64 `json:"in_csum_errors"`
	PortUnreachables        uint64 `json:"port_unreachables"`
	PortUnreachablesLimited uint64 `json:"port_unreachables_limited"`
	ICMPErrors              uint64 `json:"icmp_errors"`
	Sockets                 uint64 `json:"sockets"`
}

func newUDPStatus(c stack.UDPCounters) UDPStatus { return UDPStatus(c) }
