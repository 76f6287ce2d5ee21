package control

import (
	"context"
	"net"

	"github.com/tunstack/tunstack/stack"
	"github.com/tunstack/tunstack/stack/tcp"
)

// Stack is what a StackBackend serves from: the daemon's stack, of either
// engine.
type Stack interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	Subscribe(buffer int) (<-chan stack.Event, func())
	Connections() []stack.ConnInfo
	Counters() stack.Counters
}

// StackBackend serves the control socket from a stack.
type StackBackend struct {
	Stack
	// Held counts the connections the bench's hold service keeps open,
	// for memstats; nil when there is none.
	Held func() int64
	// Gateway is the gateway's counters (gateway.go); nil without
	// --gateway.
	Gateway func() *GatewayStatus
	// Upstreams are the relayed connections' servers by ID; nil if none.
	Upstreams func() map[tcp.ID]string
}

// Status is the stack's counters and connections.
func (b StackBackend) Status() Reply {
	infos := b.Connections()
	conns := make([]ConnStatus, len(infos))
	var upstreams map[tcp.ID]string
	if b.Upstreams != nil {
		upstreams = b.Upstreams()
	}
	for i, info := range infos {
		conns[i] = NewConnStatus(info)
		conns[i].Upstream = upstreams[info.Status.ID]
	}
	reply := Reply{Counters: NewCounterStatus(b.Counters()), Connections: conns, UDPSockets: udpSockets(b.Stack)}
	if b.Gateway != nil {
		reply.Gateway = b.Gateway()
	}
	return reply
}
