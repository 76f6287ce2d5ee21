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

// UDPSocket is one UDP socket in a status reply (stack.UDPSocketInfo):
//
//	{"local":"[::]:7","recv_q":0,"datagrams":0,"drops":0}
//	{"local":"10.77.0.2:50123","remote":"10.77.0.1:53","recv_q":12,"datagrams":1,"drops":0}
type UDPSocket struct {
	Local     string `json:"local"`
	Remote    string `json:"remote,omitempty"` // a connected socket's
	RecvQ     int    `json:"recv_q"`           // bytes waiting to be read
	Datagrams int    `json:"datagrams"`        // datagrams waiting to be read
	Drops     uint64 `json:"drops"`            // datagrams the receive queue had no room for
}

// udpStack is a Stack with UDP sockets: tunstack's own engine.
type udpStack interface {
	UDPSockets() []stack.UDPSocketInfo
}

// udpSockets lists st's UDP sockets; none for an engine without UDP.
func udpSockets(st Stack) []UDPSocket {
	us, ok := st.(udpStack)
	if !ok {
		return nil
	}
	infos := us.UDPSockets()
	out := make([]UDPSocket, len(infos))
	for i, info := range infos {
		out[i] = UDPSocket{Local: info.Local.String(), RecvQ: info.RecvQueue, Datagrams: info.Datagrams, Drops: info.Drops}
		if info.Remote.IsValid() {
			out[i].Remote = info.Remote.String()
		}
	}
	return out
}
